/**
 * The inventory context: stock per SKU and a reservation per fulfilment (see domain.ts for the
 * protocol between them), its consumer of fulfilment requests and dispatches, and its API.
 */
import { randomUUID } from 'node:crypto';
import type { Shortage } from '@contracts/generated';
import { createAggregateStore } from '@runtime/aggregate-store';
import {
  createEventConsumer,
  type ContextModule,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import type { DecodedEvent } from '@runtime/serde';
import { errorCodes, permanent } from '@runtime/errors';
import { createEventWriter } from '@runtime/event-writer';
import { meterStages, observeAll } from '@runtime/journey';
import { createInventoryRouter } from './api';
import { leaseDecider, type LeaseInput } from './attempts';
import {
  planAttempts,
  reservationDecider,
  reservationStages,
  stockDecider,
  stockFollowUp,
  waitingOldestFirst,
  type ReservationInput,
  type ReservationState,
  type StockInput,
} from './domain';

export const inventoryGroup = 'inventory';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const inventorySubscription = {
  group: inventoryGroup,
  topics: ['scm.fulfilment-requests', 'scm.delivery-events'],
} as const satisfies TopicSubscription;

export interface InventoryConfig {
  readonly bodyLimitBytes: number;
}

/** An attempt takes milliseconds; a lease this long only matters when its holder crashed. */
const attemptLeaseMs = 30_000;

export async function createInventoryContext(
  services: PlatformServices,
  config: InventoryConfig,
): Promise<ContextModule> {
  const writer = createEventWriter(services.serde, 'inventory', services.topic);
  const common = { db: services.db, writer, onWritten: services.relayWrite };
  const stock = await createAggregateStore({ ...common, name: 'inventory_stock', decider: stockDecider });
  const reservations = await createAggregateStore({
    ...common,
    name: 'inventory_reservations',
    indexes: [{ 'state.status': 1 }],
    decider: reservationDecider,
    onTransition: observeAll<ReservationState>(
      meterStages(services.metrics.journey, 'inventory', reservationStages, ['reservation']),
      (before, after) => {
        if (!before?.shortageReported && after.shortageReported)
          services.metrics.journey.stockShortages.inc();
      },
    ),
  });
  const leases = await createAggregateStore({ ...common, name: 'inventory_attempts', decider: leaseDecider });
  const log = services.log.child({ context: 'inventory' });

  /** Hold, Release and Ship are idempotent per fulfilment: each step is its own cause. */
  const onStockAll = (steps: readonly { readonly input: StockInput; readonly correlationId: string }[]) =>
    stock.executeAll(
      steps.map(({ input, correlationId }) => ({
        id: input.sku,
        input,
        options: { causeId: randomUUID(), causationId: null, correlationId, now: services.now() },
      })),
    );

  /** The stock steps that make every fulfilment's holds agree with its reservation (step 7). */
  async function followUpAll(states: readonly (ReservationState | undefined)[]): Promise<void> {
    const steps = states.flatMap((reservation) =>
      reservation === undefined
        ? []
        : stockFollowUp(reservation).map((input) => ({ input, correlationId: reservation.fulfilmentId })),
    );
    if (steps.length > 0) await onStockAll(steps);
  }

  /**
   * A skipped attempt is tried again once the holder is likely done, backing off up to past the
   * lease's lifetime (a crashed holder's lease expires): a wake-up is never lost to a lease, and
   * no timer runs when nothing is skipped.
   */
  const retries = new Map<string, { timer: NodeJS.Timeout; delayMs: number }>();
  let stopped = false;
  function retryLater(fulfilmentId: string, delayMs = 250): void {
    if (stopped || retries.has(fulfilmentId)) return;
    const timer = setTimeout(() => {
      retries.delete(fulfilmentId);
      attemptAll([{ fulfilmentId, causationId: null }])
        .then((outcomes) => {
          if (outcomes.get(fulfilmentId) === 'skipped' && delayMs < attemptLeaseMs)
            retryLater(fulfilmentId, delayMs * 2);
        })
        .catch((error: unknown) => log.warn('a retried reservation attempt failed', { fulfilmentId, error }));
    }, delayMs);
    timer.unref();
    retries.set(fulfilmentId, { timer, delayMs });
  }

  /**
   * Attempts to reserve waiting fulfilments, all lines or none (protocol steps 2-3), first come,
   * first served in the order given, as one batch: the leases taken together, reservations and
   * stocks read once, the quick checks decided in memory (`planAttempts`), and each step's
   * writes in one bulk command. `causationId` is the event that set an attempt going, or null
   * for a retry after a receipt, a count or a start-up (no event caused it).
   */
  async function attemptAll(
    requests: readonly { readonly fulfilmentId: string; readonly causationId: string | null }[],
  ): Promise<Map<string, 'reserved' | 'short' | 'skipped'>> {
    const outcomes = new Map<string, 'reserved' | 'short' | 'skipped'>();
    const unique = [...new Map(requests.map((request) => [request.fulfilmentId, request])).values()];
    if (unique.length === 0) return outcomes;
    const causes = new Map(unique.map((request) => [request.fulfilmentId, request.causationId]));
    const attempts = new Map(unique.map(({ fulfilmentId }) => [fulfilmentId, randomUUID()]));
    const leaseChange = (fulfilmentId: string, input: LeaseInput, causeId: string) => ({
      id: fulfilmentId,
      input,
      options: {
        causeId,
        causationId: causes.get(fulfilmentId) ?? null,
        correlationId: fulfilmentId,
        now: services.now(),
      },
    });
    const began = await leases.executeAll(
      unique.map(({ fulfilmentId }) => {
        const attemptId = attempts.get(fulfilmentId)!;
        return leaseChange(fulfilmentId, { kind: 'Begin', attemptId, ttlMs: attemptLeaseMs }, attemptId);
      }),
    );
    const leased: string[] = [];
    for (const [i, { fulfilmentId }] of unique.entries()) {
      if (began[i]?.kind === 'refused') {
        // Another attempt holds it; its outcome may predate the stock that woke this one.
        retryLater(fulfilmentId);
        outcomes.set(fulfilmentId, 'skipped');
      } else leased.push(fulfilmentId);
    }
    try {
      const current = await reservations.loadAll(leased);
      const waiting = leased.flatMap((fulfilmentId) => {
        const reservation = current.get(fulfilmentId)?.state;
        if (reservation?.status === 'waiting' && reservation.requestedAt !== null) return [reservation];
        outcomes.set(fulfilmentId, 'skipped');
        return [];
      });
      if (waiting.length === 0) return outcomes;
      const skus = [...new Set(waiting.flatMap(({ lines }) => lines.map(({ sku }) => sku)))];
      const stocks = Object.fromEntries(
        [...(await stock.loadAll(skus))].map(([sku, { state }]) => [sku, state]),
      );
      const plans = planAttempts(waiting, stocks, services.now());

      const holds = plans.flatMap((plan) =>
        'holds' in plan
          ? plan.holds.map(({ sku, quantity }) => ({
              input: { kind: 'Hold', sku, fulfilmentId: plan.fulfilmentId, quantity } as const,
              correlationId: plan.fulfilmentId,
            }))
          : [],
      );
      const held = await onStockAll(holds);
      // A hold refused for real (the stock changed since it was read): that attempt is short.
      const refusals = new Map<string, Shortage>();
      for (const [i, { input }] of holds.entries()) {
        const execution = held[i]!;
        if (execution.kind === 'refused') throw new Error(execution.reason);
        if (refusals.has(input.fulfilmentId) || execution.state?.holds[input.fulfilmentId] !== undefined)
          continue;
        const fact =
          execution.kind === 'changed' ? execution.facts.find((f) => f.type === 'HoldRefused') : undefined;
        refusals.set(
          input.fulfilmentId,
          fact?.type === 'HoldRefused'
            ? { sku: input.sku, requested: fact.requested, available: fact.available }
            : { sku: input.sku, requested: input.quantity, available: 0 },
        );
      }
      // Release before saying Short: at rest a waiting reservation holds nothing.
      await onStockAll(
        holds
          .filter(({ input }) => refusals.has(input.fulfilmentId))
          .map(({ input: { sku, fulfilmentId } }) => ({
            input: { kind: 'Release', sku, fulfilmentId } as const,
            correlationId: fulfilmentId,
          })),
      );
      const decided = plans.map((plan): { fulfilmentId: string; input: ReservationInput } => {
        const { fulfilmentId } = plan;
        const refusal = refusals.get(fulfilmentId);
        if ('shortages' in plan)
          return { fulfilmentId, input: { kind: 'Short', fulfilmentId, shortages: [...plan.shortages] } };
        if (refusal !== undefined)
          return { fulfilmentId, input: { kind: 'Short', fulfilmentId, shortages: [refusal] } };
        return { fulfilmentId, input: { kind: 'AllHeld', fulfilmentId } };
      });
      const recorded = await reservations.executeAll(
        decided.map(({ fulfilmentId, input }) => ({
          id: fulfilmentId,
          input,
          options: {
            causeId: randomUUID(),
            causationId: causes.get(fulfilmentId) ?? null,
            correlationId: fulfilmentId,
            now: services.now(),
          },
        })),
      );
      for (const { fulfilmentId, input } of decided)
        outcomes.set(fulfilmentId, input.kind === 'AllHeld' ? 'reserved' : 'short');
      // Refused on stock that changed after the read (a receipt, another attempt, or a line of
      // this batch's own refused attempt, held and then released): worth a fresh look soon.
      for (const fulfilmentId of refusals.keys()) retryLater(fulfilmentId);
      // Cancelled meanwhile? Then its follow-up releases what this attempt took.
      await followUpAll(
        recorded.flatMap((execution, i) =>
          decided[i]?.input.kind === 'AllHeld' && execution.kind !== 'refused' ? [execution.state] : [],
        ),
      );
      return outcomes;
    } finally {
      await leases.executeAll(
        leased.map((fulfilmentId) => {
          const attemptId = attempts.get(fulfilmentId)!;
          return leaseChange(fulfilmentId, { kind: 'End', attemptId }, `end:${attemptId}`);
        }),
      );
    }
  }

  /**
   * Freed or received stock goes to the waiting reservations, first come, first served
   * (protocol step 4): those that need one of `skus`, or all of them when no SKU is named (at
   * start, which also heals what a crash left behind: holds of a waiting reservation whose
   * attempt died). Run when stock changes, never on a timer: waiting reservations are found
   * through the status index, and nothing else is read.
   */
  async function retryWaiting(skus?: readonly string[]): Promise<string[]> {
    const needs = (reservation: { lines: readonly { sku: string }[] }): boolean =>
      skus === undefined || reservation.lines.some((line) => skus.includes(line.sku));
    const waiting = waitingOldestFirst(
      await reservations.list({ 'state.status': 'waiting' }, { limit: 500, order: 'oldest' }),
    ).filter(needs);
    const outcomes = await attemptAll(
      waiting.map(({ fulfilmentId }) => ({ fulfilmentId, causationId: null })),
    );
    return [...outcomes]
      .filter(([, outcome]) => outcome === 'reserved')
      .map(([fulfilmentId]) => fulfilmentId);
  }

  /** Each event's reservation step; the rest of the protocol follows from the states it leaves. */
  const reservationInputOf = (event: DecodedEvent): ReservationInput | undefined => {
    switch (event.type) {
      case 'FulfilmentRequested': {
        const { fulfilmentId, lines } = event.data;
        return { kind: 'Request', fulfilmentId, lines, requestedAt: event.metadata.occurredAt.toISOString() };
      }
      // Not on FulfilmentCancelled, the request: delivery may still refuse it (the courier left).
      case 'ShipmentCancelled':
        return { kind: 'Cancel', fulfilmentId: event.data.fulfilmentId };
      case 'ShipmentDispatched':
        return { kind: 'Shipped', fulfilmentId: event.data.fulfilmentId };
      default:
        return undefined;
    }
  };

  /**
   * A run of events as one batch (steps 1, 5 and 6): every event's reservation step in partition
   * order in one bulk write (each event its own cause, so a redelivery is a duplicate); then the
   * attempts of those left waiting, whatever the outcome (new, known, duplicate: a crash may
   * have come between a request and its attempt); then every touched fulfilment's follow-up;
   * last, stock freed by cancellations goes to those waiting for it.
   */
  const consumer = createEventConsumer(services, {
    ...inventorySubscription,
    eventTypes: ['FulfilmentRequested', 'ShipmentCancelled', 'ShipmentDispatched'],
    async handleAll(batch) {
      const steps = batch.flatMap(({ event }) => {
        const input = reservationInputOf(event);
        return input === undefined ? [] : [{ event, input }];
      });
      const now = services.now();
      const executions = await reservations.executeAll(
        steps.map(({ event, input }) => ({
          id: input.fulfilmentId,
          input,
          options: {
            causeId: event.metadata.eventId,
            causationId: event.metadata.eventId,
            correlationId: input.fulfilmentId,
            now,
          },
        })),
      );
      const latest = new Map<string, ReservationState | undefined>();
      const freed = new Set<string>();
      const unreservable: string[] = [];
      let duplicates = 0;
      for (const [i, execution] of executions.entries()) {
        const { event, input } = steps[i]!;
        if (execution.kind === 'duplicate') duplicates += 1;
        if (execution.kind === 'refused' && input.kind === 'Request') {
          unreservable.push(`${input.fulfilmentId}: ${execution.reason}`);
          continue;
        }
        if (execution.kind === 'refused') {
          log.warn('event refused', {
            fulfilmentId: input.fulfilmentId,
            type: event.type,
            reason: execution.reason,
          });
          continue;
        }
        latest.set(input.fulfilmentId, execution.state);
        if (input.kind === 'Cancel' && execution.kind === 'changed')
          for (const { sku } of execution.state.lines) freed.add(sku);
      }
      await attemptAll(
        steps.flatMap(({ event, input }) =>
          input.kind === 'Request' && latest.get(input.fulfilmentId)?.status === 'waiting'
            ? [{ fulfilmentId: input.fulfilmentId, causationId: event.metadata.eventId }]
            : [],
        ),
      );
      // From the states as they are now: an attempt or a step above may have moved them.
      await followUpAll(
        [...(await reservations.loadAll([...latest.keys()])).values()].map(({ state }) => state),
      );
      if (freed.size > 0) await retryWaiting([...freed]);
      // After the rest of the batch is done: the runner retries the batch (its other events are
      // duplicates by then), isolates the request and dead-letters it with this reason.
      if (unreservable.length > 0)
        throw permanent(
          errorCodes.INVALID_CONTENT,
          `FulfilmentRequested cannot be reserved: ${unreservable.join('; ')}`,
        );
      return { duplicates };
    },
  });

  const router = createInventoryRouter({
    stock,
    reservations,
    now: services.now,
    bodyLimitBytes: config.bodyLimitBytes,
    afterStockChange: (sku) => retryWaiting([sku]),
  });

  let startupSweep: Promise<unknown> | undefined;
  return {
    name: 'inventory',
    routers: [router],
    runners: [consumer],
    outboxes: [stock.outbox, reservations.outbox],
    async start() {
      startupSweep = retryWaiting().catch((error: unknown) =>
        log.warn('the start-up retry of waiting reservations failed', { error }),
      );
    },
    async stop() {
      stopped = true;
      for (const { timer } of retries.values()) clearTimeout(timer);
      retries.clear();
      await startupSweep;
    },
  };
}

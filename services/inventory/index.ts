/**
 * The inventory context: stock per SKU and a reservation per fulfilment (see domain.ts for the
 * protocol between them), its consumer of fulfilment requests and dispatches, and its API.
 */
import { randomUUID } from 'node:crypto';
import type { Shortage } from '@contracts/generated';
import { createAggregateStore } from '@runtime/aggregate-store';
import { createEventConsumer, type ContextModule, type PlatformServices } from '@runtime/context';
import { createEventWriter } from '@runtime/event-writer';
import { createInventoryRouter } from './api';
import { leaseDecider } from './attempts';
import {
  holdOrder,
  reservationDecider,
  shortagesOf,
  stockDecider,
  stockFollowUp,
  waitingOldestFirst,
  type StockInput,
  type StockState,
} from './domain';

export const inventoryGroup = 'inventory';

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
  });
  const leases = await createAggregateStore({ ...common, name: 'inventory_attempts', decider: leaseDecider });
  const log = services.log.child({ context: 'inventory' });

  /** Hold, Release and Ship are idempotent per fulfilment: each call is its own cause. */
  const onStock = (input: StockInput, correlationId: string) =>
    stock.execute(input.sku, input, {
      causeId: randomUUID(),
      causationId: null,
      correlationId,
      now: services.now(),
    });
  /**
   * `causationId` is the event that set this step going (a request, a cancellation, a
   * dispatch), or null for a step of a sweep or of a receipt (no event caused it).
   */
  const onReservation = (
    fulfilmentId: string,
    input: Parameters<typeof reservations.execute>[1],
    causationId: string | null,
    causeId: string = randomUUID(),
  ) =>
    reservations.execute(fulfilmentId, input, {
      causeId,
      causationId,
      correlationId: fulfilmentId,
      now: services.now(),
    });

  async function followUp(fulfilmentId: string): Promise<void> {
    const reservation = (await reservations.load(fulfilmentId))?.state;
    for (const input of stockFollowUp(reservation)) await onStock(input, fulfilmentId);
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
      attempt(fulfilmentId)
        .then((outcome) => {
          if (outcome === 'skipped' && delayMs < attemptLeaseMs) retryLater(fulfilmentId, delayMs * 2);
        })
        .catch((error: unknown) => log.warn('a retried reservation attempt failed', { fulfilmentId, error }));
    }, delayMs);
    timer.unref();
    retries.set(fulfilmentId, { timer, delayMs });
  }

  /** One try to reserve a waiting fulfilment, all lines or none (protocol steps 2-3). */
  async function attempt(
    fulfilmentId: string,
    causationId: string | null = null,
  ): Promise<'reserved' | 'short' | 'skipped'> {
    const attemptId = randomUUID();
    const lease = await leases.execute(
      fulfilmentId,
      { kind: 'Begin', attemptId, ttlMs: attemptLeaseMs },
      { causeId: attemptId, causationId, correlationId: fulfilmentId, now: services.now() },
    );
    if (lease.kind === 'refused') {
      // Another attempt holds it; its outcome may predate the stock that woke this one.
      retryLater(fulfilmentId);
      return 'skipped';
    }
    try {
      const reservation = (await reservations.load(fulfilmentId))?.state;
      if (reservation?.status !== 'waiting' || reservation.requestedAt === null) return 'skipped';
      const lines = holdOrder(reservation.lines);
      const stocks: Record<string, StockState | undefined> = {};
      for (const line of lines) stocks[line.sku] = (await stock.load(line.sku))?.state;
      const lacking = shortagesOf(lines, stocks, fulfilmentId);
      if (lacking.length > 0) {
        await onReservation(fulfilmentId, { kind: 'Short', fulfilmentId, shortages: lacking }, causationId);
        return 'short';
      }
      let refusal: Shortage | undefined;
      for (const { sku, quantity } of lines) {
        const held = await onStock({ kind: 'Hold', sku, fulfilmentId, quantity }, fulfilmentId);
        if (held.kind === 'refused') throw new Error(held.reason);
        if (held.state?.holds[fulfilmentId] !== undefined) continue;
        const fact = held.kind === 'changed' ? held.facts.find((f) => f.type === 'HoldRefused') : undefined;
        refusal =
          fact?.type === 'HoldRefused'
            ? { sku, requested: fact.requested, available: fact.available }
            : { sku, requested: quantity, available: 0 };
        break;
      }
      if (refusal === undefined) {
        await onReservation(fulfilmentId, { kind: 'AllHeld', fulfilmentId }, causationId);
        // Cancelled meanwhile? Then the follow-up releases what this attempt took.
        await followUp(fulfilmentId);
        return 'reserved';
      }
      for (const { sku } of lines) await onStock({ kind: 'Release', sku, fulfilmentId }, fulfilmentId);
      await onReservation(fulfilmentId, { kind: 'Short', fulfilmentId, shortages: [refusal] }, causationId);
      return 'short';
    } finally {
      await leases.execute(
        fulfilmentId,
        { kind: 'End', attemptId },
        { causeId: `end:${attemptId}`, causationId, correlationId: fulfilmentId, now: services.now() },
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
    const reserved: string[] = [];
    for (const reservation of waiting) {
      if ((await attempt(reservation.fulfilmentId)) === 'reserved') reserved.push(reservation.fulfilmentId);
    }
    return reserved;
  }

  const consumer = createEventConsumer(services, {
    group: inventoryGroup,
    topics: ['scm.fulfilment-requests', 'scm.delivery-events'],
    eventTypes: ['FulfilmentRequested', 'FulfilmentCancelled', 'ShipmentDispatched'],
    async handle(event) {
      const causeId = event.metadata.eventId;
      switch (event.type) {
        case 'FulfilmentRequested': {
          const { fulfilmentId, lines } = event.data;
          const requestedAt = event.metadata.occurredAt.toISOString();
          const recorded = await onReservation(
            fulfilmentId,
            { kind: 'Request', fulfilmentId, lines, requestedAt },
            causeId,
            causeId,
          );
          // Whatever the outcome (new, known, duplicate): a waiting reservation gets an attempt.
          await attempt(fulfilmentId, causeId);
          await followUp(fulfilmentId);
          return recorded.kind === 'duplicate' ? 'duplicate' : 'applied';
        }
        case 'FulfilmentCancelled': {
          const { fulfilmentId } = event.data;
          const cancelled = await onReservation(
            fulfilmentId,
            { kind: 'Cancel', fulfilmentId },
            causeId,
            causeId,
          );
          await followUp(fulfilmentId);
          if (cancelled.kind === 'changed') await retryWaiting(cancelled.state.lines.map((line) => line.sku));
          return cancelled.kind === 'duplicate' ? 'duplicate' : 'applied';
        }
        case 'ShipmentDispatched': {
          const { fulfilmentId } = event.data;
          const shipped = await onReservation(
            fulfilmentId,
            { kind: 'Shipped', fulfilmentId },
            causeId,
            causeId,
          );
          await followUp(fulfilmentId);
          return shipped.kind === 'duplicate' ? 'duplicate' : 'applied';
        }
        default:
          return 'ignored';
      }
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

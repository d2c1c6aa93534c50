/**
 * The production context (kitchen, 요리): one task per fulfilment, opened by its request and its
 * stock reservation (in either order), its consumer of both, its API, and auto-advance for demos.
 */
import { createAggregateStore } from '@runtime/aggregate-store';
import {
  createAggregateConsumer,
  executeAutoSteps,
  startAutoAdvance,
  type ContextModule,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import { createEventWriter } from '@runtime/event-writer';
import { meterStages } from '@runtime/journey';
import type { DecodedEvent } from '@runtime/serde';
import { createProductionRouter } from './api';
import { decider, kitchenStages, type KitchenInput } from './domain';

export const productionGroup = 'production';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const productionSubscription = {
  group: productionGroup,
  topics: ['scm.fulfilment-requests', 'scm.inventory-events'],
} as const satisfies TopicSubscription;

/** What the context needs of the platform's settings (kept local: contexts do not import platform/). */
export interface ProductionConfig {
  readonly bodyLimitBytes: number;
  /** Start and complete tasks by themselves after this delay, as a cook would; off when null. */
  readonly autoAdvance: { readonly delayMs: number } | null;
}

/** The inputs that other contexts' events become: each names its fulfilment. */
type EventInput = Extract<KitchenInput, { readonly fulfilmentId: string }>;

/** A consumed event as the kitchen's input; null for an event the kitchen does not act on. */
export function kitchenInputOf(event: DecodedEvent): EventInput | null {
  switch (event.type) {
    case 'FulfilmentRequested': {
      const { fulfilmentId, lines } = event.data;
      // v1 writers knew nothing of the kitchen: no wave, nothing marked as cooked to order.
      const v2 = event.version === 2 ? event.data : null;
      return {
        kind: 'FulfilmentRequested',
        fulfilmentId,
        lines,
        cookedToOrderSkus: v2?.cookedToOrderSkus ?? [],
        dispatchWave: v2?.dispatchWave ?? null,
        requestedAt: event.metadata.occurredAt.toISOString(),
      };
    }
    case 'StockReserved':
      return {
        kind: 'StockReserved',
        fulfilmentId: event.data.fulfilmentId,
        reservedAt: event.metadata.occurredAt.toISOString(),
      };
    case 'FulfilmentCancelled':
      return {
        kind: 'FulfilmentCancelled',
        fulfilmentId: event.data.fulfilmentId,
        reason: event.data.reason,
      };
    default:
      return null;
  }
}

/** Tasks one auto-advance step moves on, per status, the longest-waiting first. */
const autoAdvanceBatch = 200;

export async function createProductionContext(
  services: PlatformServices,
  config: ProductionConfig,
): Promise<ContextModule> {
  const store = await createAggregateStore({
    db: services.db,
    name: 'production_tasks',
    // Lists and auto-advance select by status.
    indexes: [{ 'state.status': 1 }],
    decider,
    writer: createEventWriter(services.serde, 'production', services.topic),
    onWritten: services.relayWrite,
    onChanged: () => autoAdvance?.wake(),
    onTransition: meterStages(services.metrics.journey, 'production', kitchenStages, ['cooking']),
  });
  const log = services.log.child({ context: 'production' });

  const consumer = createAggregateConsumer(services, {
    ...productionSubscription,
    eventTypes: ['FulfilmentRequested', 'FulfilmentCancelled', 'StockReserved'],
    store,
    route(event) {
      const input = kitchenInputOf(event);
      return input === null ? undefined : { aggregateId: input.fulfilmentId, input };
    },
  });

  /**
   * One auto-advance step: start the tasks that have waited `delayMs` since they opened (both the
   * request and the reservation are that old), complete those cooked for `delayMs`. The cause id
   * names the step, so a step that runs twice (two instances, a retry) acts once.
   */
  async function advance(delayMs: number): Promise<number> {
    const cutoff = new Date(services.now().getTime() - delayMs).toISOString();
    const limit = autoAdvanceBatch;
    // The times are toISOString() strings, so the store compares them as it compares text.
    const toStart = await store.list(
      {
        'state.status': 'waiting',
        'state.requestedAt': { $lte: cutoff },
        'state.reservedAt': { $lte: cutoff },
      },
      { limit, order: 'oldest' },
    );
    const toComplete = await store.list(
      { 'state.status': 'cooking', 'state.startedAt': { $lte: cutoff } },
      { limit, order: 'oldest' },
    );
    const now = services.now();
    const steps = [
      ...toStart.map(({ fulfilmentId }) => ({
        step: 'start',
        fulfilmentId,
        // The station no cook stands at; ready when auto-advance will complete it.
        input: {
          kind: 'StartCooking',
          station: 'AUTO',
          expectedReadyAt: new Date(now.getTime() + delayMs).toISOString(),
        } satisfies KitchenInput,
      })),
      ...toComplete.map(({ fulfilmentId }) => ({
        step: 'complete',
        fulfilmentId,
        input: { kind: 'CompleteCooking' } satisfies KitchenInput,
      })),
    ];
    const executions = await executeAutoSteps(store, steps, now);
    // A refusal means a cook got there first (or the order was cancelled): nothing to do.
    const advanced = executions.filter((execution) => execution.kind === 'changed').length;
    return advanced;
  }

  let autoAdvance: ReturnType<typeof startAutoAdvance> | undefined;
  const { autoAdvance: settings } = config;

  return {
    name: 'production',
    routers: [createProductionRouter({ store, now: services.now, bodyLimitBytes: config.bodyLimitBytes })],
    runners: [consumer],
    outboxes: [store.outbox],
    async start() {
      if (settings === null) return;
      autoAdvance = startAutoAdvance({
        name: 'production',
        delayMs: settings.delayMs,
        log,
        step: () => advance(settings.delayMs),
      });
    },
    async stop() {
      await autoAdvance?.stop();
      autoAdvance = undefined;
    },
  };
}

/**
 * The warehouse context (픽업·포장): its task store, its API, its consumer of the pick lists
 * (`scm.fulfilment-requests`) and of the kitchen's hand-overs (`scm.production-events`), and
 * auto-advance, which picks and packs by itself in demos and load runs.
 */
import { createAggregateStore, type AggregateStore } from '@runtime/aggregate-store';
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
import { createWarehouseRouter } from './api';
import {
  decider,
  nextAutoStep,
  warehouseStages,
  type WarehouseFact,
  type WarehouseInput,
  type WarehouseTask,
} from './domain';

/** The platform settings this context reads (declared here so it does not depend on platform/). */
export interface WarehouseContextConfig {
  readonly bodyLimitBytes: number;
  /** When set, a task is picked, then packed, once it has waited `delayMs` in each step. */
  readonly autoAdvance: { readonly delayMs: number } | null;
}

export const warehouseGroup = 'warehouse';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const warehouseSubscription = {
  group: warehouseGroup,
  topics: ['scm.fulfilment-requests', 'scm.production-events'],
} as const satisfies TopicSubscription;

type WarehouseStore = AggregateStore<WarehouseTask, WarehouseInput, WarehouseFact>;
type EventInput = Extract<WarehouseInput, { readonly fulfilmentId: string }>;

/** A consumed event as the warehouse's input; undefined for an event it does not act on. */
function inputOf(event: DecodedEvent): EventInput | undefined {
  const occurredAt = event.metadata.occurredAt.toISOString();
  switch (event.type) {
    case 'FulfilmentRequested':
      return {
        kind: 'FulfilmentRequested',
        fulfilmentId: event.data.fulfilmentId,
        lines: event.data.lines,
        // A v1 request (from an adapter not yet upgraded) names no wave.
        dispatchWave: event.version === 2 ? event.data.dispatchWave : null,
        requestedAt: occurredAt,
      };
    case 'FulfilmentCancelled':
      return {
        kind: 'FulfilmentCancelled',
        fulfilmentId: event.data.fulfilmentId,
        reason: event.data.reason,
      };
    case 'CookingCompleted':
    case 'CookingSkipped':
      // Ready when the kitchen said so, not when this consumer got round to it.
      return {
        kind: 'ReadyForPicking',
        fulfilmentId: event.data.fulfilmentId,
        readyAt: occurredAt,
        cooked: event.type === 'CookingCompleted',
      };
    default:
      return undefined;
  }
}

export async function createWarehouseContext(
  services: PlatformServices,
  config: WarehouseContextConfig,
): Promise<ContextModule> {
  const log = services.log.child({ context: 'warehouse' });
  const store: WarehouseStore = await createAggregateStore({
    db: services.db,
    name: 'warehouse_tasks',
    // Lists and auto-advance select by status.
    indexes: [{ 'state.status': 1 }],
    decider,
    writer: createEventWriter(services.serde, 'warehouse', services.topic),
    onWritten: services.relayWrite,
    onChanged: () => autoAdvance?.wake(),
    onTransition: meterStages(services.metrics.journey, 'warehouse', warehouseStages, ['picking', 'packing']),
  });

  const consumer = createAggregateConsumer(services, {
    ...warehouseSubscription,
    eventTypes: ['FulfilmentRequested', 'FulfilmentCancelled', 'CookingCompleted', 'CookingSkipped'],
    store,
    route(event) {
      const input = inputOf(event);
      return input === undefined ? undefined : { aggregateId: input.fulfilmentId, input };
    },
  });

  let autoAdvance: ReturnType<typeof startAutoAdvance> | undefined;

  return {
    name: 'warehouse',
    routers: [createWarehouseRouter({ store, now: services.now, bodyLimitBytes: config.bodyLimitBytes })],
    runners: [consumer],
    outboxes: [store.outbox],
    async start() {
      if (config.autoAdvance === null) return;
      const { delayMs } = config.autoAdvance;
      autoAdvance = startAutoAdvance({
        name: 'warehouse',
        delayMs,
        log,
        step: () => advance(store, delayMs, services.now, log),
      });
    },
    async stop() {
      await autoAdvance?.stop();
      autoAdvance = undefined;
    },
  };
}

/** One auto-advance step: picks what has waited to be picked, packs what has waited to be packed. */
async function advance(
  store: WarehouseStore,
  delayMs: number,
  clock: () => Date,
  log: PlatformServices['log'],
): Promise<number> {
  const now = clock();
  const cutoff = new Date(now.getTime() - delayMs).toISOString();
  // Narrowed in the store to tasks whose step began before the cutoff, so a backlog of fresh
  // tasks cannot crowd the due ones out of the list; `nextAutoStep` decides.
  const due = [
    ...(await store.list(
      { 'state.status': 'to-pick', 'state.readyAt': { $lte: cutoff } },
      { order: 'oldest' },
    )),
    ...(await store.list(
      { 'state.status': 'to-pack', 'state.pickedAt': { $lte: cutoff } },
      { order: 'oldest' },
    )),
  ];
  const steps = due.flatMap((task) => {
    const input = nextAutoStep(task, now, delayMs);
    return input === undefined
      ? []
      : [{ fulfilmentId: task.fulfilmentId, step: input.kind.toLowerCase(), input }];
  });
  const executions = await executeAutoSteps(store, steps, now);
  let advanced = 0;
  for (const [i, execution] of executions.entries()) {
    if (execution.kind === 'changed') advanced += 1;
    // Staff (or a cancellation) got there first: theirs is the task now.
    else if (execution.kind === 'refused')
      log.debug('auto-advance refused', {
        fulfilmentId: steps[i]?.fulfilmentId,
        step: steps[i]?.input.kind,
        reason: execution.reason,
      });
  }
  return advanced;
}

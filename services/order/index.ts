/**
 * The order context (storefront): its store, its API, and its consumer of `order.status-updates`.
 */
import { EventEmitter } from 'node:events';
import { createAggregateStore } from '@runtime/aggregate-store';
import {
  createAggregateConsumer,
  type ContextModule,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import { createEventWriter } from '@runtime/event-writer';
import { createOrderRouter, type IdempotencyRecord } from './api';
import { orderDecider } from './domain';

export interface OrderContextConfig {
  /** OrderPlaced version this instance writes; v1 and v2 producers run side by side in a rollout. */
  readonly orderPlacedVersion: 1 | 2;
  readonly bodyLimitBytes: number;
}

export const orderGroup = 'order';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const orderSubscription = {
  group: orderGroup,
  topics: ['order.status-updates'],
} as const satisfies TopicSubscription;

export async function createOrderContext(
  services: PlatformServices,
  config: OrderContextConfig,
): Promise<ContextModule> {
  const store = await createAggregateStore({
    db: services.db,
    name: 'order_orders',
    // Lists and auto-advance select by status.
    indexes: [{ 'state.status': 1 }],
    decider: orderDecider,
    writer: createEventWriter(services.serde, 'order', services.topic),
    onWritten: services.relayWrite,
    onTransition(before, after) {
      const { journey } = services.metrics;
      if (before === undefined) journey.ordersPlaced.inc();
      if (after.status === 'CANCELLED' && before?.status !== 'CANCELLED') journey.ordersCancelled.inc();
    },
  });
  const idempotencyKeys = services.db.collection<IdempotencyRecord>('order_idempotency_keys');
  const watcher = createChangeWatcher(
    (ids) => store.collection.find({ _id: { $in: [...ids] } }, { projection: { version: 1 } }).toArray(),
    services.log.child({ context: 'order' }),
  );

  // A status for an order this storefront does not know is refused (logged): nothing to update,
  // and a retry would not change that.
  const statusUpdates = createAggregateConsumer(services, {
    ...orderSubscription,
    eventTypes: ['OrderStatusChanged'],
    store,
    route(event) {
      if (event.type !== 'OrderStatusChanged') return undefined;
      const { orderId, status, reason } = event.data;
      return { aggregateId: orderId, input: { kind: 'ApplyStatus' as const, status, reason } };
    },
    changed: (orderId) => watcher.emit(orderId),
  });

  const router = createOrderRouter({
    store,
    idempotencyKeys,
    now: services.now,
    orderPlacedVersion: config.orderPlacedVersion,
    bodyLimitBytes: config.bodyLimitBytes,
    changed: (orderId, timeoutMs, version) => watcher.changed(orderId, timeoutMs, version),
  });

  return {
    name: 'order',
    routers: [router],
    runners: [statusUpdates],
    outboxes: [store.outbox],
    async stop() {
      watcher.stop();
    },
  };
}

/**
 * What a waiting request (`GET /orders/:id?wait=…`) waits on. This process's consumer wakes it
 * at once (`emit`). An update applied by another instance of the context is seen by one read of
 * every waited-on order's version (`_id $in`) every `recheckMs` while anyone waits: a thousand
 * waiting customers cost the store one query per interval, not one per customer.
 */
function createChangeWatcher(
  versionsOf: (ids: readonly string[]) => Promise<readonly { _id: string; version: number }[]>,
  log: PlatformServices['log'],
  recheckMs = 2_000,
) {
  const changes = new EventEmitter().setMaxListeners(0);
  /** Per waited-on order, the version its waiters have seen. */
  const versions = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  async function recheck(): Promise<void> {
    const ids = [...versions.keys()];
    if (ids.length === 0) return;
    for (const { _id, version } of await versionsOf(ids))
      if (versions.has(_id) && versions.get(_id) !== version) changes.emit(_id);
  }

  function schedule(): void {
    if (timer !== undefined || versions.size === 0) return;
    timer = setTimeout(() => {
      void recheck()
        .catch((error: unknown) => log.warn('could not recheck waited-on orders', { error }))
        .finally(() => {
          timer = undefined;
          schedule();
        });
    }, recheckMs);
    timer.unref();
  }

  return {
    emit: (orderId: string) => changes.emit(orderId),
    changed: (orderId: string, timeoutMs: number, version: number) =>
      new Promise<void>((resolve) => {
        versions.set(orderId, Math.min(version, versions.get(orderId) ?? version));
        const done = (): void => {
          clearTimeout(timeout);
          changes.off(orderId, done);
          if (changes.listenerCount(orderId) === 0) versions.delete(orderId);
          resolve();
        };
        const timeout = setTimeout(done, Math.max(0, timeoutMs));
        changes.once(orderId, done);
        schedule();
      }),
    stop: () => clearTimeout(timer),
  };
}

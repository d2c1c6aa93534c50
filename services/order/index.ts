/**
 * The order context (storefront): its store, its API, and its consumer of `order.status-updates`.
 */
import { EventEmitter } from 'node:events';
import { createAggregateStore } from '@runtime/aggregate-store';
import { createAggregateConsumer, type ContextModule, type PlatformServices } from '@runtime/context';
import { createEventWriter } from '@runtime/event-writer';
import { createOrderRouter, type IdempotencyRecord } from './api';
import { orderDecider } from './domain';

export interface OrderContextConfig {
  /** OrderPlaced version this instance writes; v1 and v2 producers run side by side in a rollout. */
  readonly orderPlacedVersion: 1 | 2;
  readonly bodyLimitBytes: number;
}

export const orderGroup = 'order';

export async function createOrderContext(
  services: PlatformServices,
  config: OrderContextConfig,
): Promise<ContextModule> {
  const changes = new EventEmitter().setMaxListeners(0);
  const store = await createAggregateStore({
    db: services.db,
    name: 'order_orders',
    // Lists and auto-advance select by status.
    indexes: [{ 'state.status': 1 }],
    decider: orderDecider,
    writer: createEventWriter(services.serde, 'order', services.topic),
    onWritten: services.relayWrite,
  });
  const idempotencyKeys = services.db.collection<IdempotencyRecord>('order_idempotency_keys');

  // A status for an order this storefront does not know is refused (logged): nothing to update,
  // and a retry would not change that.
  const statusUpdates = createAggregateConsumer(services, {
    group: orderGroup,
    topics: ['order.status-updates'],
    eventTypes: ['OrderStatusChanged'],
    store,
    route(event) {
      if (event.type !== 'OrderStatusChanged') return undefined;
      const { orderId, status, reason } = event.data;
      return { aggregateId: orderId, input: { kind: 'ApplyStatus' as const, status, reason } };
    },
    changed: (orderId) => changes.emit(orderId),
  });

  const router = createOrderRouter({
    store,
    idempotencyKeys,
    now: services.now,
    orderPlacedVersion: config.orderPlacedVersion,
    bodyLimitBytes: config.bodyLimitBytes,
    // Woken at once by this process's consumer; the timeout bounds the wait for updates applied
    // by another instance of the context, which this process only sees by reading again.
    changed: (orderId, timeoutMs) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          changes.off(orderId, done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, timeoutMs));
        changes.once(orderId, done);
      }),
  });

  return {
    name: 'order',
    routers: [router],
    runners: [statusUpdates],
    outboxes: [store.outbox],
  };
}

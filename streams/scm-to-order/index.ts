/**
 * The scm->order status adapter as a running stream: its own consumer group on the SCM event
 * topics, a filter policy that keeps only the events that mean progress to a customer, the pure
 * translation into OrderStatusChanged, and per order the source events it relayed (dedup) and the
 * outbox, through the runtime's relay decider.
 * Whether a status moves the order forward is the order context's rule, not the adapter's.
 */
import type { EventType, ScmEvent } from '@contracts/generated';
import { createAggregateStore } from '@runtime/aggregate-store';
import {
  createAggregateConsumer,
  type ContextModule,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import { relayDecider } from '@runtime/decider';
import { createEventWriter } from '@runtime/event-writer';
import { producer, translateScmEvent } from './translate';

export const scmOrderAdapterGroup = 'scm-order-adapter';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const scmOrderAdapterSubscription = {
  group: scmOrderAdapterGroup,
  topics: [
    'scm.fulfilment-requests',
    'scm.inventory-events',
    'scm.production-events',
    'scm.warehouse-events',
    'scm.delivery-events',
  ],
} as const satisfies TopicSubscription;

/** The SCM events that can change what a customer sees (see the table in translate.ts). */
export const progressEvents = [
  'FulfilmentRejected',
  'StockReserved',
  'StockShortage',
  'StockReleased',
  'CookingStarted',
  'OrderPicked',
  'OrderPacked',
  'ShipmentDispatched',
  'ShipmentDelivered',
  'DeliveryFailed',
] as const satisfies readonly EventType[];

const isScmEvent = (event: { readonly type: EventType }): event is ScmEvent =>
  (progressEvents as readonly EventType[]).includes(event.type);

export async function createScmOrderAdapter(services: PlatformServices): Promise<ContextModule> {
  const store = await createAggregateStore({
    db: services.db,
    name: 'scm_order_adapter_statuses',
    decider: relayDecider,
    writer: createEventWriter(services.serde, producer, services.topic),
    onWritten: services.relayWrite,
  });

  const consumer = createAggregateConsumer(services, {
    ...scmOrderAdapterSubscription,
    eventTypes: progressEvents,
    store,
    route(event) {
      if (!isScmEvent(event)) return undefined;
      const translation = translateScmEvent(event);
      if (translation.kind === 'ignored') return undefined;
      // Dated by the SCM fact it translates: replayed into a fresh database, the adapter
      // publishes byte for byte what it published the first time (the fault suite's replay).
      return {
        aggregateId: translation.event.data.orderId,
        input: [translation.event],
        at: event.metadata.occurredAt,
      };
    },
  });

  return { name: 'scm-order-adapter', routers: [], runners: [consumer], outboxes: [store.outbox] };
}

/**
 * The scm->order status adapter as a running stream: its own consumer group on the SCM event
 * topics, a filter policy that keeps only the events that mean progress to a customer, the pure
 * translation into OrderStatusChanged, and per order the statuses it wrote (dedup and outbox).
 * Whether a status moves the order forward is the order context's rule, not the adapter's.
 */
import type { EventType, OrderStatus, OrderStatusChangedV2, ScmEvent } from '@contracts/generated';
import { createAggregateStore } from '@runtime/aggregate-store';
import {
  createAggregateConsumer,
  type ContextModule,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import { accepted, withoutEnvelope, type Decider } from '@runtime/decider';
import { createEventWriter } from '@runtime/event-writer';
import { translateScmEvent } from './translate';

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

interface StatusLog {
  readonly orderId: string;
  /** Statuses written for this order, in the order written. */
  readonly written: readonly OrderStatus[];
}

type Written = { readonly type: 'StatusWritten'; readonly event: OrderStatusChangedV2 };

const statusDecider: Decider<StatusLog, Written, Written> = {
  decide: (input) => accepted(input),
  evolve: (state, { event }) => ({
    orderId: event.data.orderId,
    written: [...(state?.written ?? []), event.data.status],
  }),
  publish: ({ event }) => [withoutEnvelope(event)],
};

const isScmEvent = (event: { readonly type: EventType }): event is ScmEvent =>
  (progressEvents as readonly EventType[]).includes(event.type);

export async function createScmOrderAdapter(services: PlatformServices): Promise<ContextModule> {
  const store = await createAggregateStore({
    db: services.db,
    name: 'scm_order_adapter_statuses',
    decider: statusDecider,
    writer: createEventWriter(services.serde, 'scm-order-adapter', services.topic),
    onWritten: services.relayWrite,
  });

  const consumer = createAggregateConsumer(services, {
    ...scmOrderAdapterSubscription,
    eventTypes: progressEvents,
    store,
    route(event) {
      if (!isScmEvent(event)) return undefined;
      const translation = translateScmEvent(event, {
        now: services.now(),
        newEventId: () => event.metadata.eventId,
      });
      if (translation.kind === 'ignored') return undefined;
      return {
        aggregateId: translation.event.data.orderId,
        input: { type: 'StatusWritten', event: translation.event },
      };
    },
  });

  return { name: 'scm-order-adapter', routers: [], runners: [consumer], outboxes: [store.outbox] };
}

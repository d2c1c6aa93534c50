/**
 * The tracking context: a read model, not a decider. Its consumer turns every event that belongs
 * to an order, from every topic of the catalogue, into a hop stored under its event id; its API
 * rebuilds an order's timeline from those hops. It writes no topic and keeps no aggregate.
 */
import { eventTypes } from '@contracts/generated';
import { topics, type TopicName } from '@contracts/topics';
import { createEventConsumer, type ContextModule, type PlatformServices } from '@runtime/context';
import { classify, isDuplicateKey } from '@runtime/errors';
import { createTrackingRouter, type HopDocument } from './api';
import { hopOf } from './domain';

export const trackingGroup = 'tracking';

/** Every event of an order's journey; StockReceived is keyed by SKU and belongs to no order. */
const orderEventTypes = eventTypes.filter((type) => type !== 'StockReceived');

export async function createTrackingContext(services: PlatformServices): Promise<ContextModule> {
  const hops = services.db.collection<HopDocument>('tracking_hops');
  await hops.createIndex({ orderId: 1 });

  // Hops name the catalogue topic, not this deployment's (namespaced) name of it.
  const catalogueNames = new Map<string, TopicName>(topics.map(({ name }) => [services.topic(name), name]));

  const consumer = createEventConsumer(services, {
    group: trackingGroup,
    topics: topics.map(({ name }) => name),
    eventTypes: orderEventTypes,
    async handle(event, received) {
      const hop = hopOf(event, catalogueNames.get(received.topic) ?? received.topic);
      if (hop === undefined) return 'ignored';
      try {
        // A unique insert on the event id is atomic on every MongoDB-wire store: the second
        // delivery of an event is refused by the store itself, whoever delivers it.
        await hops.insertOne({ _id: hop.eventId, orderId: hop.orderId, hop });
        return 'applied';
      } catch (error) {
        if (isDuplicateKey(error)) return 'duplicate';
        throw classify(error);
      }
    },
  });

  return {
    name: 'tracking',
    routers: [createTrackingRouter({ hops })],
    runners: [consumer],
    outboxes: [],
  };
}

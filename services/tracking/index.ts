/**
 * The tracking context: a read model, not a decider. Its consumer turns every event that belongs
 * to an order, from every topic of the catalogue, into a hop stored under its event id; its API
 * rebuilds an order's timeline from those hops. It writes no topic and keeps no aggregate.
 */
import { eventTypes } from '@contracts/generated';
import { topics, type TopicName } from '@contracts/topics';
import {
  createEventConsumer,
  type ContextModule,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import { classify, duplicateKeysOnly } from '@runtime/errors';
import { createTrackingRouter, type HopDocument } from './api';
import { hopOf } from './domain';

export const trackingGroup = 'tracking';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const trackingSubscription: TopicSubscription = {
  group: trackingGroup,
  topics: topics.map(({ name }) => name),
};

/** Every event of an order's journey; StockReceived is keyed by SKU and belongs to no order. */
const orderEventTypes = eventTypes.filter((type) => type !== 'StockReceived');

export async function createTrackingContext(services: PlatformServices): Promise<ContextModule> {
  const hops = services.db.collection<HopDocument>('tracking_hops');
  await hops.createIndex({ orderId: 1 });

  // Hops name the catalogue topic, not this deployment's (namespaced) name of it.
  const catalogueNames = new Map<string, TopicName>(topics.map(({ name }) => [services.topic(name), name]));

  const consumer = createEventConsumer(services, {
    ...trackingSubscription,
    eventTypes: orderEventTypes,
    /**
     * A run of events, one unordered insert for all their hops. A unique insert on the event id
     * is atomic on every MongoDB-wire store: a second delivery of an event is refused by the
     * store itself (E11000), whoever delivers it, and counted as a duplicate.
     */
    async handleAll(batch) {
      const documents = batch.flatMap((received) => {
        const hop = hopOf(received.event, catalogueNames.get(received.topic) ?? received.topic);
        return hop === undefined ? [] : [{ _id: hop.eventId, orderId: hop.orderId, hop }];
      });
      if (documents.length === 0) return { duplicates: 0 };
      try {
        await hops.insertMany(documents, { ordered: false });
        return { duplicates: 0 };
      } catch (error) {
        const duplicates = duplicateKeysOnly(error);
        if (duplicates === undefined) throw classify(error);
        return { duplicates };
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

/**
 * The topic catalogue: every topic of the platform, the one context that writes it, its key, the
 * event types it carries and their registry subjects, its partitions and retention.
 *
 * This module imports generated code for TYPES only, so contracts/codegen.ts can load it (to
 * document the topics) even while the generated files are stale or missing; the compiler still
 * checks each entry against the generated event types (record names, key fields).
 */
import type { EventRegistry, EventType } from './generated';

/**
 * Subject naming: TopicRecordNameStrategy, `<topic>-<fully.qualified.RecordName>`.
 * - TopicNameStrategy (`<topic>-value`, the default) allows one schema per topic: several event
 *   types on one topic would need one top-level union, and adding an event type to a union is
 *   not forward compatible, so every new event type would break old consumers.
 * - RecordNameStrategy (`<RecordName>`) would give each event one subject across all topics;
 *   it works, but the registry would no longer tell which events a topic carries.
 * - TopicRecordNameStrategy keeps one subject, hence one compatibility history, per event type
 *   and topic; since each event type lives on exactly one topic (tested), that is one history
 *   per event type. Java producers set
 *   `value.subject.name.strategy=io.confluent.kafka.serializers.subject.TopicRecordNameStrategy`;
 *   consumers need nothing (they look schemas up by the id in each message).
 */
export function subjectName(topic: string, recordFullName: string): string {
  return `${topic}-${recordFullName}`;
}

/** The contexts that write topics (ARCHITECTURE.md); also the `metadata.producer` of their events. */
export const writerContexts = [
  'order',
  'order-scm-adapter',
  'inventory',
  'production',
  'warehouse',
  'delivery',
  'scm-order-adapter',
] as const;
export type WriterContext = (typeof writerContexts)[number];

type VersionsOf<T extends EventType> = EventRegistry[T]['versions'];
type DataOf<T extends EventType> = Extract<
  VersionsOf<T>[keyof VersionsOf<T>],
  { readonly data: unknown }
>['data'];
/** Keys of `D` whose value is a string; for a union of versions, only keys present in every version. */
type StringKeys<D> = { [K in keyof D]-?: D[K] extends string ? K : never }[keyof D];
/** A field of `data` that can serve as the Kafka key: a string in every version of the event. */
export type KeyField<T extends EventType> = StringKeys<DataOf<T>> & string;

/** One event type on a topic. The union over all event types lets the compiler check each entry. */
export type EventRoute = {
  [T in EventType]: {
    readonly type: T;
    readonly record: EventRegistry[T]['fullName'];
    /** The `data` field whose value is the Kafka key. */
    readonly keyField: KeyField<T>;
  };
}[EventType];

export interface TopicDeclaration {
  readonly name: string;
  readonly doc: string;
  readonly writer: WriterContext;
  /** What the key is, for people; `events[].keyField` says where it comes from. */
  readonly key: string;
  readonly events: readonly EventRoute[];
  readonly partitions: number;
  /**
   * `delete`, never `compact`: these are event streams keyed by order, and compaction would keep
   * only the last event of each order.
   */
  readonly cleanupPolicy: 'delete' | 'compact';
  readonly retentionMs: number;
}

const day = 24 * 60 * 60 * 1000;

/**
 * Six partitions everywhere: enough for six instances of a context to share the load, cheap on a
 * single broker. Changing it later re-maps keys to partitions, which breaks per-order ordering for
 * orders in flight, so contracts/provision.ts reports it as drift instead of applying it.
 */
const partitions = 6;

/**
 * Replication per environment: how many copies of every topic (the catalogue's, dead letters,
 * retry levels) and how many must have a write before it is acknowledged (`min.insync.replicas`;
 * producers send with acks=all). On a cluster a write needs two of three replicas: one broker may
 * die, or be restarted, without losing an acknowledged write and without stopping writes. On a
 * single broker there is nothing to replicate to.
 */
export const replication = {
  singleBroker: { replicationFactor: 1, minInSyncReplicas: 1 },
  cluster: { replicationFactor: 3, minInSyncReplicas: 2 },
} as const;

export interface Replication {
  readonly replicationFactor: number;
  readonly minInSyncReplicas: number;
}

/**
 * The replication for topics of `replicationFactor` copies (a cluster's default, or one given):
 * three or more is the cluster's (more than three copies still need only two in sync, as a
 * larger quorum would make writes stop sooner); two copies need one in sync, since requiring
 * both would stop writes whenever either broker is down.
 */
export function replicationFor(replicationFactor: number): Replication {
  if (replicationFactor >= replication.cluster.replicationFactor)
    return { replicationFactor, minInSyncReplicas: replication.cluster.minInSyncReplicas };
  return { replicationFactor, minInSyncReplicas: replication.singleBroker.minInSyncReplicas };
}

export const topics = [
  {
    name: 'order.events',
    doc: 'Facts of the storefront: orders placed, cancelled, re-addressed, and storefront-only events (reviews, coupons) that SCM never sees.',
    writer: 'order',
    key: 'the storefront order id',
    events: [
      { type: 'OrderPlaced', record: 'com.scmplatform.order.OrderPlaced', keyField: 'orderId' },
      { type: 'OrderCancelled', record: 'com.scmplatform.order.OrderCancelled', keyField: 'orderId' },
      {
        type: 'DeliveryAddressChanged',
        record: 'com.scmplatform.order.DeliveryAddressChanged',
        keyField: 'orderId',
      },
      { type: 'OrderReviewed', record: 'com.scmplatform.order.OrderReviewed', keyField: 'orderId' },
      { type: 'CouponRedeemed', record: 'com.scmplatform.order.CouponRedeemed', keyField: 'orderId' },
    ],
    partitions,
    cleanupPolicy: 'delete',
    // Longer than the SCM topics: the tracking read model and new consumers replay the storefront's history.
    retentionMs: 30 * day,
  },
  {
    name: 'scm.fulfilment-requests',
    doc: 'Orders translated into SCM terms by the order->scm adapter: what to fulfil, cancel or re-route, and orders it could not translate.',
    writer: 'order-scm-adapter',
    key: 'the fulfilment id (equal to the storefront order id)',
    events: [
      {
        type: 'FulfilmentRequested',
        record: 'com.scmplatform.scm.FulfilmentRequested',
        keyField: 'fulfilmentId',
      },
      {
        type: 'FulfilmentCancelled',
        record: 'com.scmplatform.scm.FulfilmentCancelled',
        keyField: 'fulfilmentId',
      },
      {
        type: 'FulfilmentDestinationChanged',
        record: 'com.scmplatform.scm.FulfilmentDestinationChanged',
        keyField: 'fulfilmentId',
      },
      {
        type: 'FulfilmentRejected',
        record: 'com.scmplatform.scm.FulfilmentRejected',
        keyField: 'fulfilmentId',
      },
    ],
    partitions,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
  },
  {
    name: 'scm.inventory-events',
    doc: 'Stock decisions per fulfilment (reserved, short, released) and goods received.',
    writer: 'inventory',
    key: 'the fulfilment id; the SKU for StockReceived, which belongs to no order',
    events: [
      { type: 'StockReserved', record: 'com.scmplatform.scm.StockReserved', keyField: 'fulfilmentId' },
      { type: 'StockShortage', record: 'com.scmplatform.scm.StockShortage', keyField: 'fulfilmentId' },
      { type: 'StockReleased', record: 'com.scmplatform.scm.StockReleased', keyField: 'fulfilmentId' },
      { type: 'StockReceived', record: 'com.scmplatform.scm.StockReceived', keyField: 'sku' },
    ],
    partitions,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
  },
  {
    name: 'scm.production-events',
    doc: 'The kitchen: cooking started and completed, or skipped when nothing is cooked to order.',
    writer: 'production',
    key: 'the fulfilment id',
    events: [
      { type: 'CookingStarted', record: 'com.scmplatform.scm.CookingStarted', keyField: 'fulfilmentId' },
      { type: 'CookingCompleted', record: 'com.scmplatform.scm.CookingCompleted', keyField: 'fulfilmentId' },
      { type: 'CookingSkipped', record: 'com.scmplatform.scm.CookingSkipped', keyField: 'fulfilmentId' },
    ],
    partitions,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
  },
  {
    name: 'scm.warehouse-events',
    doc: 'The warehouse: picked and packed.',
    writer: 'warehouse',
    key: 'the fulfilment id',
    events: [
      { type: 'OrderPicked', record: 'com.scmplatform.scm.OrderPicked', keyField: 'fulfilmentId' },
      { type: 'OrderPacked', record: 'com.scmplatform.scm.OrderPacked', keyField: 'fulfilmentId' },
    ],
    partitions,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
  },
  {
    name: 'scm.delivery-events',
    doc: 'Couriers: shipment dispatched, delivered, or failed; or cancelled before any courier left.',
    writer: 'delivery',
    key: 'the fulfilment id',
    events: [
      {
        type: 'ShipmentDispatched',
        record: 'com.scmplatform.scm.ShipmentDispatched',
        keyField: 'fulfilmentId',
      },
      {
        type: 'ShipmentDelivered',
        record: 'com.scmplatform.scm.ShipmentDelivered',
        keyField: 'fulfilmentId',
      },
      { type: 'DeliveryFailed', record: 'com.scmplatform.scm.DeliveryFailed', keyField: 'fulfilmentId' },
      {
        type: 'ShipmentCancelled',
        record: 'com.scmplatform.scm.ShipmentCancelled',
        keyField: 'fulfilmentId',
      },
    ],
    partitions,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
  },
  {
    name: 'order.status-updates',
    doc: 'SCM progress translated into customer-facing order statuses by the scm->order adapter.',
    writer: 'scm-order-adapter',
    key: 'the storefront order id',
    events: [
      { type: 'OrderStatusChanged', record: 'com.scmplatform.order.OrderStatusChanged', keyField: 'orderId' },
    ],
    partitions,
    cleanupPolicy: 'delete',
    retentionMs: 7 * day,
  },
] as const satisfies readonly TopicDeclaration[];

export type Topic = (typeof topics)[number];
export type TopicName = Topic['name'];
/** The event types a topic may carry, e.g. `EventTypeOn<'scm.production-events'>`. */
export type EventTypeOn<N extends TopicName> = Extract<Topic, { name: N }>['events'][number]['type'];

export interface EventPlacement {
  readonly topic: TopicName;
  readonly subject: string;
  readonly keyField: string;
}

/** Where an event type is written. Every event type has exactly one topic (checked by topics.spec.ts). */
export function placementOf(type: EventType): EventPlacement {
  for (const topic of topics) {
    for (const route of topic.events) {
      if (route.type === type) {
        return {
          topic: topic.name,
          subject: subjectName(topic.name, route.record),
          keyField: route.keyField,
        };
      }
    }
  }
  throw new Error(`event type ${type} is on no topic of the catalogue`);
}

export function topicNamed(name: string): Topic | undefined {
  return topics.find((topic) => topic.name === name);
}

/**
 * Dead letters: one topic per consumer group, `<group>.dlq`, written by the runtime on behalf of
 * that group. Per group rather than one platform-wide topic because fan-out means a message that
 * is poison for one group is fine for the others: a replay must go back to that group only, and
 * one group's failures must not bury another's. It carries the original key and bytes unchanged,
 * plus diagnostic headers, so no schema applies to it.
 */
export const deadLetters = {
  suffix: '.dlq',
  // Low volume by design (transient faults are retried, never dead-lettered); one partition keeps
  // the failures of a group in the order they happened, for the person reading them.
  partitions: 1,
  cleanupPolicy: 'delete',
  // Long enough to survive a holiday weekend before someone looks.
  retentionMs: 30 * day,
} as const;

const topicNamePattern = /^[a-zA-Z0-9._-]+$/;

export function deadLetterTopicName(consumerGroup: string): string {
  const name = `${consumerGroup}${deadLetters.suffix}`;
  // Kafka's own limits on topic names; a group id may legally contain characters a topic may not.
  if (!topicNamePattern.test(name) || name.length > 249) {
    throw new Error(
      `consumer group "${consumerGroup}" cannot name a dead-letter topic (letters, digits, . _ - only)`,
    );
  }
  return name;
}

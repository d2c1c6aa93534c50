import type { Collection, Document, Filter } from 'mongodb';
import type { IHeaders, Producer } from 'kafkajs';
import { classify } from './errors';
import type { Logger } from './log';
import type { SendCheck } from './send-check';

/**
 * The transactional outbox, embedded in the aggregate's own document: the state change and the
 * events it causes are written by one single-document write, so neither can exist without the
 * other. The relay publishes them with an idempotent producer and only then clears them; a
 * crash in between publishes them again (consumers deduplicate by event id), never loses them.
 *
 * Two ways in, one publisher:
 * - **from memory**: the writer hands each write to the relay as soon as the store acknowledged
 *   it (`enqueue`), so the normal path reads nothing back;
 * - **recovery**: events whose publication a crash or a broker outage interrupted stay in their
 *   document, flagged `_pending: true`; the relay finds them through that field's index, at
 *   start, after a failure, and on a slow timer (which reads only flagged documents).
 *
 * Order: the writes of one aggregate reach the relay in version order (a write is acknowledged
 * only after the previous version's), and one loop publishes, so per aggregate the events leave
 * in version order, and per key Kafka keeps it.
 *
 * Pending events live in a map keyed by event id (`_outbox.<eventId>`), so one entry can be
 * cleared with `$unset` on every store.
 */
export interface OutgoingEvent {
  eventId: string;
  topic: string;
  key: string;
  /** Encoded value (Confluent wire format). */
  value: Buffer;
  headers: Record<string, string>;
}

export interface StoredEvent {
  topic: string;
  key: string;
  /**
   * The encoded value, in base64: a BSON binary would be more compact, but the embedded store
   * cannot replace a document that holds one (see the store conformance test).
   */
  value: string;
  headers: Record<string, string>;
  /** Position: the aggregate version that wrote it, then its index within that write. */
  version: number;
  n: number;
}

/** A document that may hold pending events: any aggregate's head. */
export interface OutboxDocument extends Document {
  _id: string;
  version?: number;
  _outbox?: Record<string, StoredEvent>;
  _pending?: boolean;
}

export const outboxField = '_outbox';
export const pendingField = '_pending';

/** A write the store acknowledged, with every event its document now holds pending. */
export interface PendingWrite {
  readonly collection: Collection<OutboxDocument>;
  readonly id: string;
  readonly version: number;
  readonly events: Readonly<Record<string, StoredEvent>>;
}

/** The outbox entries (`eventId` -> stored event) of the events written by one version. */
export function storedEvents(events: readonly OutgoingEvent[], version: number): Record<string, StoredEvent> {
  return Object.fromEntries(
    events.map((event, n): [string, StoredEvent] => [
      event.eventId,
      {
        topic: event.topic,
        key: event.key,
        value: event.value.toString('base64'),
        headers: event.headers,
        version,
        n,
      },
    ]),
  );
}

export interface OutboxRelayOptions {
  /** The collections recovery looks into. */
  collections: readonly Collection<OutboxDocument>[];
  producer: Producer;
  log: Logger;
  /** How often recovery looks for flagged documents when nothing failed. */
  recoveryIntervalMs?: number;
  /** Writes published in one produce request, at most. */
  batchSize?: number;
  onPublished?: (topic: string, headers: Record<string, string>) => void;
  /** Events handed over and not yet published, per collection. */
  onPending?: (collection: string, count: number) => void;
  /** The topic-partitions a send left unacknowledged (runtime/send-check.ts); none if absent. */
  unacknowledged?: SendCheck['unacknowledged'];
  /** Fault injection for tests: runs after publishing and before clearing the outbox. */
  afterPublish?: () => Promise<void>;
}

export interface OutboxRelay {
  start(): void;
  /** Publishes a write the store just acknowledged (soon, in order with earlier writes). */
  enqueue(write: PendingWrite): void;
  /** Recovery now: publishes every flagged document's events; resolves with how many. */
  drain(): Promise<number>;
  /** Resolves once every write handed over so far is published (or its publication failed). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Event ids recently published, so a write that carried them over does not publish them again. */
const recentlyPublishedLimit = 10_000;

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { collections, producer, log } = options;
  const recoveryIntervalMs = options.recoveryIntervalMs ?? 30_000;
  const batchSize = options.batchSize ?? 200;
  const queue: PendingWrite[] = [];
  const recentlyPublished = new Set<string>();
  let recoveryWanted = false;
  let running = false;
  let loop: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let waiters: { resolve: (count: number) => void; reject: (error: unknown) => void }[] = [];

  const reportPending = (): void => {
    if (!options.onPending) return;
    const counts = new Map(collections.map((collection) => [collection.collectionName, 0]));
    for (const write of queue)
      counts.set(
        write.collection.collectionName,
        (counts.get(write.collection.collectionName) ?? 0) + Object.keys(write.events).length,
      );
    for (const [name, count] of counts) options.onPending(name, count);
  };

  /** Publishes the writes' events not published already, then clears them from their documents. */
  async function publish(writes: readonly PendingWrite[]): Promise<number> {
    const entries = writes
      .flatMap((write) => Object.entries(write.events).map(([eventId, stored]) => ({ eventId, stored })))
      .filter(({ eventId }) => !recentlyPublished.has(eventId))
      .sort((a, b) => a.stored.version - b.stored.version || a.stored.n - b.stored.n);
    if (entries.length > 0) {
      const byTopic = new Map<string, { key: string; value: Buffer; headers: IHeaders }[]>();
      for (const { stored } of entries) {
        const messages = byTopic.get(stored.topic) ?? [];
        messages.push({
          key: stored.key,
          value: Buffer.from(stored.value, 'base64'),
          headers: stored.headers,
        });
        byTopic.set(stored.topic, messages);
      }
      const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      const answer = await producer.sendBatch({ acks: -1, topicMessages });
      // kafkajs can answer for part of a batch as if for all of it (runtime/send-check.ts): what
      // it left out stays pending, and recovery sends it (and, again, what did go: consumers
      // deduplicate by event id).
      const missing = options.unacknowledged?.(topicMessages, answer) ?? [];
      if (missing.length > 0)
        throw new Error(`the broker acknowledged the batch without ${missing.join(', ')}`);
      for (const { eventId, stored } of entries) {
        remember(eventId);
        options.onPublished?.(stored.topic, stored.headers);
      }
    }
    await options.afterPublish?.();
    await clear(writes);
    return entries.length;
  }

  function remember(eventId: string): void {
    recentlyPublished.add(eventId);
    if (recentlyPublished.size > recentlyPublishedLimit) {
      const oldest = recentlyPublished.values().next().value;
      if (oldest !== undefined) recentlyPublished.delete(oldest);
    }
  }

  /**
   * Clears published writes, one bulk command per collection: the whole outbox and the flag of
   * each document still at the version published (nothing newer could have added events). When
   * some are not (a newer version was written meanwhile), a second bulk removes, from every one
   * of them, only the entries published, leaving the newer version's to its own write: removing
   * an entry that is already gone changes nothing.
   */
  async function clear(writes: readonly PendingWrite[]): Promise<void> {
    const byCollection = new Map<Collection<OutboxDocument>, PendingWrite[]>();
    for (const write of writes)
      byCollection.set(write.collection, [...(byCollection.get(write.collection) ?? []), write]);
    for (const [collection, mine] of byCollection) {
      const cleared = await collection.bulkWrite(
        mine.map((write) => ({
          updateOne: {
            filter: { _id: write.id, version: write.version } as Filter<OutboxDocument>,
            update: { $unset: { [outboxField]: '', [pendingField]: '' } },
          },
        })),
        { ordered: false },
      );
      if (cleared.matchedCount === mine.length) continue;
      await collection.bulkWrite(
        mine.map((write) => ({
          updateOne: {
            filter: { _id: write.id } as Filter<OutboxDocument>,
            update: {
              $unset: Object.fromEntries(
                Object.keys(write.events).map((eventId) => [`${outboxField}.${eventId}`, '']),
              ),
            },
          },
        })),
        { ordered: false },
      );
    }
  }

  /** Every flagged document of every collection, a page at a time. */
  async function recover(): Promise<number> {
    let total = 0;
    for (const collection of collections) {
      for (;;) {
        const documents = await collection
          .find({ [pendingField]: true } as Filter<OutboxDocument>)
          .limit(batchSize)
          .toArray();
        if (documents.length === 0) break;
        total += await publish(
          documents.map((document) => ({
            collection,
            id: document._id,
            version: document.version ?? 0,
            events: pendingOf(document),
          })),
        );
        if (documents.length < batchSize) break;
      }
    }
    return total;
  }

  /** The one publishing loop: recovery first when asked for, then the queue, in order. */
  async function run(): Promise<void> {
    let published = 0;
    try {
      while (running || recoveryWanted || queue.length > 0) {
        if (recoveryWanted) {
          recoveryWanted = false;
          published += await recover();
          continue;
        }
        if (queue.length === 0) break;
        const writes = queue.slice(0, batchSize);
        published += await publish(writes);
        queue.splice(0, writes.length);
        reportPending();
      }
      for (const waiter of waiters.splice(0)) waiter.resolve(published);
    } catch (error) {
      const failure = classify(error);
      log.warn('outbox relay failed; recovery will publish what is pending', {
        code: failure.code,
        error: failure,
      });
      for (const waiter of waiters.splice(0)) waiter.reject(error);
      // What was handed over is still in the documents, flagged: recovery finds it.
      queue.length = 0;
      reportPending();
      if (running) scheduleRecovery(Math.min(recoveryIntervalMs, 5_000));
    }
  }

  function pump(): void {
    if (loop !== undefined) return;
    loop = run().finally(() => {
      loop = undefined;
      if (queue.length > 0 || recoveryWanted) pump();
    });
  }

  function scheduleRecovery(delayMs: number): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      recoveryWanted = true;
      pump();
      if (running) scheduleRecovery(recoveryIntervalMs);
    }, delayMs);
    timer.unref();
  }

  return {
    start() {
      running = true;
      scheduleRecovery(0);
    },
    enqueue(write) {
      queue.push(write);
      reportPending();
      if (running) pump();
    },
    drain() {
      recoveryWanted = true;
      const done = new Promise<number>((resolve, reject) => waiters.push({ resolve, reject }));
      if (loop === undefined) pump();
      return done;
    },
    async settled() {
      while (loop !== undefined || (running && queue.length > 0)) {
        if (loop === undefined) pump();
        await loop?.catch(() => undefined);
      }
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      // Publish what was handed over before the producer goes away.
      if (queue.length > 0) pump();
      await loop?.catch(() => undefined);
      waiters = [];
    },
  };
}

function pendingOf(document: OutboxDocument): Record<string, StoredEvent> {
  const outbox: unknown = document[outboxField];
  if (typeof outbox !== 'object' || outbox === null) return {};
  const entries: Record<string, StoredEvent> = {};
  for (const [eventId, stored] of Object.entries(outbox)) {
    if (isStoredEvent(stored)) entries[eventId] = stored;
  }
  return entries;
}

function isStoredEvent(value: unknown): value is StoredEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    'topic' in value &&
    typeof value.topic === 'string' &&
    'value' in value &&
    typeof value.value === 'string'
  );
}

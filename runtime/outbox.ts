import { Binary, type Collection, type UpdateFilter } from 'mongodb';
import type { AggregateDocument } from './idempotent-store';
import type { IHeaders, Producer } from 'kafkajs';
import { classify } from './errors';
import type { Logger } from './log';

/**
 * The transactional outbox, embedded in the aggregate's own document: the state change and
 * the events it causes are written by one single-document update, so neither can exist
 * without the other. A relay publishes pending events with an idempotent producer and only
 * then removes them; a crash in between publishes them again (consumers deduplicate by
 * event id), never loses them.
 *
 * Pending events live in a map keyed by event id (`_outbox.<eventId>`) rather than an array:
 * FerretDB's `$pull` cannot remove array elements by a condition, while `$unset` of a key
 * works everywhere. Each entry carries its position (write time, index in the write); ties
 * within one millisecond fall back to the map's insertion order, which both stores keep.
 */
export interface OutgoingEvent {
  eventId: string;
  topic: string;
  key: string;
  /** Encoded value (Confluent wire format). */
  value: Buffer;
  headers: Record<string, string>;
}

interface StoredEvent {
  topic: string;
  key: string;
  value: Binary;
  headers: Record<string, string>;
  /** Position: write time, then index within the write. */
  at: number;
  n: number;
}

export const outboxField = '_outbox';

/** The outbox map (`eventId` -> stored event) of events written together, e.g. in an insert. */
export function outboxOf(events: readonly OutgoingEvent[], now: number): Record<string, StoredEvent> {
  return Object.fromEntries(
    events.map((event, n): [string, StoredEvent] => [
      event.eventId,
      {
        topic: event.topic,
        key: event.key,
        value: new Binary(event.value),
        headers: event.headers,
        at: now,
        n,
      },
    ]),
  );
}

/** Adds `$set` operators that append events to the outbox of the document being updated. */
export function withOutbox(
  update: UpdateFilter<AggregateDocument>,
  events: readonly OutgoingEvent[],
  now: number,
): UpdateFilter<AggregateDocument> {
  if (events.length === 0) return update;
  const entries = Object.fromEntries(
    Object.entries(outboxOf(events, now)).map(([eventId, stored]) => [`${outboxField}.${eventId}`, stored]),
  );
  return { ...update, $set: { ...(update.$set ?? {}), ...entries } };
}

export interface OutboxRelayOptions {
  collections: readonly Collection<AggregateDocument>[];
  producer: Producer;
  log: Logger;
  /** How often to look for pending events when nobody kicks the relay. */
  pollIntervalMs?: number;
  batchSize?: number;
  onPublished?: (topic: string, headers: Record<string, string>) => void;
  onPending?: (collection: string, count: number) => void;
  /** Fault injection for tests: runs after publishing and before removing from the outbox. */
  afterPublish?: () => Promise<void>;
}

export interface OutboxRelay {
  start(): void;
  /** Publish soon: called after a write that added events, for low latency. */
  kick(): void;
  /** One pass over every collection; resolves when what was pending is published. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { collections, producer, log } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let pass: Promise<number> | undefined;
  let again = false;

  async function relayCollection(collection: Collection<AggregateDocument>): Promise<number> {
    const documents = await collection
      .find({ [outboxField]: { $exists: true, $ne: {} } })
      .limit(batchSize)
      .toArray();
    options.onPending?.(collection.collectionName, documents.length);
    if (documents.length === 0) return 0;
    const pending = documents.flatMap((document) =>
      Object.entries(pendingOf(document)).map(([eventId, stored]) => ({
        documentId: document._id,
        eventId,
        stored,
      })),
    );
    // Per document, in the order the events were written; per key, Kafka keeps that order.
    pending.sort((a, b) => a.stored.at - b.stored.at || a.stored.n - b.stored.n);
    const byTopic = new Map<string, { key: string; value: Buffer; headers: IHeaders }[]>();
    for (const { stored } of pending) {
      const messages = byTopic.get(stored.topic) ?? [];
      messages.push({ key: stored.key, value: Buffer.from(stored.value.buffer), headers: stored.headers });
      byTopic.set(stored.topic, messages);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    for (const { stored } of pending) options.onPublished?.(stored.topic, stored.headers);
    await options.afterPublish?.();
    const published = new Map<string, string[]>();
    for (const { documentId, eventId } of pending)
      published.set(documentId, [...(published.get(documentId) ?? []), eventId]);
    await collection.bulkWrite(
      [...published].map(([documentId, eventIds]) => ({
        updateOne: {
          filter: { _id: documentId },
          update: { $unset: Object.fromEntries(eventIds.map((id) => [`${outboxField}.${id}`, ''])) },
        },
      })),
      { ordered: false },
    );
    return pending.length;
  }

  async function runPass(): Promise<number> {
    let total = 0;
    for (const collection of collections) {
      for (;;) {
        const count = await relayCollection(collection);
        total += count;
        if (count === 0) break;
      }
    }
    return total;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), delayMs);
  }

  async function tick(): Promise<void> {
    try {
      await drain();
      schedule(pollIntervalMs);
    } catch (error) {
      const failure = classify(error);
      log.warn('outbox relay failed; will retry', { code: failure.code, error: failure });
      schedule(Math.min(pollIntervalMs * 5, 10_000));
    }
  }

  /** One pass at a time; a kick during a pass runs another right after it. */
  function drain(): Promise<number> {
    if (pass) {
      again = true;
      return pass;
    }
    pass = runPass().finally(() => {
      pass = undefined;
      if (again) {
        again = false;
        schedule(0);
      }
    });
    return pass;
  }

  return {
    start() {
      running = true;
      schedule(0);
    },
    kick() {
      if (pass) again = true;
      else schedule(0);
    },
    drain,
    async stop() {
      running = false;
      clearTimeout(timer);
      await pass?.catch(() => undefined);
    },
  };
}

function pendingOf(document: AggregateDocument): Record<string, StoredEvent> {
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
    value.value instanceof Binary
  );
}

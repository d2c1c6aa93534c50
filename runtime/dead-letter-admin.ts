/**
 * Dead-letter administration: list the records of one dead-letter topic with their decoded
 * diagnostics, replay chosen ones to the topic they came from, or drop them.
 *
 * Reading. kafkajs has no manual partition assignment, so every read joins a throwaway
 * consumer group of its own (one member, so it gets every partition), seeks to the offsets
 * wanted, stops at the high watermark taken before it started, and never commits (autoCommit
 * off; the only commit kafkajs could still make, resetting an out-of-range offset, would land
 * in that throwaway group). The group is deleted afterwards. No consumer group that anyone
 * relies on is joined or moved.
 *
 * "Handled" state. A compacted companion topic `<dlq>.handled`, keyed by the dead letter's
 * `partition:offset`, whose value says what was done (replayed where, or dropped) and when.
 * Chosen over `deleteRecords` because
 *   - dead letters are handled in any order, and deleteRecords can only cut a contiguous prefix
 *     (a replayed letter behind one nobody has looked at yet could not be hidden);
 *   - nothing is destroyed: `includeHandled` still shows the letter with what was done to it,
 *     an audit trail until the dead-letter topic's own retention removes it;
 *   - it lives in the broker, so it survives restarts of any process and needs no other store.
 * The companion topic is `compact,delete` with the dead-letter topic's retention: a marker is
 * written after its letter, so it never expires before it. A marker also records the letter's
 * timestamp, so that markers left over from a deleted and re-created dead-letter topic (whose
 * offsets start again at 0) do not hide new letters.
 *
 * Replay publishes the original key, value and headers (minus the diagnostic `kafka_dlt-*` and
 * `scm_dlt-*` headers, plus `scm_dlt-replayed-from` naming the dead letter, and
 * `scm_dlt-replayed-for-group` naming the group that failed on it) to the original topic and
 * partition with acks=all from an idempotent producer, and only then marks it handled. A crash in
 * between replays it again next time: at least once, which consumers absorb (they deduplicate).
 * Every group reading the original topic sees the replay, not only the one that dead-lettered it;
 * the group header lets the others skip it.
 */
import { randomBytes } from 'node:crypto';
import {
  ConfigResourceTypes,
  Partitioners,
  type Admin,
  type IHeaders,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import { createTopicsWithLeaders } from '@contracts/provision';
import { deadLetterHeaders, replayedForGroupHeader, schemaIdOf } from './dead-letters';
import { errorCodes, permanent, transient } from './errors';

/** Headers a replay adds; the `scm_dlt-` prefix keeps them out of a later dead letter's diagnostics. */
export const replayHeaders = {
  replayedFrom: 'scm_dlt-replayed-from',
  replayedForGroup: replayedForGroupHeader,
} as const;

const diagnosticPrefixes = ['kafka_dlt-', 'scm_dlt-'] as const;

export const deadLetterAdminCodes = {
  TOPIC_NOT_FOUND: 'DEAD_LETTER_TOPIC_NOT_FOUND',
  NOT_FOUND: 'DEAD_LETTERS_NOT_FOUND',
  NOT_REPLAYABLE: 'DEAD_LETTERS_NOT_REPLAYABLE',
  INVALID_ID: 'INVALID_DEAD_LETTER_ID',
} as const;

/** The companion topic holding the handled markers of a dead-letter topic. */
export function handledTopicOf(deadLetterTopic: string): string {
  return `${deadLetterTopic}.handled`;
}

export interface DeadLetterId {
  partition: number;
  offset: bigint;
}

const idPattern = /^(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,18})$/;

/** `"<partition>:<offset>"` of a record in the dead-letter topic, or undefined if malformed. */
export function parseDeadLetterId(id: string): DeadLetterId | undefined {
  const match = idPattern.exec(id);
  if (!match) return undefined;
  const partition = Number(match[1]);
  const offset = BigInt(match[2] ?? '');
  if (partition > 2_147_483_647 || offset > 9_223_372_036_854_775_807n) return undefined;
  return { partition, offset };
}

export type HandledAction = 'replayed' | 'dropped';

export interface HandledMarker {
  action: HandledAction;
  /** ISO-8601, when it was handled. */
  at: string;
  /** Where the replay landed. */
  replayedTo?: { topic: string; partition: number; offset: string };
}

export interface DeadLetterView {
  /** `partition:offset` in the dead-letter topic: what replay and drop take. */
  id: string;
  deadLetter: { topic: string; partition: number; offset: string; timestamp: string };
  original: {
    topic: string | null;
    partition: number | null;
    offset: string | null;
    timestamp: string | null;
  };
  group: string | null;
  error: {
    code: string | null;
    category: string | null;
    class: string | null;
    message: string | null;
  };
  schemaId: number | null;
  attempts: number | null;
  deadLetteredAt: string | null;
  /** UTF-8 text when the key is valid UTF-8, else base64 (see `keyEncoding`). */
  key: string | null;
  keyEncoding: 'utf8' | 'base64';
  /** Bytes of the value; null for a tombstone. */
  valueSize: number | null;
  /** The original record's own headers (diagnostics removed), as UTF-8 text. */
  headers: Record<string, string>;
  /** Set when handled (only listed with `includeHandled`). */
  handled: HandledMarker | null;
}

export interface ListOptions {
  /** At most this many letters (default 100). */
  limit?: number;
  /** Start at this offset in every partition of the dead-letter topic. */
  fromOffset?: string | number | bigint;
  /** Also list letters already replayed or dropped (default false). */
  includeHandled?: boolean;
}

export interface DeadLetterList {
  topic: string;
  letters: DeadLetterView[];
  /** More letters matched than `limit` let through. */
  more: boolean;
}

export interface ActionResult {
  id: string;
  outcome: HandledAction | 'already-handled';
  /** Where the replay landed (outcome `replayed`). */
  replayedTo?: { topic: string; partition: number; offset: string };
  /** What was done before (outcome `already-handled`). */
  handled?: HandledMarker;
}

export interface DeadLetterAdmin {
  readonly topic: string;
  readonly handledTopic: string;
  list(options?: ListOptions): Promise<DeadLetterList>;
  /** Re-publishes the letters to their original topic, then marks them handled. */
  replay(ids: readonly string[]): Promise<ActionResult[]>;
  /** Marks the letters handled without replaying them. */
  drop(ids: readonly string[]): Promise<ActionResult[]>;
  /** Disconnects the clients, if this admin created them. */
  close(): Promise<void>;
}

/**
 * The Kafka clients admin operations share, connected on first use: one admin client and one
 * idempotent producer per process however many dead-letter topics are administered.
 */
export interface DeadLetterClients {
  readonly kafka: Kafka;
  admin(): Promise<Admin>;
  producer(): Promise<Producer>;
  close(): Promise<void>;
}

export function createDeadLetterClients(kafka: Kafka): DeadLetterClients {
  let admin: Promise<Admin> | undefined;
  let producer: Promise<Producer> | undefined;
  const connected = <T extends { connect(): Promise<void> }>(client: T): Promise<T> =>
    client.connect().then(() => client);
  return {
    kafka,
    admin() {
      admin ??= connected(kafka.admin()).catch((error: unknown) => {
        admin = undefined;
        throw error;
      });
      return admin;
    },
    producer() {
      producer ??= connected(
        kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          createPartitioner: Partitioners.DefaultPartitioner,
        }),
      ).catch((error: unknown) => {
        producer = undefined;
        throw error;
      });
      return producer;
    },
    async close() {
      const open = [admin, producer];
      admin = producer = undefined;
      await Promise.all(open.map((client) => client?.then((c) => c.disconnect()).catch(() => undefined)));
    },
  };
}

export interface DeadLetterAdminOptions {
  kafka: Kafka;
  /** The dead-letter topic, e.g. `<group>.dlq`. */
  topic: string;
  /** Shared clients; without them the admin makes its own and `close` disconnects them. */
  clients?: DeadLetterClients;
  /** Give up reading a topic to its end after this long (default 30 s). */
  readTimeoutMs?: number;
  now?: () => Date;
}

interface StoredLetter {
  partition: number;
  message: KafkaMessage;
}

type Marker = HandledMarker & { letterTimestamp: string };

async function existingTopics(clients: DeadLetterClients): Promise<Set<string>> {
  return new Set(await (await clients.admin()).listTopics());
}
type Done = { id: string; message: KafkaMessage; marker: HandledMarker };

/** Reads the dead-letter topic: whole ranges for a listing, or the letters a command names. */
interface LetterReader {
  requireTopic(): Promise<Set<string>>;
  read(
    topics: Set<string>,
    wanted: (partition: number, low: bigint, high: bigint) => { from: bigint; to: bigint } | undefined,
    keep: (partition: number, message: KafkaMessage) => void,
  ): Promise<Map<string, Marker>>;
  resolve(ids: readonly string[]): Promise<{
    topics: Set<string>;
    letters: { id: string; letter: StoredLetter; handled: HandledMarker | undefined }[];
  }>;
}

function createLetterReader(
  kafka: Kafka,
  clients: DeadLetterClients,
  topic: string,
  readTimeoutMs: number,
): LetterReader {
  const handledTopic = handledTopicOf(topic);

  async function requireTopic(): Promise<Set<string>> {
    const topics = await existingTopics(clients);
    if (!topics.has(topic)) {
      throw permanent(deadLetterAdminCodes.TOPIC_NOT_FOUND, `the dead-letter topic ${topic} does not exist`);
    }
    return topics;
  }

  /** Reads the dead-letter records in `wanted` ranges and all handled markers, in one pass. */
  async function read(
    topics: Set<string>,
    wanted: (partition: number, low: bigint, high: bigint) => { from: bigint; to: bigint } | undefined,
    keep: (partition: number, message: KafkaMessage) => void,
  ): Promise<Map<string, Marker>> {
    const admin = await clients.admin();
    const ranges: Range[] = [];
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const [low, high] = [BigInt(p.low), BigInt(p.high)];
      const range = wanted(p.partition, low, high);
      const from = range ? (range.from > low ? range.from : low) : high;
      const to = range ? (range.to < high ? range.to : high) : high;
      // Nothing to read in this partition: park it at its end (a seek past it would be out of range).
      ranges.push(
        from < to
          ? { topic, partition: p.partition, from, to }
          : { topic, partition: p.partition, from: high, to: high },
      );
    }
    if (topics.has(handledTopic)) {
      for (const p of await admin.fetchTopicOffsets(handledTopic))
        ranges.push({ topic: handledTopic, partition: p.partition, from: BigInt(p.low), to: BigInt(p.high) });
    }
    const markers = new Map<string, Marker>();
    await readRanges(kafka, admin, topic, ranges, readTimeoutMs, (from, partition, message) => {
      if (from === topic) keep(partition, message);
      else {
        const marker = parseMarker(message);
        const key = message.key?.toString('utf8');
        if (marker && key) markers.set(key, marker);
      }
    });
    return markers;
  }

  /** Finds the letters named by `ids`, refusing the lot if any is malformed or missing. */
  async function resolve(ids: readonly string[]): Promise<{
    topics: Set<string>;
    letters: { id: string; letter: StoredLetter; handled: HandledMarker | undefined }[];
  }> {
    const parsed = new Map<string, DeadLetterId>();
    const malformed: string[] = [];
    for (const id of ids) {
      const value = parseDeadLetterId(id);
      if (value) parsed.set(id, value);
      else malformed.push(id);
    }
    if (malformed.length > 0) {
      throw permanent(
        deadLetterAdminCodes.INVALID_ID,
        `not dead-letter ids (partition:offset): ${malformed.join(', ')}`,
        undefined,
        { ids: malformed },
      );
    }
    const topics = await requireTopic();
    const bounds = new Map<number, { from: bigint; to: bigint }>();
    for (const { partition, offset } of parsed.values()) {
      const current = bounds.get(partition);
      bounds.set(partition, {
        from: current && current.from < offset ? current.from : offset,
        to: current && current.to > offset + 1n ? current.to : offset + 1n,
      });
    }
    const wantedIds = new Set(parsed.keys());
    const found = new Map<string, StoredLetter>();
    const markers = await read(
      topics,
      (partition) => bounds.get(partition),
      (partition, message) => {
        const id = `${partition}:${message.offset}`;
        if (wantedIds.has(id)) found.set(id, { partition, message });
      },
    );
    const missing = [...wantedIds].filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw permanent(
        deadLetterAdminCodes.NOT_FOUND,
        `no dead letter at ${missing.join(', ')} in ${topic}`,
        undefined,
        { ids: missing },
      );
    }
    const letters = [...found.entries()]
      .sort(([, a], [, b]) => compareCoordinates(a, b))
      .map(([id, letter]) => ({ id, letter, handled: markerOf(markers, id, letter.message) }));
    return { topics, letters };
  }

  return { requireTopic, read, resolve };
}

/** A marker applies only to the letter it was written for (same timestamp). */
function markerOf(
  markers: Map<string, Marker>,
  id: string,
  message: KafkaMessage,
): HandledMarker | undefined {
  const marker = markers.get(id);
  if (!marker || marker.letterTimestamp !== message.timestamp) return undefined;
  return {
    action: marker.action,
    at: marker.at,
    ...(marker.replayedTo ? { replayedTo: marker.replayedTo } : {}),
  };
}

/** The companion topic `<dlq>.handled`: what was done to which letter. */
interface HandledLedger {
  /** Creates it on first use, with the dead-letter topic's retention. */
  ensure(topics: Set<string>): Promise<void>;
  mark(done: Done[]): Promise<void>;
}

function createHandledLedger(clients: DeadLetterClients, topic: string): HandledLedger {
  const handledTopic = handledTopicOf(topic);

  async function ensure(topics: Set<string>): Promise<void> {
    if (topics.has(handledTopic)) return;
    const admin = await clients.admin();
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    const retention = described.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms');
    try {
      await createTopicsWithLeaders(admin, {
        topics: [
          {
            topic: handledTopic,
            numPartitions: 1,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact,delete' },
              ...(retention?.configValue ? [{ name: 'retention.ms', value: retention.configValue }] : []),
            ],
          },
        ],
      });
    } catch (error) {
      // Another admin created it first.
      if (!(await existingTopics(clients)).has(handledTopic)) throw error;
    }
  }

  async function mark(done: Done[]): Promise<void> {
    if (done.length === 0) return;
    const producer = await clients.producer();
    await producer.send({
      topic: handledTopic,
      acks: -1,
      messages: done.map(({ id, message, marker }) => ({
        key: id,
        value: JSON.stringify({ ...marker, letterTimestamp: message.timestamp }),
      })),
    });
  }

  return { ensure, mark };
}

export function createDeadLetterAdmin(options: DeadLetterAdminOptions): DeadLetterAdmin {
  const { kafka, topic } = options;
  const handledTopic = handledTopicOf(topic);
  const clients = options.clients ?? createDeadLetterClients(kafka);
  const ownsClients = options.clients === undefined;
  const now = options.now ?? (() => new Date());
  const reader = createLetterReader(kafka, clients, topic, options.readTimeoutMs ?? 30_000);
  const ledger = createHandledLedger(clients, topic);

  return {
    topic,
    handledTopic,

    async list(listOptions = {}) {
      const limit = listOptions.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer`);
      const fromOffset = listOptions.fromOffset === undefined ? 0n : BigInt(listOptions.fromOffset);
      const topics = await reader.requireTopic();
      const stored: StoredLetter[] = [];
      const markers = await reader.read(
        topics,
        (_partition, _low, high) => ({ from: fromOffset, to: high }),
        (partition, message) => void stored.push({ partition, message }),
      );
      const letters: DeadLetterView[] = [];
      let more = false;
      for (const letter of stored.sort(compareCoordinates)) {
        const id = `${letter.partition}:${letter.message.offset}`;
        const handled = markerOf(markers, id, letter.message);
        if (handled && !listOptions.includeHandled) continue;
        if (letters.length === limit) {
          more = true;
          break;
        }
        letters.push(view(topic, letter, handled ?? null));
      }
      return { topic, letters, more };
    },

    async replay(ids) {
      const { topics, letters } = await reader.resolve(ids);
      const replayable = letters.filter((l) => !l.handled);
      const notReplayable = replayable
        .filter(({ letter }) => {
          const target = header(letter.message, deadLetterHeaders.originalTopic);
          return target === undefined || !topics.has(target);
        })
        .map(({ id }) => id);
      if (notReplayable.length > 0) {
        throw permanent(
          deadLetterAdminCodes.NOT_REPLAYABLE,
          `dead letters without an existing original topic cannot be replayed: ${notReplayable.join(', ')}`,
          undefined,
          { ids: notReplayable },
        );
      }
      if (replayable.length > 0) await ledger.ensure(topics);
      const producer = await clients.producer();
      const results = new Map<string, ActionResult>();
      const done: Done[] = [];
      try {
        for (const { id, letter } of replayable) {
          const record = replayRecord(topic, letter);
          const [sent] = await producer.send({ topic: record.topic, acks: -1, messages: [record.message] });
          const replayedTo = {
            topic: record.topic,
            partition: sent?.partition ?? record.message.partition ?? -1,
            offset: sent?.baseOffset ?? '-1',
          };
          done.push({
            id,
            message: letter.message,
            marker: { action: 'replayed', at: now().toISOString(), replayedTo },
          });
          results.set(id, { id, outcome: 'replayed', replayedTo });
        }
      } finally {
        // Mark what was replayed even when a later replay failed, so it is not replayed twice.
        await ledger.mark(done);
      }
      return letters.map(
        ({ id, handled }) =>
          results.get(id) ?? { id, outcome: 'already-handled', ...(handled ? { handled } : {}) },
      );
    },

    async drop(ids) {
      const { topics, letters } = await reader.resolve(ids);
      const droppable = letters.filter((l) => !l.handled);
      if (droppable.length > 0) await ledger.ensure(topics);
      const at = now().toISOString();
      await ledger.mark(
        droppable.map(({ id, letter }) => ({
          id,
          message: letter.message,
          marker: { action: 'dropped', at },
        })),
      );
      return letters.map(({ id, handled }) =>
        handled ? { id, outcome: 'already-handled', handled } : { id, outcome: 'dropped' },
      );
    },

    async close() {
      if (ownsClients) await clients.close();
    },
  };
}

function compareCoordinates(a: StoredLetter, b: StoredLetter): number {
  if (a.partition !== b.partition) return a.partition - b.partition;
  const [x, y] = [BigInt(a.message.offset), BigInt(b.message.offset)];
  return x < y ? -1 : x > y ? 1 : 0;
}

function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * A whole number from a header: our publisher writes decimal text; Spring Kafka's writes
 * partition as a 4-byte and offset and timestamp as 8-byte big-endian binary.
 */
function numericHeader(message: KafkaMessage, name: string): string | null {
  const value = message.headers?.[name];
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return null;
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  const text = bytes.toString('latin1');
  if (/^-?[0-9]+$/.test(text)) return text;
  if (bytes.length === 4) return String(bytes.readInt32BE(0));
  if (bytes.length === 8) return bytes.readBigInt64BE(0).toString();
  return null;
}

function isoOf(epochMs: string | null): string | null {
  if (epochMs === null) return null;
  const date = new Date(Number(epochMs));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function isDiagnostic(name: string): boolean {
  return diagnosticPrefixes.some((prefix) => name.startsWith(prefix));
}

function view(topic: string, letter: StoredLetter, handled: HandledMarker | null): DeadLetterView {
  const { message, partition } = letter;
  const text = (name: string): string | null => header(message, name) ?? null;
  const originalPartition = numericHeader(message, deadLetterHeaders.originalPartition);
  const attempts = numericHeader(message, deadLetterHeaders.attempts);
  const schemaIdHeader = numericHeader(message, deadLetterHeaders.schemaId);
  const schemaId = schemaIdHeader === null ? (schemaIdOf(message.value) ?? null) : Number(schemaIdHeader);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (isDiagnostic(name) || value === undefined) continue;
    headers[name] = (Array.isArray(value) ? value : [value]).map((v) => v.toString()).join(',');
  }
  const key = message.key;
  const keyText = key === null ? null : utf8(key);
  return {
    id: `${partition}:${message.offset}`,
    deadLetter: {
      topic,
      partition,
      offset: message.offset,
      timestamp: isoOf(message.timestamp) ?? message.timestamp,
    },
    original: {
      topic: text(deadLetterHeaders.originalTopic),
      partition: originalPartition === null ? null : Number(originalPartition),
      offset: numericHeader(message, deadLetterHeaders.originalOffset),
      timestamp: isoOf(numericHeader(message, deadLetterHeaders.originalTimestamp)),
    },
    group: text(deadLetterHeaders.originalConsumerGroup),
    error: {
      code: text(deadLetterHeaders.errorCode),
      category: text(deadLetterHeaders.failureCategory),
      class: text(deadLetterHeaders.exceptionClass),
      message: text(deadLetterHeaders.exceptionMessage),
    },
    schemaId,
    attempts: attempts === null ? null : Number(attempts),
    deadLetteredAt: text(deadLetterHeaders.deadLetteredAt),
    key: key === null ? null : (keyText ?? key.toString('base64')),
    keyEncoding: key !== null && keyText === undefined ? 'base64' : 'utf8',
    valueSize: message.value === null ? null : message.value.length,
    headers,
    handled,
  };
}

function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The record a replay sends: the original bytes and headers, back where they came from. */
function replayRecord(
  deadLetterTopic: string,
  letter: StoredLetter,
): {
  topic: string;
  message: { key: Buffer | null; value: Buffer | null; headers: IHeaders; partition?: number };
} {
  const { message, partition } = letter;
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(message.headers ?? {}))
    if (!isDiagnostic(name) && value !== undefined) headers[name] = value;
  headers[replayHeaders.replayedFrom] = `${deadLetterTopic}:${partition}:${message.offset}`;
  const group = header(message, deadLetterHeaders.originalConsumerGroup);
  if (group !== undefined) headers[replayHeaders.replayedForGroup] = group;
  const originalPartition = numericHeader(message, deadLetterHeaders.originalPartition);
  return {
    topic: header(message, deadLetterHeaders.originalTopic) ?? '',
    message: {
      key: message.key,
      value: message.value,
      headers,
      ...(originalPartition === null ? {} : { partition: Number(originalPartition) }),
    },
  };
}

function parseMarker(message: KafkaMessage): (HandledMarker & { letterTimestamp: string }) | undefined {
  if (message.value === null) return undefined;
  try {
    const value: unknown = JSON.parse(message.value.toString('utf8'));
    if (
      typeof value === 'object' &&
      value !== null &&
      'action' in value &&
      (value.action === 'replayed' || value.action === 'dropped') &&
      'at' in value &&
      typeof value.at === 'string' &&
      'letterTimestamp' in value &&
      typeof value.letterTimestamp === 'string'
    ) {
      const marker: HandledMarker & { letterTimestamp: string } = {
        action: value.action,
        at: value.at,
        letterTimestamp: value.letterTimestamp,
      };
      if ('replayedTo' in value && typeof value.replayedTo === 'object' && value.replayedTo !== null)
        marker.replayedTo = value.replayedTo as HandledMarker['replayedTo'];
      return marker;
    }
  } catch {
    // Not a marker we wrote: ignored.
  }
  return undefined;
}

interface Range {
  topic: string;
  partition: number;
  /** First offset wanted. */
  from: bigint;
  /** First offset not wanted (the high watermark at most). */
  to: bigint;
}

/**
 * Reads `[from, to)` of each range through a throwaway consumer group that never commits, and
 * is deleted afterwards. Partitions with nothing to read are sought to their end. The group is
 * named after the dead-letter topic (`<group>.dlq.reader-…`), so that a context's principal
 * needs no right on groups beyond its own names (platform/kafka-acls.ts).
 */
async function readRanges(
  kafka: Kafka,
  admin: Admin,
  deadLetterTopic: string,
  ranges: readonly Range[],
  timeoutMs: number,
  visit: (topic: string, partition: number, message: KafkaMessage) => void,
): Promise<void> {
  const remaining = new Map(
    ranges
      .filter((r) => r.from < r.to)
      .map((r) => [`${r.topic}\u0000${r.partition}`, { ...r, next: r.from }]),
  );
  if (remaining.size === 0) return;
  const groupId = `${deadLetterTopic}.reader-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    retry: { retries: 3 },
  });
  let finish: () => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  const seekAll = (): void => {
    try {
      for (const range of ranges)
        consumer.seek({ topic: range.topic, partition: range.partition, offset: range.from.toString() });
    } catch {
      // not joined yet: GROUP_JOIN seeks
    }
  };
  consumer.on(consumer.events.GROUP_JOIN, seekAll);
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(ranges.map((r) => r.topic))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = remaining.get(`${batch.topic}\u0000${batch.partition}`);
        if (!range) return;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          // A batch fetched before the seek took effect may come first: every offset only once.
          if (offset < range.next || offset >= range.to) continue;
          range.next = offset + 1n;
          visit(batch.topic, batch.partition, message);
        }
        if (BigInt(batch.lastOffset()) >= range.to - 1n) {
          remaining.delete(`${batch.topic}\u0000${batch.partition}`);
          if (remaining.size === 0) finish();
        }
      },
    });
    // Seeking only saves reading from the beginning (batches skip offsets before `from`).
    // On a broker still loading its group coordinator, kafkajs restarts the consumer and the
    // group does not exist yet when run() returns; it is sought again once it has joined.
    seekAll();
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              transient(
                errorCodes.BROKER_UNAVAILABLE,
                `reading ${[...remaining.values()].map((r) => `${r.topic}[${r.partition}]`).join(', ')} ` +
                  `did not reach the end within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

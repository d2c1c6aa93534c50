/**
 * Baseline lanes of the pipeline benchmark (issue 10): what the same machine, broker and store
 * do with nothing of ours in the way, so that every lane under test is read as a ratio against a
 * baseline measured in the same run (../shared/docs/PERFORMANCE.md). Each function runs its lane
 * ONCE and returns numbers; the orchestrator (bench/cli.ts) warms up, repeats and takes medians.
 *
 *   runB0(env, { records, recordBytes, partitions?, timeoutMs? })
 *     -> { producerRecordsPerSec, consumerRecordsPerSec, consumerRecordsPerSecInclJoin }
 *   runB1(env, { messages, messageBytes, partitions, batchSize, timeoutMs? })
 *     -> { messagesPerSec }
 *   runB1Latency(env, { ratePerSec, durationMs, messageBytes, partitions, warmupMs?, timeoutMs? })
 *     -> { p50Ms, p99Ms, p999Ms, messages, achievedRatePerSec, maxSendLagMs }
 *   runB1r(env, { messages, messageBytes, partitions, timeoutMs? })
 *     -> { messagesPerSec, messagesPerSecInclJoin, joinMs }
 *   runB2(env, { documents, documentBytes, batchSize, timeoutMs? })
 *     -> { bulkUpsertsPerSec, updateOnePerSec, bulkRoundTripsPerDocument, updateOneRoundTripsPerDocument }
 *
 * Every lane uses topic, group and database names of its own, derived from `env.prefix` plus a
 * per-call suffix (the orchestrator calls a lane many times with one prefix, and a deleted topic
 * cannot be re-created under the same name at once). Every lane deletes what it created, also
 * when it fails, and is bounded in time: past `timeoutMs` (default: generous for the size asked)
 * it throws a BaselineTimeoutError that says how far it got, instead of hanging.
 *
 * Where a lane starts and stops its clock is said at each function; in short: B0 is the Java
 * tools' own figures; B1 from the first send to the last message consumed (the consumer has
 * joined before); B1r from the relay's group join to the last message acknowledged on B; B2 from
 * the first write to the last acknowledged one. Set-up (topics, joins, pre-loading) is untimed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type KafkaMessage,
  type Message,
  type Producer,
} from 'kafkajs';
import { createTopicsWithLeaders } from '@contracts/provision';
import { kafkaClientSecurity, type KafkaSecurity } from '@runtime/kafka-security';
import { BSON, MongoClient, type AnyBulkWriteOperation, type Document } from 'mongodb';
import { percentile, sortedCopy } from './stats';

export interface BaselineEnv {
  /** e.g. ['127.0.0.1:19092'] */
  kafkaBrokers: string[];
  /** The kafkajs lanes' SASL and TLS (B0's Java tools run plaintext only). */
  kafkaSecurity?: KafkaSecurity;
  /** e.g. 'mongodb://127.0.0.1:17017/' */
  mongoUrl: string;
  /** The stack's Kafka jars (`<installDir>/kafka-<version>/libs`, kafka-tools included), for B0. */
  kafkaLibsDir: string;
  /** A java binary >= 17 (infra/stack/prerequisites.ts findJava), for B0. */
  java: string;
  /** Unique prefix of this run's topic, group and database names. */
  prefix: string;
  /** Short status updates for a live progress line. */
  progress?: (line: string) => void;
}

export interface B0Options {
  records: number;
  recordBytes: number;
  /** Default 6, the broker's num.partitions. */
  partitions?: number;
  timeoutMs?: number;
}

// Results are type aliases, not interfaces: a type alias is assignable to Record<string, number>,
// which is how the orchestrator takes medians of any lane's numbers.
export type B0Result = {
  /** ProducerPerformance's own summary: records/sec from its first send to its last ack. */
  producerRecordsPerSec: number;
  /**
   * ConsumerPerformance's `fetch.nMsg.sec`: records over the time after the group join. The
   * comparable figure for B1, whose consumer has joined before the clock starts.
   */
  consumerRecordsPerSec: number;
  /** ConsumerPerformance's `nMsg.sec`: the same, with the group join (rebalance) included. */
  consumerRecordsPerSecInclJoin: number;
};

export interface B1Options {
  messages: number;
  messageBytes: number;
  partitions: number;
  /** Messages per awaited `send` (our relay sends ~500). */
  batchSize: number;
  timeoutMs?: number;
}

export type B1Result = { messagesPerSec: number };

export interface B1LatencyOptions {
  /** The offered load; keep it below B1's throughput, or the percentiles measure queueing. */
  ratePerSec: number;
  /** How long the schedule runs, warm-up included. */
  durationMs: number;
  /** At least 16: the due time and the sequence number ride in the payload. */
  messageBytes: number;
  partitions: number;
  /** Messages due in the first warmupMs are sent and consumed but not counted; default min(1 s, duration/5). */
  warmupMs?: number;
  timeoutMs?: number;
}

export type B1LatencyResult = {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Messages counted in the percentiles (after the warm-up). */
  messages: number;
  /** Messages sent over the time the sender took; below ratePerSec means the hop did not keep up. */
  achievedRatePerSec: number;
  /** The worst delay between a message's due time and the send that carried it. */
  maxSendLagMs: number;
};

export interface B1rOptions {
  messages: number;
  messageBytes: number;
  partitions: number;
  timeoutMs?: number;
}

export type B1rResult = {
  /** N over the time from the relay's group join to the last batch acknowledged on topic B. */
  messagesPerSec: number;
  /** N over the time from `consumer.run()` to the same point: the join included. */
  messagesPerSecInclJoin: number;
  joinMs: number;
};

export interface B2Options {
  documents: number;
  /** Target BSON size of a document (ours are ~1-2 KB). */
  documentBytes: number;
  /** Statements per bulkWrite; at most 50 (see runB2 on FerretDB). */
  batchSize: number;
  timeoutMs?: number;
}

export type B2Result = {
  bulkUpsertsPerSec: number;
  updateOnePerSec: number;
  /** Commands the driver sent per document (its command monitoring): machine-independent. */
  bulkRoundTripsPerDocument: number;
  updateOneRoundTripsPerDocument: number;
};

/** A lane that did not finish in time; the message says how far it got. */
export class BaselineTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaselineTimeoutError';
  }
}

// ---------------------------------------------------------------------------------------------
// B0: Kafka's own Java perf tools
// ---------------------------------------------------------------------------------------------

/**
 * Kafka's ProducerPerformance then ConsumerPerformance on one fresh topic. Both figures are the
 * tools' own (their clocks exclude JVM start-up). The producer runs with the Java client's
 * defaults otherwise (idempotent, linger.ms=5 since Kafka 4.0, batch.size 16 KB), which is
 * what "the physical limit here" means: the best a tuned client gets from this broker.
 */
export async function runB0(env: BaselineEnv, o: B0Options): Promise<B0Result> {
  positive('records', o.records);
  positive('recordBytes', o.recordBytes);
  const partitions = o.partitions ?? 6;
  positive('partitions', partitions);
  return runLane(env, 'B0', o.timeoutMs ?? 120_000 + o.records, async (lane) => {
    const topic = lane.name('b0');
    const group = `${topic}-g`;
    const { admin } = await kafkaAdmin(env, lane, topic);
    await createTopics(admin, lane, [topic], partitions);
    lane.defer('delete group', () => deleteGroups(admin, [group]));

    lane.progress(`producing ${fmt(o.records)} x ${o.recordBytes} B (ProducerPerformance)`);
    lane.describe(() => 'ProducerPerformance still running');
    const produced = await runJava(env, lane, [
      'org.apache.kafka.tools.ProducerPerformance',
      ...['--topic', topic, '--num-records', String(o.records), '--record-size', String(o.recordBytes)],
      ...['--throughput', '-1', '--producer-props', `bootstrap.servers=${env.kafkaBrokers.join(',')}`],
      'acks=all',
    ]);
    // Progress lines ("N records sent, X records/sec ...") come every 5 s; only the summary
    // carries percentiles, and it comes last.
    const summary = /^(\d+) records sent, ([\d.]+) records\/sec .*50th/m.exec(produced);
    if (!summary) throw new Error(`B0: no ProducerPerformance summary in:\n${tail(produced)}`);
    if (Number(summary[1]) !== o.records) {
      throw new Error(`B0: ProducerPerformance sent ${summary[1]} of ${o.records} records`);
    }

    lane.progress(`consuming ${fmt(o.records)} (ConsumerPerformance)`);
    lane.describe(() => 'ConsumerPerformance still running');
    // Kafka 4 removed --broker-list; --bootstrap-server is the only way in. --timeout is the
    // longest gap between two fetched records before the tool gives up (default 10 s).
    const consumed = await runJava(env, lane, [
      'org.apache.kafka.tools.ConsumerPerformance',
      ...['--bootstrap-server', env.kafkaBrokers.join(','), '--topic', topic, '--group', group],
      ...['--messages', String(o.records), '--timeout', '30000'],
    ]);
    const stats = consumerPerformanceStats(consumed);
    // On its --timeout the tool only prints a warning and reports what it got.
    if (stats['data.consumed.in.nMsg'] !== o.records) {
      throw new Error(
        `B0: ConsumerPerformance read ${stats['data.consumed.in.nMsg']} of ${o.records} records:\n${tail(consumed)}`,
      );
    }
    return {
      producerRecordsPerSec: Number(summary[2]),
      consumerRecordsPerSec: stats['fetch.nMsg.sec'] ?? Number.NaN,
      consumerRecordsPerSecInclJoin: stats['nMsg.sec'] ?? Number.NaN,
    };
  });
}

/**
 * ConsumerPerformance prints a header and one line of comma-separated values:
 * `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
 * rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec`. Read by column name, so a
 * column added in a later Kafka does not shift the others.
 */
function consumerPerformanceStats(output: string): Record<string, number> {
  const lines = output.split('\n').map((line) => line.trim());
  const at = lines.findIndex((line) => line.startsWith('start.time,'));
  const header = lines[at]?.split(',').map((cell) => cell.trim());
  const values = lines[at + 1]?.split(',').map((cell) => cell.trim());
  if (at < 0 || header === undefined || values === undefined || header.length !== values.length) {
    throw new Error(`B0: no ConsumerPerformance summary in:\n${tail(output)}`);
  }
  return Object.fromEntries(header.map((name, i) => [name, Number(values[i])]));
}

/** Runs one Kafka tool class; resolves with its stdout, killed when the lane is aborted. */
function runJava(env: BaselineEnv, lane: Lane, args: readonly string[]): Promise<string> {
  // The classpath wildcard is expanded by java itself, not by a shell. A bounded heap, because
  // the machine is shared with the broker under test.
  const argv = ['-Xmx512m', '-cp', `${env.kafkaLibsDir}/*`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(env.java, argv, { stdio: ['ignore', 'pipe', 'pipe'], signal: lane.signal });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(
            `${args[0]} exited with ${code ?? signal}:\n${tail(stderr || stdout)}\n  (java ${argv.join(' ')})`,
          ),
        );
    });
  });
}

// ---------------------------------------------------------------------------------------------
// B1: the raw kafkajs hop
// ---------------------------------------------------------------------------------------------

/**
 * Opaque buffers produced in batches of `batchSize`, each batch awaited before the next (one
 * request in flight, like our relay: kafkajs has no linger, and concurrent sends on an
 * idempotent producer have lost messages in kafkajs before); acks -1 and an idempotent
 * producer, like ours. A consumer that joined before the clock started counts them in a no-op
 * eachBatch. The clock runs from the first send to the batch that brings the count to N.
 */
export async function runB1(env: BaselineEnv, o: B1Options): Promise<B1Result> {
  positive('messages', o.messages);
  positive('messageBytes', o.messageBytes);
  positive('partitions', o.partitions);
  positive('batchSize', o.batchSize);
  return runLane(env, 'B1', o.timeoutMs ?? kafkaTimeout(o.messages), async (lane) => {
    const topic = lane.name('b1');
    const { kafka, admin } = await kafkaAdmin(env, lane, topic);
    await createTopics(admin, lane, [topic], o.partitions);
    const producer = await connectedProducer(kafka, lane);
    const messages = opaqueMessages(o.messages, o.messageBytes);

    let consumed = 0;
    let lastAt = 0;
    const all = deferred<void>();
    lane.describe(() => `${fmt(consumed)} of ${fmt(o.messages)} consumed`);
    await joinedConsumer(kafka, admin, lane, `${topic}-g`, [topic], {
      // Nothing but counting: the handler under test elsewhere is measured against this one.
      eachBatch: async ({ batch }) => {
        consumed += batch.messages.length;
        lastAt = performance.now();
        lane.tick(`${fmt(consumed)}/${fmt(o.messages)} consumed`);
        if (consumed >= o.messages) all.resolve();
      },
    });

    const startedAt = performance.now();
    for (let i = 0; i < messages.length; i += o.batchSize) {
      lane.throwIfAborted();
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + o.batchSize) });
    }
    await lane.until(all.promise);
    return { messagesPerSec: o.messages / ((lastAt - startedAt) / 1000) };
  });
}

/**
 * The same hop at a fixed offered load (an open loop): message k is due at start + k/rate, the
 * sender wakes on that clock and sends whatever is due in one batch, without waiting for the
 * consumer. While a send is in flight, newly due messages wait for the next one (one request
 * in flight, as in runB1). The payload carries the message's DUE time, not the time of its
 * send: a sender that falls behind shows up in the latency rather than hiding it (no
 * coordinated omission). Latency = time the consumer's eachBatch sees it - due time, both on
 * this process's monotonic clock.
 */
export async function runB1Latency(env: BaselineEnv, o: B1LatencyOptions): Promise<B1LatencyResult> {
  positive('ratePerSec', o.ratePerSec);
  positive('durationMs', o.durationMs);
  positive('partitions', o.partitions);
  if (!Number.isInteger(o.messageBytes) || o.messageBytes < 16) {
    throw new RangeError(
      `messageBytes must be an integer >= 16 (due time and sequence), got ${o.messageBytes}`,
    );
  }
  const total = Math.floor((o.ratePerSec * o.durationMs) / 1000);
  if (total < 1) throw new RangeError('ratePerSec x durationMs schedules no message');
  const warmupMs = o.warmupMs ?? Math.min(1_000, o.durationMs / 5);
  const intervalMs = 1000 / o.ratePerSec;
  return runLane(env, 'B1 latency', o.timeoutMs ?? 60_000 + 2 * o.durationMs, async (lane) => {
    const topic = lane.name('b1l');
    const { kafka, admin } = await kafkaAdmin(env, lane, topic);
    await createTopics(admin, lane, [topic], o.partitions);
    const producer = await connectedProducer(kafka, lane);

    let scheduled = 0;
    let sent = 0;
    let maxSendLagMs = 0;
    // Indexed by sequence number, so that a redelivered message is not counted twice.
    const latency = new Float64Array(total).fill(Number.NaN);
    let received = 0;
    const all = deferred<void>();
    lane.describe(() => `${fmt(sent)} sent, ${fmt(received)} of ${fmt(total)} consumed`);
    await joinedConsumer(kafka, admin, lane, `${topic}-g`, [topic], {
      eachBatch: async ({ batch }) => {
        const now = performance.now();
        for (const message of batch.messages) {
          const value = message.value;
          if (value === null || value.length < 16) continue;
          const seq = value.readUInt32LE(8);
          if (seq < total && Number.isNaN(latency[seq] ?? 0)) {
            latency[seq] = now - value.readDoubleLE(0);
            received += 1;
          }
        }
        lane.tick(`${fmt(sent)} sent, ${fmt(received)}/${fmt(total)} consumed`);
        if (received >= total) all.resolve();
      },
    });

    const template = randomBytes(o.messageBytes);
    const message = (seq: number, dueAt: number): Message => {
      const value = Buffer.from(template);
      value.writeDoubleLE(dueAt, 0);
      value.writeUInt32LE(seq, 8);
      return { key: aggregateKey(seq), value };
    };
    let inFlight = false;
    const pending: { message: Message; dueAt: number }[] = [];
    const senderDone = deferred<number>();
    const startedAt = performance.now();

    const pump = (): void => {
      if (inFlight || pending.length === 0 || lane.signal.aborted) return;
      // Capped like our relay's batches; the rest goes in the next request.
      const batch = pending.splice(0, 500);
      const sendAt = performance.now();
      maxSendLagMs = Math.max(maxSendLagMs, sendAt - (batch[0]?.dueAt ?? sendAt));
      inFlight = true;
      producer.send({ topic, acks: -1, messages: batch.map((entry) => entry.message) }).then(
        () => {
          inFlight = false;
          sent += batch.length;
          if (sent >= total) senderDone.resolve(performance.now());
          pump();
        },
        (error: unknown) => lane.fail(error),
      );
    };
    const wake = (): void => {
      if (lane.signal.aborted) return;
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - startedAt) / intervalMs) + 1);
      for (; scheduled < due; scheduled += 1) {
        const dueAt = startedAt + scheduled * intervalMs;
        pending.push({ message: message(scheduled, dueAt), dueAt });
      }
      pump();
      // The next wake-up is the next message's due time (at least 1 ms away: timer resolution).
      if (scheduled < total) setTimeout(wake, Math.max(1, startedAt + scheduled * intervalMs - now));
    };
    wake();

    const lastSentAt = await lane.until(senderDone.promise);
    await lane.until(all.promise);
    const counted = latency.filter((_, seq) => seq * intervalMs >= warmupMs);
    const sorted = sortedCopy(counted);
    return {
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      p999Ms: percentile(sorted, 0.999),
      messages: sorted.length,
      achievedRatePerSec: total / ((lastSentAt - startedAt) / 1000),
      maxSendLagMs,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// B1r: the raw kafkajs relay
// ---------------------------------------------------------------------------------------------

/**
 * Topic A is pre-loaded with N messages (untimed). A consumer group then reads A from the
 * beginning and, per fetched batch, re-produces the same keys, values and headers to topic B
 * in one sendBatch (acks -1, idempotent producer), then resolves and commits the batch's
 * offsets, as runtime/consumer-runner.ts does. The clock runs from the group join (reported
 * separately) to the sendBatch acknowledgement that brings B to N messages; B's end offsets are
 * checked afterwards.
 */
export async function runB1r(env: BaselineEnv, o: B1rOptions): Promise<B1rResult> {
  positive('messages', o.messages);
  positive('messageBytes', o.messageBytes);
  positive('partitions', o.partitions);
  return runLane(env, 'B1r', o.timeoutMs ?? kafkaTimeout(2 * o.messages), async (lane) => {
    const source = lane.name('b1r-a');
    const target = lane.name('b1r-b');
    const { kafka, admin } = await kafkaAdmin(env, lane, source);
    await createTopics(admin, lane, [source, target], o.partitions);
    const producer = await connectedProducer(kafka, lane);

    const messages = opaqueMessages(o.messages, o.messageBytes);
    let loaded = 0;
    lane.describe(() => `pre-loading: ${fmt(loaded)} of ${fmt(o.messages)} on A`);
    for (let i = 0; i < messages.length; i += 500) {
      lane.throwIfAborted();
      await producer.send({ topic: source, acks: -1, messages: messages.slice(i, i + 500) });
      loaded = Math.min(messages.length, i + 500);
      lane.tick(`pre-loading A: ${fmt(loaded)}/${fmt(o.messages)}`);
    }

    let relayed = 0;
    let lastAt = 0;
    const all = deferred<void>();
    lane.describe(() => `${fmt(relayed)} of ${fmt(o.messages)} relayed to B`);
    const runAt = performance.now();
    const copy = (m: KafkaMessage): Message => ({ key: m.key, value: m.value, headers: m.headers });
    await joinedConsumer(kafka, admin, lane, `${source}-g`, [source], {
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
        const last = batch.messages[batch.messages.length - 1];
        if (last === undefined) return;
        await producer.sendBatch({
          acks: -1,
          topicMessages: [{ topic: target, messages: batch.messages.map(copy) }],
        });
        resolveOffset(last.offset);
        await commitOffsetsIfNecessary();
        relayed += batch.messages.length;
        lastAt = performance.now();
        lane.tick(`${fmt(relayed)}/${fmt(o.messages)} relayed`);
        if (relayed >= o.messages) all.resolve();
      },
    });
    await lane.until(all.promise);

    const onB = (await admin.fetchTopicOffsets(target)).reduce((sum, p) => sum + Number(p.high), 0);
    if (onB < o.messages) throw new Error(`B1r: ${onB} messages on B, ${o.messages} expected`);
    const joinedAt = lane.joinedAt ?? runAt;
    return {
      messagesPerSec: o.messages / ((lastAt - joinedAt) / 1000),
      messagesPerSecInclJoin: o.messages / ((lastAt - runAt) / 1000),
      joinMs: joinedAt - runAt,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// B2: raw state writes to the document store
// ---------------------------------------------------------------------------------------------

/**
 * N order-shaped documents written twice, into two empty collections of a fresh database: as
 * unordered bulkWrites of `batchSize` updateOne upserts by _id, then awaiting one updateOne
 * upsert per document. Each clock runs from the first write to the last acknowledged one.
 *
 * Every upsert targets a fresh _id, so each one inserts. That is deliberate, not a
 * simplification: FerretDB 1.24 deadlocks its whole server (shared by everyone on this
 * machine) on ONE update command with ~100 statements that match existing documents (~50 on
 * its PostgreSQL handler). So batches are capped at 50 statements AND no multi-statement
 * update here ever matches an existing document. The single-document lane writes fresh _ids
 * too, so that both lanes do the same work.
 */
export async function runB2(env: BaselineEnv, o: B2Options): Promise<B2Result> {
  positive('documents', o.documents);
  positive('documentBytes', o.documentBytes);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 50) {
    // Not clamped silently: a caller asking for 500 would otherwise read the figure as its own.
    throw new RangeError(
      `batchSize must be 1..50 (FerretDB deadlocks on larger updates), got ${o.batchSize}`,
    );
  }
  // 600 ms a document (both lanes together): a trial with 2,000 documents on a busy shared
  // FerretDB ran at 9/s bulk and 6/s one by one, ~290 ms a document in all.
  return runLane(env, 'B2', o.timeoutMs ?? 120_000 + 600 * o.documents, async (lane) => {
    const client = new MongoClient(env.mongoUrl, { monitorCommands: true, serverSelectionTimeoutMS: 10_000 });
    lane.defer('close the store client', () => client.close());
    await client.connect();
    let commands = 0;
    client.on('commandStarted', () => (commands += 1));
    const db = client.db(lane.databaseName('b2'));
    lane.defer('drop the database', () => db.dropDatabase());
    const shape = orderDocument(lane.name('o'), o.documentBytes);

    const bulk = await db.createCollection<OrderDocument>('bulk');
    let written = 0;
    lane.describe(() => `bulk: ${fmt(written)} of ${fmt(o.documents)} upserted`);
    lane.progress(`bulk upserts: ${fmt(o.documents)} x ${shape.bytes} B, batches of ${o.batchSize}`);
    const bulkCommands = commands;
    const bulkStart = performance.now();
    for (let i = 0; i < o.documents; i += o.batchSize) {
      lane.throwIfAborted();
      const operations: AnyBulkWriteOperation<OrderDocument>[] = [];
      for (let k = i; k < Math.min(o.documents, i + o.batchSize); k += 1) {
        const { _id, ...update } = shape.upsert(k);
        operations.push({ updateOne: { filter: { _id }, update, upsert: true } });
      }
      const result = await bulk.bulkWrite(operations, { ordered: false });
      // What the store says it did: an upsert that matched (not inserted) would be the
      // landmine above, and a silent no-op would inflate the figure.
      if (result.upsertedCount !== operations.length) {
        throw new Error(`B2: a bulk of ${operations.length} upserts inserted ${result.upsertedCount}`);
      }
      written += operations.length;
      lane.tick(`bulk: ${fmt(written)}/${fmt(o.documents)}`);
    }
    const bulkSeconds = (performance.now() - bulkStart) / 1000;
    const bulkRoundTrips = commands - bulkCommands;

    const single = await db.createCollection<OrderDocument>('single');
    written = 0;
    lane.describe(() => `updateOne: ${fmt(written)} of ${fmt(o.documents)} upserted`);
    lane.progress(`updateOne upserts: ${fmt(o.documents)}, one awaited per document`);
    const singleCommands = commands;
    const singleStart = performance.now();
    for (let k = 0; k < o.documents; k += 1) {
      lane.throwIfAborted();
      const { _id, ...update } = shape.upsert(k);
      const result = await single.updateOne({ _id }, update, { upsert: true });
      if (result.upsertedCount !== 1) throw new Error(`B2: updateOne upsert of ${_id} inserted nothing`);
      written += 1;
      lane.tick(`updateOne: ${fmt(written)}/${fmt(o.documents)}`);
    }
    const singleSeconds = (performance.now() - singleStart) / 1000;
    const singleRoundTrips = commands - singleCommands;

    for (const collection of [bulk, single]) {
      const count = await collection.countDocuments();
      if (count !== o.documents) throw new Error(`B2: ${collection.collectionName} holds ${count} documents`);
    }
    return {
      bulkUpsertsPerSec: o.documents / bulkSeconds,
      updateOnePerSec: o.documents / singleSeconds,
      bulkRoundTripsPerDocument: bulkRoundTrips / o.documents,
      updateOneRoundTripsPerDocument: singleRoundTrips / o.documents,
    };
  });
}

interface OrderDocument extends Document {
  _id: string;
}

interface OrderUpsert {
  _id: string;
  $set: Document;
  $setOnInsert: Document;
  $push: Document;
  $inc: Document;
}

/**
 * An order aggregate as our state writers keep it (runtime/idempotent-store.ts): state fields,
 * a status history, the applied-event markers; padded with a note to the requested BSON size.
 */
function orderDocument(
  tag: string,
  targetBytes: number,
): { bytes: number; upsert: (k: number) => OrderUpsert } {
  const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  const build = (k: number, note: string): OrderUpsert => {
    const id = `ORD-${tag}-${String(k).padStart(8, '0')}`;
    const eventId = `0b6f3c1e-8a4d-4c1b-9f7e-${k.toString(16).padStart(12, '0')}`;
    return {
      _id: id,
      $set: {
        status: 'PLACED',
        lines: [
          {
            productCode: 'PRD-BIBIMBAP',
            productName: '돌솥비빔밥',
            quantity: 1 + (k % 3),
            unitPrice: { amount: '12500.00', currency: 'KRW' },
          },
          {
            productCode: 'PRD-MANDU',
            productName: '김치만두',
            quantity: 1,
            unitPrice: { amount: '6000.00', currency: 'KRW' },
          },
        ],
        totalAmount: { amount: `${12500 * (1 + (k % 3)) + 6000}.00`, currency: 'KRW' },
        deliveryAddress: {
          recipientName: '김철수',
          phone: '010-1234-5678',
          postalCode: '06234',
          roadAddress: '서울특별시 강남구 테헤란로 123',
          detailAddress: '101동 1001호',
        },
        deliverySlot: { startsAt: at, endsAt: new Date(at.getTime() + 3_600_000) },
        history: [{ status: 'PLACED', at, eventId }],
        note,
        updatedAt: at,
      },
      $setOnInsert: { customerId: `CUST-${100_000 + (k % 5_000)}`, createdAt: at },
      $push: { _applied: eventId },
      $inc: { _appliedCount: 1 },
    };
  };
  const stored = (u: OrderUpsert): Document => ({
    _id: u._id,
    ...u.$set,
    ...u.$setOnInsert,
    _applied: Object.values(u.$push),
    _appliedCount: 1,
  });
  // Every document has the same size: ids and numbers are fixed width, the note is ASCII.
  const base = BSON.calculateObjectSize(stored(build(0, '')));
  const note = 'x'.repeat(Math.max(0, targetBytes - base));
  return { bytes: BSON.calculateObjectSize(stored(build(0, note))), upsert: (k) => build(k, note) };
}

// ---------------------------------------------------------------------------------------------
// Kafka plumbing shared by the lanes
// ---------------------------------------------------------------------------------------------

/** 60 s plus a millisecond a message: ~20x what this machine needs, short of hanging. */
function kafkaTimeout(messages: number): number {
  return 60_000 + messages;
}

async function kafkaAdmin(
  env: BaselineEnv,
  lane: Lane,
  clientTag: string,
): Promise<{ kafka: Kafka; admin: Admin }> {
  const kafka = new Kafka({
    clientId: clientTag.slice(0, 200),
    brokers: env.kafkaBrokers,
    ...kafkaClientSecurity(env.kafkaSecurity ?? {}),
    // kafkajs logs every retriable hiccup as an error (a leader moving just after a topic is
    // created); the last one is kept for a timeout's message rather than printed.
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => (lane.lastLog = entry.log.message),
  });
  const admin = kafka.admin();
  lane.defer('disconnect the admin', () => admin.disconnect());
  await admin.connect();
  return { kafka, admin };
}

async function createTopics(admin: Admin, lane: Lane, topics: string[], partitions: number): Promise<void> {
  // Registered before creating: a creation that timed out may still have happened. Only
  // topics that exist are deleted, because kafkajs retries an unknown topic for seconds.
  lane.defer(`delete ${topics.join(', ')}`, async () => {
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((topic) => existing.has(topic));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  });
  await createTopicsWithLeaders(admin, {
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    timeoutMs: 30_000,
  });
}

async function connectedProducer(kafka: Kafka, lane: Lane): Promise<Producer> {
  // As platform/host.ts builds ours.
  const producer = kafka.producer({
    idempotent: true,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  lane.defer('disconnect the producer', () => producer.disconnect());
  await producer.connect();
  return producer;
}

/**
 * A consumer of `topics` from the beginning, resolved once it has joined its group, so that the
 * join never falls inside a lane's clock. A crash that kafkajs will not restart fails the lane at
 * once rather than at its timeout.
 */
async function joinedConsumer(
  kafka: Kafka,
  admin: Admin,
  lane: Lane,
  groupId: string,
  topics: string[],
  run: Parameters<Consumer['run']>[0],
): Promise<Consumer> {
  // A short fetch wait: with minBytes 1 the broker answers as soon as data is there anyway;
  // the wait only bounds how long an idle fetch holds up disconnect.
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
  lane.defer(`delete group ${groupId}`, () => deleteGroups(admin, [groupId]));
  lane.defer('disconnect the consumer', () => consumer.disconnect());
  const joined = deferred<void>();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    lane.joinedAt ??= performance.now();
    joined.resolve();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) lane.fail(payload.error);
    else lane.progress(`consumer restarting after: ${payload.error.message}`);
  });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run(run);
  await lane.until(joined.promise);
  return consumer;
}

/** A group that never committed does not exist; that is as good as deleted. */
async function deleteGroups(admin: Admin, groups: string[]): Promise<void> {
  try {
    await admin.deleteGroups(groups);
  } catch (error) {
    const failures: unknown[] =
      error instanceof Error && 'groups' in error && Array.isArray(error.groups) ? error.groups : [];
    const notFound = failures.every(
      (group) =>
        typeof group === 'object' &&
        group !== null &&
        'error' in group &&
        group.error instanceof Error &&
        'type' in group.error &&
        group.error.type === 'GROUP_ID_NOT_FOUND',
    );
    if (failures.length === 0 || !notFound) throw error;
  }
}

/**
 * N messages of our event size: distinct keys shaped like our aggregate ids (so the default
 * partitioner spreads them as it spreads ours), one shared opaque value (kafkajs copies it
 * into each request; its content does not matter without compression).
 */
function opaqueMessages(count: number, bytes: number): Message[] {
  const value = randomBytes(bytes);
  return Array.from({ length: count }, (_, i) => ({ key: aggregateKey(i), value }));
}

function aggregateKey(i: number): string {
  return `ORD-20260102-${String(i).padStart(6, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// A lane's scope: names, clean-up, time bound, progress
// ---------------------------------------------------------------------------------------------

interface Lane {
  readonly signal: AbortSignal;
  /** A topic/group/collection-safe name unique to this call: `<prefix>-<what>-<suffix>`. */
  name(what: string): string;
  /** The same, as a database name (FerretDB and MongoDB allow fewer characters). */
  databaseName(what: string): string;
  /** Registers a clean-up step; steps run last-registered first, each bounded, whatever happened. */
  defer(what: string, step: () => Promise<unknown>): void;
  /** Fails the lane now (a send that failed in the background, a consumer crash). */
  fail(error: unknown): void;
  throwIfAborted(): void;
  /** The promise, or the abort reason once the lane is aborted: no wait outlives its lane. */
  until<T>(promise: Promise<T>): Promise<T>;
  /** How far the lane got, for the timeout's message. */
  describe(state: () => string): void;
  progress(line: string): void;
  /** A progress line at most every 500 ms, for counters. */
  tick(line: string): void;
  /** When a consumer of the lane first joined its group. */
  joinedAt: number | undefined;
  lastLog: string | undefined;
}

let laneCalls = 0;

async function runLane<T>(
  env: BaselineEnv,
  title: string,
  timeoutMs: number,
  body: (lane: Lane) => Promise<T>,
): Promise<T> {
  positive('timeoutMs', timeoutMs);
  laneCalls += 1;
  // The counter separates calls in this process; the random part separates processes that were
  // given the same prefix by mistake.
  const suffix = `${laneCalls}${randomBytes(3).toString('hex')}`;
  const prefix = env.prefix.replace(/[^A-Za-z0-9._-]/g, '-');
  const controller = new AbortController();
  const steps: { what: string; step: () => Promise<unknown> }[] = [];
  let failLane: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (failLane = reject));
  const aborted = new Promise<never>((_, reject) =>
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
  );
  aborted.catch(() => undefined);
  let state = (): string => 'setting up';
  let lastTick = 0;
  const say = (line: string): void => env.progress?.(`${title}: ${line}`);
  const lane: Lane = {
    signal: controller.signal,
    name: (what) => `${prefix}-${what}-${suffix}`,
    databaseName: (what) => `${prefix}_${what}_${suffix}`.replace(/[^A-Za-z0-9_]/g, '_').slice(-63),
    defer: (what, step) => void steps.push({ what, step }),
    fail: (error) => failLane(error),
    throwIfAborted: () => controller.signal.throwIfAborted(),
    until: (promise) => Promise.race([promise, aborted]),
    describe: (describe) => (state = describe),
    progress: say,
    tick: (line) => {
      const now = performance.now();
      if (now - lastTick < 500) return;
      lastTick = now;
      say(line);
    },
    joinedAt: undefined,
    lastLog: undefined,
  };
  const timer = setTimeout(() => {
    const log = lane.lastLog === undefined ? '' : `; last kafkajs error: ${lane.lastLog}`;
    failLane(new BaselineTimeoutError(`${title} did not finish within ${timeoutMs} ms (${state()}${log})`));
  }, timeoutMs);
  // Neither may reject unobserved: after a timeout the body is abandoned and fails on closed clients.
  failed.catch(() => undefined);
  const work = body(lane);
  work.catch(() => undefined);

  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await Promise.race([work, failed]) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  clearTimeout(timer);
  // Stops the clocks, loops and child processes of an abandoned body before its clients close.
  controller.abort(outcome.ok ? new Error(`${title} finished`) : outcome.error);
  if (!outcome.ok) {
    // An abandoned body stops at its next check, but a write it has in flight still lands:
    // dropping a database under a pending bulk write lets the write re-create it. So the
    // clean-up waits for the body to settle (bounded: a hung store must not hang us too).
    const settled = await bounded(work.then(settle, settle), 30_000, `${title}: the abandoned lane`).catch(
      () => false,
    );
    if (!settled) say('the abandoned lane did not stop within 30 s; cleaning up anyway');
  }
  const cleanupErrors: string[] = [];
  for (const { what, step } of steps.reverse()) {
    try {
      await bounded(step(), 30_000, `${title}: clean-up step '${what}'`);
    } catch (error) {
      cleanupErrors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (cleanupErrors.length > 0) {
    const failure = outcome.ok ? '' : ` after failing (${messageOf(outcome.error)})`;
    say(`clean-up failed${failure}: ${cleanupErrors.join('; ')}`);
    // Something left behind on the shared stack must not pass unnoticed, even with a result.
    throw new Error(`${title}: clean-up failed${failure}: ${cleanupErrors.join('; ')}`, {
      cause: outcome.ok ? undefined : outcome.error,
    });
  }
  if (!outcome.ok) throw outcome.error;
  say('done');
  return outcome.value;
}

async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BaselineTimeoutError(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const settle = (): boolean => true;

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function positive(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

const fmt = (n: number): string => n.toLocaleString('en-US');

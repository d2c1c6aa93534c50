import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { classify, type PlatformError } from './errors';
import { replayedForGroupHeader, type PublishDeadLetter } from './dead-letters';
import type { ReadinessReport } from './http';
import type { Logger } from './log';
import {
  dueAtOf,
  originOf,
  retryGroupName,
  retryLevelOf,
  retryRecord,
  retryTopicName,
  retryTopicNames,
} from './retry-topics';

/**
 * The consumer runner: one consumer group per bounded context. It consumes in batches, one
 * partition at a time (so per-key order holds), drops what the filter policy rejects before
 * decoding (a record without our headers is judged on what it says it is, see `identify`),
 * hands decoded events to the handler in bulk, and resolves an offset only after the
 * handler's state write has returned. Transient faults are retried with back-off,
 * forever, never dead-lettered; permanent ones go to the dead-letter topic after a few
 * attempts, and the partition keeps flowing.
 */
export interface Received<E> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: IHeaders;
  /** Broker timestamp, epoch milliseconds. */
  timestamp: number;
  event: E;
}

export interface HandleOutcome {
  /** Events that had already been applied (found by their dedup marker). */
  duplicates: number;
}

export interface ConsumerDefinition<E> {
  group: string;
  topics: readonly string[];
  /** Evaluated on headers before decoding; `false` means filtered: committed and counted. */
  accepts?: (headers: IHeaders) => boolean;
  /**
   * For records whose headers `accepts` cannot judge: a record written by another client has
   * none of ours. `lacks` names such records; `learn` finds the headers from the record itself
   * without decoding it (the event type from its schema id), and `accepts` then judges the
   * record on them as on its own. A record `learn` cannot place fails like an undecodable one
   * (permanent: dead-lettered with the reason; transient: retried), so nothing is ever filtered
   * out unseen.
   */
  identify?: {
    lacks(headers: IHeaders): boolean;
    learn(message: KafkaMessage): Promise<IHeaders>;
  };
  decode(message: KafkaMessage, topic: string): Promise<E>;
  /** Applies a batch idempotently; must be durable when it resolves. */
  handle(batch: readonly Received<E>[]): Promise<HandleOutcome | void>;
  /**
   * Delays of the non-blocking retry levels (`<group>.retry.<n>` topics, which must exist)
   * for handler failures before they are dead-lettered; none by default.
   */
  retryDelaysMs?: readonly number[];
  /** When the event happened, for the end-to-end latency metric. */
  describe?(event: E): { type: string; occurredAt: number };
}

/** What the runner reports; `metered` adapts it to Prometheus, tests read it directly. */
export interface RunnerObserver {
  consumed(topic: string, count: number): void;
  filtered(topic: string): void;
  processed(topic: string, count: number, seconds: number): void;
  duplicates(topic: string, count: number): void;
  retried(topic: string, error: PlatformError): void;
  deadLettered(topic: string, error: PlatformError): void;
  batch(topic: string, seconds: number): void;
  applied(eventType: string, latencySeconds: number): void;
  rebalanced(): void;
  crashed(): void;
}

export interface RunnerOptions {
  kafka: Kafka;
  deadLetter: PublishDeadLetter;
  observer: RunnerObserver;
  log: Logger;
  fromBeginning?: boolean;
  /** Attempts for a permanent failure before the message is dead-lettered. */
  permanentAttempts?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Crashes kafkajs may restart from before the runner gives up (and `onFatal` runs). */
  maxRestarts?: number;
  /** Called once when the consumer cannot go on; the composition root exits non-zero. */
  onFatal?: (error: Error, group: string) => void;
  /** A consumer that makes no progress for this long while lag > 0 is reported stuck. */
  stuckAfterMs?: number;
  /** Caps a batch's size per partition (kafkajs default 1 MiB). */
  maxBytesPerPartition?: number;
  /** Fault injection for tests: runs after a batch's writes are durable, before its offsets are committed. */
  afterApplied?: () => Promise<void>;
  /** The group session (kafkajs default 30 s); a handler outlasting it is kept alive by heartbeats. */
  sessionTimeoutMs?: number;
  /** Publishes to the retry topics; required when the definition has `retryDelaysMs`. */
  retryProducer?: Producer;
}

/** A consumer group the runner reads, and the member id the broker gave it at its last join. */
export interface GroupMembership {
  readonly group: string;
  readonly topics: readonly string[];
  /** Undefined before the first join and after stop. */
  readonly memberId: string | undefined;
}

export interface ConsumerRunner {
  readonly group: string;
  start(): Promise<void>;
  /** Lets the batch in hand finish (its offsets are committed), then leaves the group. */
  stop(): Promise<void>;
  /**
   * What this process believes; `lag` is the fetch position's distance to the log end as of the
   * last batch (for the stuck watchdog). The broker's view is `memberships` plus
   * `consumer-lag.ts` and `readiness.ts`.
   */
  status(): { joined: boolean; stuck: boolean; lag: number; crashed: boolean };
  /** Every group this runner reads (the context's, and its retry companion's if any). */
  memberships(): readonly GroupMembership[];
}

class StopRequested extends Error {}

/**
 * A message that can be neither applied nor set aside (its dead letter or retry record was
 * refused for good: too large for the topic, not authorised...). Going on would lose it, and
 * the same batch would fail the same way on every retry and every restart, so kafkajs is told
 * not to retry (it reads `retriable`, and restarts a crashed consumer only when the deepest
 * cause is retriable): the consumer crashes for good and `onFatal` ends the process, whose
 * supervisor can restart it once a person has looked. The offset is not committed.
 */
class CannotContinue extends Error {
  readonly retriable = false;
  constructor(group: string, offset: string, error: PlatformError) {
    const what = `${group}: the message at offset ${offset} can be neither applied nor set aside`;
    super(`${what}: ${error.message}`, { cause: error });
    this.name = 'CannotContinue';
  }
}

/** The order (or other aggregate) a record is about: its correlation id header, else its key. */
function correlationOf(
  headers: IHeaders | undefined,
  key: Buffer | string | null | undefined,
): string | undefined {
  const header = headers?.['correlation-id'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined) return value.toString();
  return key === null || key === undefined ? undefined : key.toString();
}

/** The distinct correlation ids of a run of events (a few, for a log line). */
function correlationIdsOf(items: readonly Received<unknown>[]): (string | undefined)[] {
  return [...new Set(items.map((item) => correlationOf(item.headers, item.key)))].slice(0, 20);
}

export function createConsumerRunner<E>(
  definition: ConsumerDefinition<E>,
  options: RunnerOptions,
): ConsumerRunner {
  const delays = definition.retryDelaysMs ?? [];
  if (delays.length === 0) return createGroupRunner(definition, options, definition.group);
  if (!options.retryProducer)
    throw new Error(`${definition.group}: retryDelaysMs needs options.retryProducer`);
  // The companion reads the retry levels in a group of its own, so that waiting for a
  // message to come due never holds the original topics' partitions.
  const main = createGroupRunner(definition, options, definition.group);
  const companion = createGroupRunner(
    {
      ...definition,
      group: retryGroupName(definition.group),
      topics: retryTopicNames(definition.group, delays),
    },
    options,
    definition.group,
  );
  return {
    group: definition.group,
    start: async () => {
      await Promise.all([main.start(), companion.start()]);
    },
    stop: async () => {
      await Promise.all([main.stop(), companion.stop()]);
    },
    status: () => {
      const [a, b] = [main.status(), companion.status()];
      return {
        joined: a.joined && b.joined,
        stuck: a.stuck || b.stuck,
        lag: a.lag + b.lag,
        crashed: a.crashed || b.crashed,
      };
    },
    memberships: () => [...main.memberships(), ...companion.memberships()],
  };
}

/**
 * How long an idle fetch waits at the broker for records (see `kafka.consumer` below). Measured
 * on two cores, an idle every-context process: 5 s (kafkajs's default) 5.2-5.6% of a core and a
 * drain of up to 5 s; 2 s 4.7-5.8% and up to 2 s; 1 s 7.6-7.8%, the idle fetches adding up.
 */
const idleFetchWaitMs = 2_000;

/** One consumer group; `ownerGroup` is the context's, whose retry and dead-letter topics it uses. */
function createGroupRunner<E>(
  definition: ConsumerDefinition<E>,
  options: RunnerOptions,
  ownerGroup: string,
): ConsumerRunner {
  const { kafka, deadLetter, observer } = options;
  const permanentAttempts = options.permanentAttempts ?? 3;
  const backoff = options.backoff ?? { initialMs: 200, maxMs: 30_000 };
  const maxRestarts = options.maxRestarts ?? 10;
  const stuckAfterMs = options.stuckAfterMs ?? 60_000;
  const log = options.log.child({ group: definition.group });
  const meantForThisGroup = forGroup(definition.group);
  let restarts = 0;
  const state = {
    joined: false,
    crashed: false,
    stuck: false,
    lastProgressAt: Date.now(),
    memberId: undefined as string | undefined,
  };
  const lagByPartition = new Map<string, number>();
  // kafkajs only sends a heartbeat once its interval (a third of the session) has passed.
  const heartbeatEveryMs = Math.max(500, Math.floor((options.sessionTimeoutMs ?? 30_000) / 6));
  let watchdog: NodeJS.Timeout | undefined;

  const consumer: Consumer = kafka.consumer({
    groupId: definition.group,
    // kafkajs's stop() waits for the fetch in flight, and an idle fetch is a long poll of
    // maxWaitTimeInMs: with its default (5 s) every drain of an idle process, every SIGTERM and
    // every rolling restart, waited out up to 5 s of it. Records still arrive as soon as the
    // broker has them, whatever the wait.
    maxWaitTimeInMs: idleFetchWaitMs,
    ...(options.maxBytesPerPartition ? { maxBytesPerPartition: options.maxBytesPerPartition } : {}),
    ...(options.sessionTimeoutMs
      ? {
          sessionTimeout: options.sessionTimeoutMs,
          // kafkajs's default (3 s) unless the session is shorter than 9 s: members learn of a
          // rebalance on their next heartbeat, so a longer interval slows every rebalance.
          heartbeatInterval: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 3)),
        }
      : {}),
    retry: {
      // kafkajs restarts a crashed consumer on retriable errors; bound it so a consumer that
      // cannot recover ends the process (a supervisor restarts it) instead of looping.
      restartOnFailure: async (error) => {
        restarts += 1;
        log.warn('consumer crashed; restarting', { error, restarts });
        return restarts <= maxRestarts;
      },
    },
  });

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    state.joined = true;
    state.memberId = payload.memberId;
    observer.rebalanced();
    log.info('joined group');
  });
  consumer.on(consumer.events.REBALANCING, () => {
    state.joined = false;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    observer.crashed();
    if (!payload.restart) {
      state.crashed = true;
      log.error('consumer crashed for good', { error: payload.error });
      options.onFatal?.(payload.error, definition.group);
    }
  });

  const totalLag = (): number => [...lagByPartition.values()].reduce((sum, lag) => sum + lag, 0);

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const started = process.hrtime.bigint();
    const stopping = (): boolean => !isRunning() || isStale();
    observer.consumed(topic, batch.messages.length);

    /** Waits without losing the group: heartbeats every second, and gives up when stopping. */
    const waitUntil = async (until: number): Promise<void> => {
      while (Date.now() < until) {
        if (stopping()) throw new StopRequested();
        await heartbeat();
        await sleep(Math.min(1_000, until - Date.now()));
      }
    };

    const wait = async (attempt: number): Promise<void> => {
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 20));
      await waitUntil(Date.now() + delay * (0.8 + Math.random() * 0.4));
    };

    /** Retries transient faults forever (while running), permanent ones a few times. */
    const withRetry = async <T>(
      what: () => Promise<T>,
      about: Record<string, unknown> = {},
    ): Promise<{ ok: true; value: T } | { ok: false; error: PlatformError; attempts: number }> => {
      for (let attempt = 1; ; attempt += 1) {
        if (stopping()) throw new StopRequested();
        try {
          return { ok: true, value: await what() };
        } catch (raw) {
          if (raw instanceof StopRequested) throw raw;
          const error = classify(raw);
          if (error.category === 'permanent' && attempt >= permanentAttempts)
            return { ok: false, error, attempts: attempt };
          observer.retried(topic, error);
          log.warn('retrying after failure', {
            topic,
            partition,
            ...about,
            code: error.code,
            category: error.category,
            attempt,
            error,
          });
          await wait(attempt);
        }
      }
    };

    const delays = definition.retryDelaysMs ?? [];

    /** Handler failures go to the next retry level while there is one; then, and for
     *  undecodable messages at once, to the owner group's dead-letter topic. */
    const sendToDeadLetters = async (
      message: KafkaMessage,
      error: PlatformError,
      attempts: number,
      retryable = false,
    ): Promise<void> => {
      const origin = originOf(message, topic, partition);
      const level = retryLevelOf(message);
      const nextDelay = delays[level];
      if (retryable && nextDelay !== undefined && options.retryProducer) {
        const retryTopic = retryTopicName(ownerGroup, level + 1);
        const record = retryRecord(message, origin, level + 1, nextDelay, error, Date.now());
        const producer = options.retryProducer;
        const sent = await withRetry(
          () => producer.send({ topic: retryTopic, acks: -1, messages: [record] }),
          { offset: message.offset, correlationId: correlationOf(message.headers, message.key) },
        );
        if (!sent.ok) throw new CannotContinue(definition.group, message.offset, sent.error);
        observer.retried(topic, error);
        log.warn('sent a failed message to a retry topic', {
          topic,
          offset: message.offset,
          correlationId: correlationOf(message.headers, message.key),
          retryTopic,
          code: error.code,
          reason: error.message,
        });
        return;
      }
      // Publishing the dead letter is itself retried as a transient operation.
      const published = await withRetry(() =>
        deadLetter({
          topic: origin.topic,
          partition: origin.partition,
          message: { ...message, offset: origin.offset },
          group: ownerGroup,
          error,
          attempts: attempts + level,
        }),
      );
      if (!published.ok) throw new CannotContinue(definition.group, message.offset, published.error);
      observer.deadLettered(topic, error);
      log.warn('dead-lettered a message', {
        topic,
        partition,
        offset: message.offset,
        correlationId: correlationOf(message.headers, message.key),
        code: error.code,
        reason: error.message,
        deadLetterTopic: published.value,
      });
    };

    /**
     * Runs handler work while heartbeating in the background, so a batch on a slow store never
     * outlives the session: the group keeps this member, nothing is handed to another one, and
     * nothing is processed twice. A heartbeat that fails (a rebalance began) is left to the
     * next foreground heartbeat, which ends the batch.
     */
    const alive = async <T>(work: () => Promise<T>): Promise<T> => {
      const beat = setInterval(() => void heartbeat().catch(() => undefined), heartbeatEveryMs);
      try {
        return await work();
      } finally {
        clearInterval(beat);
      }
    };

    const apply = async (items: Received<E>[]): Promise<void> => {
      const handlerStarted = process.hrtime.bigint();
      const whole = await alive(() =>
        withRetry(() => definition.handle(items), {
          events: items.length,
          correlationIds: correlationIdsOf(items),
        }),
      );
      if (whole.ok) {
        recordApplied(items, whole.value, handlerStarted);
        return;
      }
      // A permanent failure of the batch: apply one by one to find the poison message(s).
      // Re-applying the others is harmless: handlers are idempotent.
      for (const item of items) {
        const single = await alive(() =>
          withRetry(() => definition.handle([item]), {
            offset: item.offset,
            correlationId: correlationOf(item.headers, item.key),
          }),
        );
        if (single.ok) recordApplied([item], single.value, process.hrtime.bigint());
        else {
          const original = batch.messages.find((m) => m.offset === item.offset);
          if (original) await sendToDeadLetters(original, single.error, single.attempts, true);
        }
      }
    };

    const recordApplied = (items: Received<E>[], outcome: HandleOutcome | void, since: bigint): void => {
      observer.processed(topic, items.length, seconds(since));
      if (outcome && outcome.duplicates > 0) observer.duplicates(topic, outcome.duplicates);
      const now = Date.now();
      for (const item of items) {
        const described = definition.describe?.(item.event);
        if (described) observer.applied(described.type, Math.max(0, now - described.occurredAt) / 1000);
        // A line per event, at debug: `info` stays readable at any rate.
        log.debug('applied an event', {
          topic: item.topic,
          partition: item.partition,
          offset: item.offset,
          type: described?.type,
          correlationId: correlationOf(item.headers, item.key),
        });
      }
    };

    // Offsets are resolved strictly in order: a run of decoded events is applied before a
    // dead letter that follows it is published, so a commit never skips unapplied work.
    let run: Received<E>[] = [];
    let runEnd: string | undefined;
    const flush = async (): Promise<void> => {
      if (run.length > 0) {
        await apply(run);
        await options.afterApplied?.();
      }
      if (runEnd !== undefined) resolveOffset(runEnd);
      run = [];
      runEnd = undefined;
      await commitOffsetsIfNecessary();
      await heartbeat();
      state.lastProgressAt = Date.now();
    };

    const identify = definition.identify;
    try {
      for (const message of batch.messages) {
        if (stopping()) throw new StopRequested();
        // Another group's replay is skipped before anything else: that group alone applies it.
        let headers = message.headers ?? {};
        if (meantForThisGroup(headers) && identify?.lacks(headers)) {
          const learned = await withRetry(() => identify.learn(message), {
            offset: message.offset,
            correlationId: correlationOf(message.headers, message.key),
          });
          if (!learned.ok) {
            await flush();
            await sendToDeadLetters(message, learned.error, learned.attempts);
            resolveOffset(message.offset);
            continue;
          }
          headers = { ...headers, ...learned.value };
        }
        if (!meantForThisGroup(headers) || (definition.accepts && !definition.accepts(headers))) {
          observer.filtered(topic);
          runEnd = message.offset;
          continue;
        }
        const due = dueAtOf(message);
        if (due > Date.now()) {
          // A retry level is in due-time order: nothing behind this message is due earlier.
          await flush();
          await waitUntil(due);
        }
        const decoded = await withRetry(() => definition.decode(message, topic), {
          offset: message.offset,
          correlationId: correlationOf(message.headers, message.key),
        });
        if (decoded.ok) {
          const origin = originOf(message, topic, partition);
          run.push({
            topic: origin.topic,
            partition: origin.partition,
            offset: message.offset,
            key: message.key ? message.key.toString('utf8') : null,
            headers: message.headers ?? {},
            timestamp: Number(message.timestamp),
            event: decoded.value,
          });
          runEnd = message.offset;
        } else {
          await flush();
          await sendToDeadLetters(message, decoded.error, decoded.attempts);
          resolveOffset(message.offset);
        }
      }
      await flush();
    } catch (error) {
      // Stopping mid-batch: what was resolved is committed, the rest comes again.
      if (error instanceof StopRequested) return;
      throw error;
    } finally {
      lagByPartition.set(`${topic}:${partition}`, Number(batch.offsetLag()));
      observer.batch(topic, seconds(started));
    }
  }

  /**
   * Subscribes, waiting (bounded) while the broker does not know a topic yet: just after topics
   * are created, a KRaft broker can still answer "does not host this topic-partition" (a
   * retriable error, seen on a loaded CI machine), and kafkajs's subscribe fails at once on it.
   */
  async function subscribeOnceKnown(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await consumer.subscribe({
          topics: [...definition.topics],
          fromBeginning: options.fromBeginning ?? true,
        });
        return;
      } catch (error) {
        if (attempt >= 8 || classify(error).category !== 'transient') throw error;
        log.warn('subscribing failed; retrying', { attempt, error });
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** (attempt - 1), 2_000)));
      }
    }
  }

  return {
    group: definition.group,
    async start() {
      await consumer.connect();
      await subscribeOnceKnown();
      await consumer.run({ eachBatchAutoResolve: false, autoCommit: true, eachBatch });
      watchdog = setInterval(
        () => {
          const idle = Date.now() - state.lastProgressAt;
          const stuck = totalLag() > 0 && idle > stuckAfterMs;
          if (stuck && !state.stuck)
            log.error('consumer is stuck: lag > 0 and no progress', { lag: totalLag(), idleMs: idle });
          state.stuck = stuck;
        },
        Math.min(5_000, stuckAfterMs),
      );
      watchdog.unref();
    },
    async stop() {
      if (watchdog) clearInterval(watchdog);
      // kafkajs's stop() waits for the running batch, whose resolved offsets are then
      // committed; disconnect() alone does not commit.
      await consumer.stop();
      await consumer.disconnect();
      state.joined = false;
      state.memberId = undefined;
    },
    status: () => ({ joined: state.joined, stuck: state.stuck, lag: totalLag(), crashed: state.crashed }),
    memberships: () => [{ group: definition.group, topics: definition.topics, memberId: state.memberId }],
  };
}

/**
 * A dead letter replayed to its original topic is read by every group on that topic, but
 * only the group that failed on it should apply it again; the others skip it like a
 * filtered message (they applied the original already).
 */
function forGroup(group: string) {
  return (headers: IHeaders | undefined): boolean => {
    const target = headers?.[replayedForGroupHeader];
    return target === undefined || target.toString() === group;
  };
}

/**
 * What the process itself knows of its consumers' readiness: joined, not crashed, not stuck.
 * `/ready` adds the broker's and the store's view (`readiness.ts`).
 */
export function readinessOf(runners: readonly ConsumerRunner[]): ReadinessReport {
  const reasons = runners.flatMap((runner) => {
    const { joined, stuck, crashed } = runner.status();
    if (crashed) return [`consumer group ${runner.group} crashed`];
    if (stuck) return [`consumer group ${runner.group} is stuck with lag`];
    if (!joined) return [`consumer group ${runner.group} has not joined (or is rebalancing)`];
    return [];
  });
  return { ready: reasons.length === 0, reasons };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

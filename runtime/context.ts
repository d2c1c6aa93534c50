/**
 * What a bounded context is to the process that hosts it: HTTP routers, consumer runners and the
 * collections whose outboxes the relay drains. Built by a factory from the services the
 * composition root creates once per process, so one process can host one context or all of them
 * with the same code.
 */
import type Router from '@koa/router';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Collection, Db } from 'mongodb';
import type { Registry } from 'prom-client';
import type { EventType } from '@contracts/generated';
import type { TopicName } from '@contracts/topics';
import { randomUUID } from 'node:crypto';
import type { AggregateStore, Execution } from './aggregate-store';
import type { Refusal } from './decider';
import { classify, errorCodes, permanent, PlatformError, ProblemError, validationProblem } from './errors';
import { compilePolicy } from './filter-policy';
import {
  createConsumerRunner,
  type ConsumerRunner,
  type Received,
  type RunnerOptions,
} from './consumer-runner';
import type { PublishDeadLetter } from './dead-letters';
import { eventHeaders } from './event-writer';
import { withLogFields, type Logger } from './log';
import type { OutboxDocument, PendingWrite } from './outbox';
import { meteredObserver } from './metered-observer';
import type { RuntimeMetrics } from './metrics';
import type { DecodedEvent, Serde } from './serde';

export interface PlatformServices {
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly db: Db;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly metricsRegistry: Registry;
  readonly deadLetter: PublishDeadLetter;
  /** Hands a write that added events to the process's outbox relay, which publishes it at once. */
  readonly relayWrite: (write: PendingWrite) => void;
  readonly now: () => Date;
  /** The name of a catalogue topic in this deployment (a namespace prefix isolates tests). */
  readonly topic: (name: TopicName) => string;
  /** The name of a consumer group in this deployment. */
  readonly group: (name: string) => string;
  /** Runner settings shared by every consumer of the process. */
  readonly runner: Omit<RunnerOptions, 'kafka' | 'deadLetter' | 'observer' | 'log'>;
}

export interface ContextModule {
  readonly name: string;
  readonly routers: readonly Router[];
  readonly runners: readonly ConsumerRunner[];
  /** Collections holding outboxes, drained by the process's relay. */
  readonly outboxes: readonly Collection<OutboxDocument>[];
  /** Background work beyond consumers (e.g. auto-advance); started after the consumers. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

export type EventOutcome = 'applied' | 'duplicate' | 'ignored';

/** A consumer group and the catalogue topics it reads, before namespacing. */
export interface TopicSubscription {
  /** The context's consumer group (before namespacing). */
  readonly group: string;
  readonly topics: readonly TopicName[];
}

interface Subscription extends TopicSubscription {
  /** The filter policy: the event types this context needs; everything else is dropped before decoding. */
  readonly eventTypes: readonly EventType[];
}

export type EventConsumerDefinition = Subscription &
  (
    | {
        /** Applies one event idempotently; resolves once its effect is durable. */
        handle(event: DecodedEvent, received: Received<DecodedEvent>): Promise<EventOutcome>;
      }
    | {
        /** Applies a run of events at once (in partition order), counting the duplicates. */
        handleAll(batch: readonly Received<DecodedEvent>[]): Promise<{ duplicates: number }>;
      }
  );

/**
 * A consumer of contract events: filter on the `event-type` header (or, for a record without
 * it, on the type its schema id names), decode with the process's
 * serde, apply one event at a time in partition order (each through an aggregate store, which
 * deduplicates by event id), and count duplicates.
 */
export function createEventConsumer(
  services: PlatformServices,
  definition: EventConsumerDefinition,
): ConsumerRunner {
  const group = services.group(definition.group);
  const log = services.log.child({ group });
  const topics = definition.topics.map(services.topic);
  // Every series of the group at zero before its first record: rate() and increase() see no
  // change in a series whose first sample is already 1 (the first dead letter would go unseen).
  for (const topic of topics) services.metrics.initialise(group, topic);
  return createConsumerRunner<DecodedEvent>(
    {
      group,
      topics,
      accepts: compilePolicy({ [eventHeaders.type]: [...definition.eventTypes] }),
      // Our headers are an optimisation, not part of the contract: a record another Confluent
      // client wrote without them is typed by its schema id (the serde's cached lookup, no
      // decode) and judged by the same policy.
      identify: {
        lacks: (headers) => headers[eventHeaders.type] === undefined,
        learn: async (message) => ({ [eventHeaders.type]: await eventTypeOfValue(services.serde, message) }),
      },
      decode: (message) => {
        if (message.value === null) throw new Error('a record without a value');
        return services.serde.decode(message.value);
      },
      async handle(batch) {
        if ('handleAll' in definition) return definition.handleAll(batch);
        let duplicates = 0;
        for (const received of batch) {
          // Whatever the handler logs about this event names the order it is about.
          const outcome = await withLogFields({ correlationId: received.event.metadata.correlationId }, () =>
            definition.handle(received.event, received),
          );
          if (outcome === 'duplicate') duplicates += 1;
        }
        return { duplicates };
      },
      describe: (event) => ({ type: event.type, occurredAt: event.metadata.occurredAt.getTime() }),
    },
    {
      ...services.runner,
      kafka: services.kafka,
      deadLetter: services.deadLetter,
      observer: meteredObserver(services.metrics, group),
      log,
    },
  );
}

/** A consumer whose every event is one change to one aggregate of one store. */
export interface AggregateConsumerDefinition<S, I, F> extends Subscription {
  readonly store: AggregateStore<S, I, F>;
  /**
   * The aggregate an event changes and the input it brings, or undefined to ignore it. `at` dates
   * what it writes (default: now); a relay dates a translated fact by the fact, so a replay of
   * it publishes the very same event again.
   */
  route(
    event: DecodedEvent,
  ): { readonly aggregateId: string; readonly input: I; readonly at?: Date } | undefined;
  /** Told of every aggregate an event changed, once the change is durable. */
  changed?(aggregateId: string): void;
}

/**
 * The common shape of a context's consumer, batched: the runner's whole run of events goes to
 * the store at once (`executeAll`: each aggregate read once, its events decided in partition
 * order in memory, one bulk write), each event being the cause of its change. A refusal is a
 * business answer to another context's fact: a retry would get the same answer, so it is logged
 * and the event counts as handled.
 */
export function createAggregateConsumer<S, I, F>(
  services: PlatformServices,
  definition: AggregateConsumerDefinition<S, I, F>,
): ConsumerRunner {
  const log = services.log.child({ group: definition.group });
  return createEventConsumer(services, {
    group: definition.group,
    topics: definition.topics,
    eventTypes: definition.eventTypes,
    async handleAll(batch) {
      const routed = batch.flatMap(({ event }) => {
        const route = definition.route(event);
        return route === undefined ? [] : [{ event, ...route }];
      });
      const now = services.now();
      const executions = await definition.store.executeAll(
        routed.map(({ event, aggregateId, input, at }) => ({
          id: aggregateId,
          input,
          options: {
            causeId: event.metadata.eventId,
            causationId: event.metadata.eventId,
            correlationId: event.metadata.correlationId,
            now: at ?? now,
          },
        })),
      );
      let duplicates = 0;
      for (const [i, execution] of executions.entries()) {
        if (execution.kind === 'duplicate') duplicates += 1;
        if (execution.kind === 'changed') definition.changed?.(routed[i]!.aggregateId);
        if (execution.kind === 'refused')
          log.warn('event refused', {
            aggregateId: routed[i]?.aggregateId,
            type: routed[i]?.event.type,
            correlationId: routed[i]?.event.metadata.correlationId,
            reason: execution.reason,
          });
      }
      return { duplicates };
    },
  });
}

/**
 * The event type of a record without an `event-type` header, from its schema id. A value that
 * names no event (empty, not the Confluent wire format, a schema id the registry does not know,
 * a schema that is not one of ours) is a permanent failure whose message says the header was
 * missing too, so the dead letter tells why the record could not even be filtered.
 */
async function eventTypeOfValue(serde: Serde, message: KafkaMessage): Promise<EventType> {
  try {
    if (message.value === null) throw permanent(errorCodes.UNDECODABLE, 'a record without a value');
    return await serde.eventTypeOf(message.value);
  } catch (error) {
    const failure = classify(error);
    if (failure.category === 'transient') throw failure;
    throw new PlatformError(
      `no ${eventHeaders.type} header, and the value names no event: ${failure.message}`,
      {
        code: failure.code,
        category: failure.category,
        cause: failure,
        details: failure.details,
      },
    );
  }
}

/** A decider's refusal as the HTTP answer: 404 for NOT_FOUND, 409 with the reason for CONFLICT. */
export function refusalProblem(refusal: Refusal, subject: string): ProblemError {
  return refusal.code === 'NOT_FOUND'
    ? new ProblemError(404, `No ${subject} with this id.`, { title: `${capitalised(subject)} not found` })
    : new ProblemError(409, refusal.reason, { code: 'CONFLICT', title: 'Not possible in the current state' });
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** One task an auto-advance round moves on; `step` names the move in its cause id. */
export interface AutoStep<I> {
  readonly fulfilmentId: string;
  readonly step: string;
  readonly input: I;
}

/**
 * Writes one auto-advance round in one bulk (the tasks are independent aggregates). Each change
 * is caused by `auto:<step>:<fulfilmentId>`, so a step repeated here or by another instance is a
 * duplicate, and is a command with no causing event: auto-advance acts as the staff would.
 */
export function executeAutoSteps<S, I, F>(
  store: AggregateStore<S, I, F>,
  steps: readonly AutoStep<I>[],
  now: Date,
): Promise<Execution<S, F>[]> {
  return store.executeAll(
    steps.map(({ fulfilmentId, step, input }) => ({
      id: fulfilmentId,
      input,
      options: {
        causeId: `auto:${step}:${fulfilmentId}`,
        causationId: null,
        correlationId: fulfilmentId,
        now,
      },
    })),
  );
}

/**
 * Auto-advance (demos and load): runs `step`, which moves on whatever has waited `delayMs`,
 * when something can have come due — `delayMs` after the context changed one of its
 * aggregates (`wake`, called by the store on every write) — and again at once while steps find
 * work. A slow check every `idleCheckMs` catches changes another instance made. So an idle
 * context asks its store nothing but that check. Steps never overlap; a failing step is
 * logged and tried again at the next check.
 */
export function startAutoAdvance(options: {
  readonly name: string;
  readonly delayMs: number;
  readonly log: Logger;
  readonly step: () => Promise<number>;
  readonly idleCheckMs?: number;
}): { wake(): void; stop(): Promise<void> } {
  const { delayMs, log } = options;
  const idleCheckMs = options.idleCheckMs ?? 5_000;
  // Writes close together share one step, and a backlog is drained a step (up to a few hundred
  // tasks) at a time: under load a context lists its due tasks ten times a second, not more.
  const minimumGapMs = 100;
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let dueAt = Number.POSITIVE_INFINITY;
  let again = false;

  const schedule = (inMs: number): void => {
    const at = Date.now() + Math.max(minimumGapMs, inMs);
    if (stopped || at >= dueAt) return;
    clearTimeout(timer);
    dueAt = at;
    timer = setTimeout(tick, at - Date.now());
    timer.unref();
  };

  const tick = (): void => {
    dueAt = Number.POSITIVE_INFINITY;
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = options
      .step()
      .then((advanced) => {
        if (advanced > 0) {
          log.debug('auto-advanced', { name: options.name, advanced });
          again = true;
        }
      })
      .catch((error: unknown) => log.warn('auto-advance step failed', { name: options.name, error }))
      .finally(() => {
        running = undefined;
        schedule(again ? 0 : idleCheckMs);
        again = false;
      });
  };

  schedule(0);
  return {
    wake: () => schedule(delayMs),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * The cause id of a person's command: a retried request with the same `Idempotency-Key` is the
 * same command, applied once; without one, every request is a new command.
 */
export function commandCauseId(ctx: { get(name: string): string }, command: string): string {
  const key = ctx.get('Idempotency-Key');
  if (key === '') return `${command}:${randomUUID()}`;
  if (!idempotencyKeyPattern.test(key))
    throw validationProblem([
      { field: 'Idempotency-Key', message: 'must be 8 to 128 letters, digits or ._:-' },
    ]);
  return `${command}:${key}`;
}

export const idempotencyKeyPattern = /^[A-Za-z0-9._:-]{8,128}$/;

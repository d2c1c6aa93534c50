/**
 * The one composition root of a platform process: it builds the clients once, provisions the
 * topics and registers the schemas the hosted contexts write, builds the contexts asked for,
 * starts their consumers, the outbox relay and one HTTP server, and stops all of it in order.
 * `npm start` hosts every context in one process; `npm run context -- <name>` hosts one; tests
 * host them in-process under a topic namespace of their own.
 */
import type Router from '@koa/router';
import { Kafka, logLevel, type logCreator } from 'kafkajs';
import { MongoClient } from 'mongodb';
import pRetry from 'p-retry';
import { Registry } from 'prom-client';
import {
  desiredTopics,
  provisionTopics,
  resolveReplicationFactor,
  type DesiredTopic,
} from '@contracts/provision';
import { placementOf, type TopicName, type WriterContext } from '@contracts/topics';
import type { ContextModule, PlatformServices } from '@runtime/context';
import { createLagMonitor, reportLag } from '@runtime/consumer-lag';
import { createDeadLetterClients } from '@runtime/dead-letter-admin';
import { createDeadLetterRouter } from '@runtime/dead-letter-router';
import { createDeadLetterPublisher } from '@runtime/dead-letters';
import { eventHeaders } from '@runtime/event-writer';
import { createHttpAuth } from '@runtime/auth';
import {
  createHttpApp,
  createMetricsApp,
  publicPaths,
  startHttpServer,
  type RunningHttpServer,
} from '@runtime/http';
import { classify } from '@runtime/errors';
import { createLogger, type Logger } from '@runtime/log';
import { createRuntimeMetrics } from '@runtime/metrics';
import { kafkaClientSecurity } from '@runtime/kafka-security';
import { createOutboxRelay } from '@runtime/outbox';
import { createSendCheck } from '@runtime/send-check';
import { createReadinessProbe } from '@runtime/readiness';
import {
  countRegistryFailures,
  countRegistryRequests,
  eventTypesWrittenBy,
  RegistryClient,
  Serde,
} from '@runtime/serde';
import { contextFactories, type ContextName } from './contexts';
import { deploymentGrants, grantAcls } from './kafka-acls';
import { ConfigError, type FaultKillPoint, type PlatformConfig } from './config';

export interface RunningPlatform {
  readonly url: string;
  /** The `/metrics` listener's base URL (unauthenticated; `METRICS_PORT`). */
  readonly metricsUrl: string;
  readonly contexts: readonly ContextModule[];
  readonly services: PlatformServices;
  /** Resolves when every consumer group has joined (and is not stuck or crashed). */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A consumer that gave up: the process can no longer do all of its work. */
export interface ConsumerFailure {
  readonly group: string;
  readonly error: Error;
}

export interface PlatformHooks {
  /**
   * Called once, when the first consumer gives up; `/health` reports it from then on. The
   * command (`platform/main.ts`) drains what it can and exits non-zero, so that a supervisor
   * restarts the process; tests hosting a platform in-process look at it instead.
   */
  readonly onFatal?: (failure: ConsumerFailure) => void;
}

export async function startPlatform(
  config: PlatformConfig,
  log: Logger = createLogger(config.logLevel),
  hooks: PlatformHooks = {},
): Promise<RunningPlatform> {
  const { auth } = config.http;
  // Fail closed: an API nobody can call is a configuration mistake, an API anybody can call worse.
  if (auth.apiKeys.length === 0 && auth.jwt === null)
    throw new ConfigError(
      'no HTTP credentials are configured: give HTTP_API_KEYS, HTTP_API_KEYS_FILE, HTTP_JWT_SECRET or HTTP_JWT_PUBLIC_KEY ' +
        '(development keys are made only for npm start and npm run context listening on loopback; see README, Authentication)',
    );
  const namespaced = (name: string): string => `${config.topicNamespace}${name}`;
  // kafkajs reports every retriable hiccup (a leader moving right after a topic is created) as
  // an error; the runner and the relay report what actually fails, so its own logs go to debug.
  const kafkaLog = log.child({ component: 'kafkajs' });
  const kafka = new Kafka({
    logCreator: kafkaLogCreator(kafkaLog),
    clientId: `scm-platform-${config.contexts.join('-')}`.slice(0, 200),
    brokers: config.kafkaBrokers,
    logLevel: logLevel.ERROR,
    ...kafkaClientSecurity(config.kafkaSecurity),
  });
  const failures: ConsumerFailure[] = [];
  const metricsRegistry = new Registry();
  const metrics = createRuntimeMetrics(metricsRegistry);
  // Every command is a round trip to the store: counting them makes the engine's cost visible
  // in a machine-independent figure (round trips per processed event).
  const mongo = new MongoClient(config.mongoUrl, { monitorCommands: true });
  mongo.on('commandStarted', (event) => metrics.storeCommands.inc({ command: event.commandName }));
  await mongo.connect();
  const db = mongo.db(config.database);
  const registry = new RegistryClient({
    url: config.schemaRegistryUrl,
    ...(config.schemaRegistryAuth ? { auth: config.schemaRegistryAuth } : {}),
    onRequest: countRegistryRequests(metrics),
    onFailure: countRegistryFailures(metrics),
  });
  const serde = new Serde({ registry });

  const writers = new Set<WriterContext>(config.contexts.flatMap((name) => contextFactories[name].writes));
  const groups = config.contexts
    .flatMap((name) => contextFactories[name].subscriptions.map(({ group }) => group))
    .map(namespaced);
  // A process started while the registry is down (a restart during an outage) waits for it,
  // saying so, rather than exiting at once; about a minute and a half, then it fails loudly.
  await withRetries(
    log,
    `registering the schemas at ${config.schemaRegistryUrl} (waiting for the schema registry)`,
    () =>
      serde
        .register({
          types: [...writers].flatMap(eventTypesWrittenBy),
          topicOf: (type) => namespaced(placementOf(type).topic),
        })
        .then(() => undefined),
    // 0.5, 1, then 2 s between attempts: about 85 s in all.
    45,
  );
  // Several processes may start at once (docker-compose, a rolling restart) and provision the
  // same topics: creation is idempotent, but metadata can lag right after another process's
  // creation ("does not host this topic-partition"), so a failed pass is retried.
  const desired = (replicationFactor: number): DesiredTopic[] =>
    desiredTopics({ replicationFactor, deadLetterGroups: groups }).map((topic) =>
      topic.name.endsWith('.dlq') ? topic : { ...topic, name: namespaced(topic.name) },
    );
  // With ACLs, a context's principal may not create topics: an admin provisions them beforehand
  // (KAFKA_PROVISION=false), or, on the secure native stack, the stack's admin does it here and
  // grants this deployment's ACLs too.
  const { enabled: provision, admin: provisioner } = config.provisioning;
  if (provision)
    await withRetries(log, 'topic provisioning', async () => {
      const admin = (
        provisioner === undefined
          ? kafka
          : new Kafka({
              logCreator: kafkaLogCreator(kafkaLog),
              clientId: 'scm-platform-provisioning',
              brokers: config.kafkaBrokers,
              logLevel: logLevel.ERROR,
              ...kafkaClientSecurity(provisioner),
            })
      ).admin();
      await admin.connect();
      try {
        const replicationFactor = await resolveReplicationFactor(admin, config.replicationFactor);
        await provisionTopics(admin, desired(replicationFactor));
        if (provisioner !== undefined) await grantAcls(admin, deploymentGrants(config.topicNamespace));
      } finally {
        await admin.disconnect();
      }
    });

  // After provisioning: on the secure native stack, the ACLs that let it start are granted there.
  // Idempotent, and every send is acks=all (-1: the relay, dead letters, retry levels), so with
  // min.insync.replicas=2 on a cluster an acknowledged event is on two brokers. At most five
  // requests in flight per broker, as Kafka requires of an idempotent producer (a broker keeps
  // the sequence numbers of a producer's last five batches per partition): the relay, dead
  // letters and retries of every group share this producer.
  const sendCheck = createSendCheck();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    // kafkajs's default partitioner, remembering where it put each message: the relay checks
    // that a batch was acknowledged whole (runtime/send-check.ts says why it may not be).
    createPartitioner: sendCheck.createPartitioner,
  });
  await producer.connect();

  const faults = faultInjection(config.faults, log);
  // The relay needs the contexts' collections, and the contexts need the relay's hand-over.
  let relayWrite: PlatformServices['relayWrite'] = () => undefined;
  const services: PlatformServices = {
    kafka,
    serde,
    db,
    log,
    metrics,
    metricsRegistry,
    deadLetter: createDeadLetterPublisher(producer, (group) => `${group}.dlq`),
    relayWrite: (write) => relayWrite(write),
    now: () => new Date(),
    topic: (name: TopicName) => namespaced(name),
    group: namespaced,
    runner: {
      fromBeginning: true,
      permanentAttempts: 3,
      backoff: { initialMs: 200, maxMs: 5_000 },
      onFatal: (error, group) => {
        failures.push({ group, error });
        log.error('a consumer cannot go on; this process is down', { group, error });
        if (failures.length === 1) hooks.onFatal?.({ group, error });
      },
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
      ...(faults.point === 'write' ? { afterApplied: faults.kill } : {}),
      // Once this batch's events are out too, so a redelivered batch meets its own publications.
      ...(faults.point === 'produce' ? { afterApplied: () => relay.settled().then(faults.kill) } : {}),
    },
  };

  const contexts: ContextModule[] = [];
  for (const name of config.contexts) contexts.push(await contextFactories[name].create(services, config));
  const runners = contexts.flatMap((context) => context.runners);

  const relay = createOutboxRelay({
    collections: contexts.flatMap((context) => context.outboxes),
    producer,
    unacknowledged: sendCheck.unacknowledged,
    log: log.child({ component: 'outbox-relay' }),
    onPublished: (topic, headers) =>
      metrics.eventsPublished.inc({ topic, event_type: headers[eventHeaders.type] ?? 'unknown' }),
    onPending: (collection, count) => metrics.outboxPending.set({ context: collection }, count),
    ...(faults.point === 'publish' ? { afterPublish: faults.kill } : {}),
  });
  relayWrite = (write) => relay.enqueue(write);
  relay.start();
  await Promise.all(runners.map((runner) => runner.start()));
  for (const context of contexts) await context.start?.();

  // Readiness and lag ask the broker and the store themselves, through clients of their own: a
  // ping held by a hung store is cut by its socket timeout instead of holding one of the
  // contexts' connections, and pings do not count as the engine's store commands.
  const probeAdmin = kafka.admin();
  await probeAdmin.connect();
  const storeProbe = new MongoClient(config.mongoUrl, {
    maxPoolSize: 2,
    serverSelectionTimeoutMS: probeTimeoutMs,
    connectTimeoutMS: probeTimeoutMs,
    socketTimeoutMS: probeTimeoutMs,
  });
  const readiness = createReadinessProbe({
    runners,
    admin: probeAdmin,
    pingStore: () => storeProbe.db(config.database).command({ ping: 1 }),
    timeoutMs: probeTimeoutMs,
  });
  const lag = createLagMonitor({
    admin: probeAdmin,
    groups: () => runners.flatMap((runner) => runner.memberships()),
    fromBeginning: services.runner.fromBeginning ?? true,
    report: reportLag(metrics.consumerLag),
    log: log.child({ component: 'consumer-lag' }),
  });
  lag.start();

  const deadLetterClients = createDeadLetterClients(kafka);
  const routers: Router[] = [
    ...contexts.flatMap((context) => context.routers),
    createDeadLetterRouter({ clients: deadLetterClients }),
  ];
  const app = createHttpApp({
    metricsRegistry,
    health: () =>
      failures.length === 0
        ? { status: 'up', details: { contexts: config.contexts } }
        : {
            status: 'down',
            details: {
              contexts: config.contexts,
              failed: failures.map(({ group, error }) => ({
                consumerGroup: group,
                error: classify(error).message,
                errorClass: error.name,
              })),
            },
          },
    readiness,
    routers,
    bodyLimitBytes: config.bodyLimitBytes,
    log: log.child({ component: 'http' }),
    auth: createHttpAuth({ ...auth, publicPaths }),
  });
  // Emitted inside the request's scope: the line carries its request id.
  app.on('error', (error: unknown, ctx?: { method: string; path: string }) =>
    log.error('request failed', { error, method: ctx?.method, path: ctx?.path }),
  );
  const server: RunningHttpServer = await startHttpServer(app, config.httpPort, config.httpHost);
  const metricsServer = await startHttpServer(
    createMetricsApp(metricsRegistry),
    config.http.metricsPort,
    config.http.metricsHost,
  ).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  log.info('platform started', {
    contexts: config.contexts,
    url: server.url,
    metricsUrl: metricsServer.url,
  });

  return {
    url: server.url,
    metricsUrl: metricsServer.url,
    contexts,
    services,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const report = await readiness();
        if (report.ready) {
          // The lag reported from now on includes everything committed until ready.
          await lag.refresh();
          return;
        }
        if (Date.now() > deadline)
          throw new Error(`not ready after ${timeoutMs} ms: ${report.reasons.join('; ')}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    async stop() {
      await server.close();
      await metricsServer.close();
      for (const context of contexts) await context.stop?.();
      await Promise.all(runners.map((runner) => runner.stop()));
      lag.stop();
      await relay.stop();
      await deadLetterClients.close?.();
      await producer.disconnect();
      await probeAdmin.disconnect();
      await storeProbe.close();
      await mongo.close();
    },
  };
}

export type { ContextName };

function kafkaLogCreator(kafkaLog: Logger): logCreator {
  return () =>
    ({ namespace, log: { message, ...fields } }) =>
      kafkaLog.debug(message, { ...fields, namespace });
}

/** Bound of each readiness check and store ping: below `/ready`'s own 2 s. */
const probeTimeoutMs = 1_500;

/** The fault hook: after the n-th batch applied, the process dies as a crash would, at once. */
/**
 * The fault suite's switch: SIGKILL this process at a chosen point of its n-th batch (a
 * consumer batch, or for `publish` a relay batch). Off (no point) unless configured.
 */
function faultInjection(
  { killAfterBatches, killPoint }: PlatformConfig['faults'],
  log: Logger,
): { point: FaultKillPoint | null; kill: () => Promise<void> } {
  let batches = 0;
  const kill = async (): Promise<void> => {
    batches += 1;
    if (killAfterBatches === null || batches < killAfterBatches) return;
    log.warn('fault injection: killing this process', { point: killPoint, batches });
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is not delivered synchronously: never let the batch go on to its commit or clear.
    await new Promise(() => undefined);
  };
  return { point: killAfterBatches === null ? null : killPoint, kill };
}

/**
 * `attempts` tries of `step`, waiting 0.5, 1, 2, 2 s between them. p-retry gives up at once on a
 * TypeError (a programming error, not a broker that is still settling). Pinned at 7.1.1, its
 * newest release for Node 20 (8 and 9 need Node 22).
 */
async function withRetries(
  log: Logger,
  what: string,
  step: () => Promise<void>,
  attempts = 5,
): Promise<void> {
  await pRetry(step, {
    retries: attempts - 1,
    minTimeout: 500,
    factor: 2,
    maxTimeout: 2000,
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0) log.warn(`${what} failed; retrying`, { attempt: attemptNumber, error });
    },
  });
}

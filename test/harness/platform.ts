/**
 * Hosts platform contexts in the test process against the real stack, isolated from every other
 * test by a topic namespace and a database of their own, and gives tests what a user has: HTTP,
 * and the topics to look at.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { placementOf, type TopicName, type WriterContext } from '@contracts/topics';
import type { Publication } from '@runtime/decider';
import { toOutgoing } from '@runtime/event-writer';
import { readPlatformConfig, type PlatformConfig } from '@platform/config';
import type { ContextName } from '@platform/contexts';
import { startPlatform, type RunningPlatform } from '@platform/host';
import { kafkaClientSecurity, type KafkaSecurity } from '@runtime/kafka-security';
import { createLogger } from '@runtime/log';
import { RegistryClient, Serde, type DecodedEvent } from '@runtime/serde';
import { roleFor, bearer, testAuthEnv } from './credentials';
import { testEndpoints, type Endpoints } from './endpoints';

export interface TestDeployment {
  /** The components it runs on: the run's, or those its options named. */
  readonly endpoints: Endpoints;
  /** Shared by every platform process of the deployment (like one environment). */
  readonly namespace: string;
  readonly database: string;
  start(contexts: readonly ContextName[], env?: NodeJS.ProcessEnv): Promise<RunningPlatform>;
  /**
   * Every event on a catalogue topic so far, decoded, once each: as a consumer sees them after
   * deduplication (the outbox publishes at least once; several instances' relays may send the
   * same pending event).
   */
  events(topic: TopicName): Promise<DecodedEvent[]>;
  /** Raw records of any topic of the deployment (e.g. a dead-letter topic), with headers. */
  records(
    topic: string,
  ): Promise<{ key: string | null; value: Buffer | null; headers: Record<string, string> }[]>;
  /** Writes events onto their namespaced topics as their writing context would. */
  publish(producer: WriterContext, ...publications: Publication[]): Promise<void>;
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  /** Other components than the run's altogether (the fault suite's own stack). */
  readonly endpoints?: Endpoints;
  /**
   * Another broker than the run's (a secure one a test started): the deployment's own clients
   * (records, publish, clean-up) use `security`, its platforms are given their own.
   */
  readonly kafka?: {
    readonly brokers: readonly string[];
    readonly security: KafkaSecurity;
    /** Platforms find their principals here, as on the secure native stack they brought up. */
    readonly stackKafkaCredentials?: string;
  };
}

export function createTestDeployment(name: string, options: DeploymentOptions = {}): TestDeployment {
  const run = options.endpoints ?? testEndpoints();
  const { kafka: other } = options;
  const endpoints = other
    ? {
        ...run,
        kafkaBrokers: [...other.brokers],
        ...(other.stackKafkaCredentials ? { stackKafkaCredentials: other.stackKafkaCredentials } : {}),
      }
    : run;
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const namespace = `t-${name}-${suffix}.`;
  const database = `t_${name.replace(/[^a-zA-Z0-9]/g, '_')}_${suffix}`;
  const kafka = new Kafka({
    clientId: `test-${name}`,
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
    ...kafkaClientSecurity(options.kafka?.security ?? {}),
  });
  const serde = new Serde({ registry: new RegistryClient({ url: endpoints.schemaRegistryUrl }) });
  const running: RunningPlatform[] = [];

  async function records(topic: string) {
    const admin = kafka.admin();
    await admin.connect();
    let offsets: { partition: number; high: string; low: string }[];
    try {
      offsets = await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect();
    }
    const wanted = offsets.filter((offset) => Number(offset.high) > Number(offset.low));
    if (wanted.length === 0) return [];
    const remaining = new Map(wanted.map((offset) => [offset.partition, Number(offset.high)]));
    const found: { key: string | null; value: Buffer | null; headers: Record<string, string> }[] = [];
    // A short long poll: disconnect() waits for the fetch in flight, 5 s by kafkajs's default,
    // once every partition has been read to its end.
    const consumer: Consumer = kafka.consumer({
      groupId: `reader-${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: 250,
    });
    await consumer.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        void consumer.subscribe({ topic, fromBeginning: true }).then(() =>
          consumer
            .run({
              eachMessage: async ({ partition, message }) => {
                const headers = Object.fromEntries(
                  Object.entries(message.headers ?? {}).map(([key, value]) => [key, String(value)]),
                );
                found.push({ key: message.key?.toString() ?? null, value: message.value, headers });
                if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0))
                  remaining.delete(partition);
                if (remaining.size === 0) resolve();
              },
            })
            .catch(reject),
        );
      });
    } finally {
      await consumer.disconnect();
    }
    return found;
  }

  return {
    endpoints,
    namespace,
    database,
    async start(contexts, env = {}) {
      const config: PlatformConfig = readPlatformConfig(endpoints, contexts, {
        PORT: '0',
        ...testAuthEnv(),
        TOPIC_NAMESPACE: namespace,
        MONGO_DATABASE: database,
        LOG_LEVEL: 'error',
        ...env,
      });
      const platform = await startPlatform(config, createLogger(config.logLevel));
      running.push(platform);
      await platform.ready();
      return platform;
    },
    records,
    async publish(producer, ...publications) {
      const topicOf = (name: string): string => `${namespace}${name}`;
      await serde.register({
        types: publications.map((p) => p.type),
        topicOf: (type) => topicOf(placementOf(type).topic),
      });
      const outgoing = publications.map((publication) => {
        const keyField = placementOf(publication.type).keyField;
        const key = String(Object.getOwnPropertyDescriptor(publication.data, keyField)?.value);
        return toOutgoing(
          serde,
          publication,
          {
            eventId: randomUUID(),
            eventType: publication.type,
            occurredAt: new Date(),
            correlationId: key,
            causationId: null,
            producer,
            schemaVersion: publication.version,
          },
          topicOf,
        );
      });
      const client = kafka.producer();
      await client.connect();
      try {
        for (const record of outgoing)
          await client.send({
            topic: record.topic,
            messages: [{ key: record.key, value: record.value, headers: record.headers }],
          });
      } finally {
        await client.disconnect();
      }
    },
    async events(topic) {
      const found = await records(`${namespace}${topic}`);
      const decoded = await Promise.all(
        found.flatMap((record) => (record.value ? [serde.decode(record.value)] : [])),
      );
      const seen = new Set<string>();
      return decoded.filter((event) => !seen.has(event.metadata.eventId) && seen.add(event.metadata.eventId));
    },
    async stop() {
      await Promise.all(running.splice(0).map((platform) => platform.stop()));
      const admin = kafka.admin();
      await admin.connect();
      try {
        const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(namespace));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
      const mongo = await new MongoClient(endpoints.mongoUrl).connect();
      await mongo
        .db(database)
        .dropDatabase()
        .catch(() => undefined);
      await mongo.close();
    },
  };
}

/** A parsed JSON response body: tests read it with `toMatchObject` or through `field`. */
export type Json = Record<string, unknown>;

/**
 * A JSON HTTP call as a client makes it; returns status, headers and the parsed body. It carries
 * the test key of the role the path needs (`roleFor`) unless `headers` has an `authorization`.
 */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Json }> {
  const authorized = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')
    ? headers
    : { ...bearer(roleFor(path)), ...headers };
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? authorized : { 'content-type': 'application/json', ...authorized },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Json) : {} };
}

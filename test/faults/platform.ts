/**
 * The platform the fault suite breaks: a native stack of its own (a broker, a registry and a
 * document store it may signal, kill and restart without disturbing any other test) and every
 * context in its own operating-system process, started as an operator would
 * (`npm run context -- <name>`), each on a fixed port so that a restarted instance answers
 * where the old one did, under a supervisor that restarts what dies, as Kubernetes would.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kafkaQuorumLeader } from '@infra/stack/components';
import { kafkaNodes, readStackConfig, type KafkaNode, type StackConfig } from '@infra/stack/config';
import { isAlive, readPid } from '@infra/stack/processes';
import { down, pathsOf, up } from '@infra/stack/stack';
import { contextFactories, contextNames, type ContextName } from '@platform/contexts';
import { topics as catalogue, type TopicName } from '@contracts/topics';
import { RegistryClient, Serde } from '@runtime/serde';
import { startContextProcess, type ContextProcess } from '@test/harness/context-process';
import { createTestDeployment, type TestDeployment } from '@test/harness/platform';
import type { ObservedEvent } from './checker';

/**
 * Components of the fault suite's stack (Prometheus is not needed): `kafka` is every Kafka node,
 * `kafka-<id>` one node of a cluster.
 */
export type StackComponent = 'kafka' | `kafka-${number}` | 'registry' | 'mongo';
const stackComponents: readonly StackComponent[] = ['kafka', 'registry', 'mongo'];

/** Every context, each in a process of its own: the shape a fault can hit one of. */
export const faultTopology: readonly ContextName[] = contextNames;

/**
 * Ports of the fault suite, all below the ephemeral range (see infra/stack/config.ts): the
 * stack's, and one HTTP port per context so a restarted instance keeps its URL.
 */
export const faultPorts = {
  STACK_KAFKA_PORT: '29292',
  STACK_KAFKA_CONTROLLER_PORT: '29293',
  STACK_REGISTRY_PORT: '28281',
  STACK_REGISTRY_MANAGEMENT_PORT: '28282',
  STACK_MONGO_PORT: '28217',
  contextsFrom: 28300,
};

/**
 * The cluster fault suite's ports (test/faults/cluster.test.ts), apart from the single-broker
 * suite's so either may run while the other's stack is still going down. Node n of the cluster
 * listens ten ports above node n-1 (26092, 26102, 26112; controllers 26093, 26103, 26113).
 */
export const clusterFaultPorts: typeof faultPorts = {
  STACK_KAFKA_PORT: '26092',
  STACK_KAFKA_CONTROLLER_PORT: '26093',
  STACK_REGISTRY_PORT: '26081',
  STACK_REGISTRY_MANAGEMENT_PORT: '26082',
  STACK_MONGO_PORT: '26017',
  contextsFrom: 26300,
};

export interface FaultStackOptions {
  /** Kafka nodes: 1 (the default), or a KRaft cluster of combined broker+controller nodes. */
  readonly brokers?: number;
  readonly ports?: typeof faultPorts;
}

/** One partition of a platform topic, as the cluster's metadata has it now. */
export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The node id leading it; -1 while it has none. */
  readonly leader: number;
  readonly isr: readonly number[];
}

/**
 * What every process of the deployment runs with: work moves on by itself quickly, and a
 * silent member loses its partitions after 10 s, so a fault and its recovery fit a CI run.
 */
const deploymentEnv: NodeJS.ProcessEnv = {
  AUTO_ADVANCE_MS: '100',
  KAFKA_SESSION_TIMEOUT_MS: '10000',
  LOG_LEVEL: 'warn',
};

export interface Instance {
  readonly name: ContextName;
  /** The current process (a supervised instance gets a new one each time it is restarted). */
  readonly process: ContextProcess;
  /** Deaths the supervisor saw (and restarted), by how they ended. */
  readonly deaths: readonly string[];
  /** Resolves once the current process is ready. */
  ready(): Promise<string>;
  /** SIGTERM and no restart. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** A fault environment used for this many lives; later restarts run without it. */
  readonly faultLives?: number;
  /** Let it choose a free port (an extra instance beside the context's own). */
  readonly anyPort?: boolean;
}

export interface FaultPlatform {
  readonly stack: StackConfig;
  readonly deployment: TestDeployment;
  readonly kafka: Kafka;
  readonly serde: Serde;
  /** The fixed URL of a context's instance. */
  url(name: ContextName): string;
  instances(name: ContextName): readonly Instance[];
  /** Starts a supervised instance. */
  start(name: ContextName, options?: StartOptions): Instance;
  /**
   * Starts `copies` instances of every context and waits for them, one context at a time (two
   * cores: sixteen processes booting at once would crawl): the first on the context's fixed
   * port, the others on any port, all members of the context's groups, sharing its partitions.
   */
  startEveryContext(copies?: number): Promise<void>;
  /** Stops every instance of a context (no restart). */
  stopAll(name: ContextName): Promise<void>;
  /** Deletes the consumer groups of these contexts (their instances must be stopped). */
  deleteGroups(names: readonly ContextName[]): Promise<void>;
  /** Replaces every instance of a context with one started with `options`. */
  replace(name: ContextName, options?: StartOptions): Promise<Instance>;
  /** Sends a signal to a stack component's process. */
  signal(component: StackComponent, signal: NodeJS.Signals): void;
  /** Brings a stopped or killed stack component back (as `npm run stack -- up` would); its lines. */
  restart(component: StackComponent): Promise<string[]>;
  /** The stack's Kafka nodes (one, or each node of a cluster). */
  kafkaNodes(): readonly KafkaNode[];
  /** The node leading the KRaft quorum (the active controller). */
  quorumLeader(): Promise<KafkaNode>;
  /** Every partition of the deployment's topics: leader and in-sync replicas. */
  partitions(): Promise<PartitionState[]>;
  /** Every group's lag, summed, read from the broker. */
  lag(): Promise<number>;
  /** End offsets of every catalogue topic, to read what comes after. */
  positions(): Promise<Map<string, number>>;
  /** Decoded records added to the catalogue topics since `from`. */
  eventsSince(from: Map<string, number>): Promise<ObservedEvent[]>;
  /** The records dead-lettered so far, once each (dead-letter topic and event id). */
  deadLetters(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startFaultPlatform(
  name: string,
  report: (line: string) => void,
  { brokers = 1, ports = faultPorts }: FaultStackOptions = {},
): Promise<FaultPlatform> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-'));
  const { contextsFrom, ...stackPorts } = ports;
  const stack = readStackConfig({
    ...process.env,
    STACK_DIR: dir,
    // The installs of the user's stack (as every test stack shares them).
    STACK_INSTALL_DIR: readStackConfig(process.env).installDir,
    // The suite's clients speak plaintext, whatever the user's stack runs.
    STACK_KAFKA_SECURITY: 'plaintext',
    STACK_KAFKA_BROKERS: String(brokers),
    ...stackPorts,
  });
  const started = Date.now();
  try {
    await up(stack, stackComponents, (line) => report(`stack: ${line}`));
  } catch (error) {
    // The stack's processes are detached: what did start would outlive this run in /tmp.
    await down(stack).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const endpoints = {
    kafkaBrokers: kafkaNodes(stack).map((node) => `127.0.0.1:${node.port}`),
    schemaRegistryUrl: `http://127.0.0.1:${stack.registry.port}/apis/ccompat/v7`,
    mongoUrl: `mongodb://127.0.0.1:${stack.mongo.port}/`,
    prometheusUrl: undefined,
  };
  const deployment = createTestDeployment(name, { endpoints });
  const kafka = new Kafka({
    clientId: `faults-${name}`,
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const serde = new Serde({ registry: new RegistryClient({ url: endpoints.schemaRegistryUrl }) });
  const byName = new Map<ContextName, Instance[]>();
  const portOf = (context: ContextName): number => contextsFrom + faultTopology.indexOf(context);

  function start(context: ContextName, options: StartOptions = {}): Instance {
    const deaths: string[] = [];
    let stopping = false;
    let current: ContextProcess;
    let ready: Promise<string>;
    const launch = (): void => {
      const faulty = (options.faultLives ?? Infinity) > deaths.length;
      current = startContextProcess(context, deployment, {
        ...deploymentEnv,
        PORT: options.anyPort ? '0' : String(portOf(context)),
        ...(faulty ? options.env : {}),
      });
      ready = current.url;
      void current.exited.then(({ code, signal }) => {
        if (stopping) return;
        deaths.push(signal ?? `exit ${code}`);
        report(`${context}: died (${signal ?? `exit ${code}`}); restarting`);
        setTimeout(launch, 300);
      });
    };
    launch();
    const instance: Instance = {
      name: context,
      get process() {
        return current;
      },
      deaths,
      ready: async () => {
        // A process that dies before it is ready (a fault switch can fire while it starts, on the
        // relay's recovery of what its predecessor left) is restarted: wait for the newest.
        const deadline = Date.now() + 180_000;
        for (;;) {
          const waiting = ready;
          try {
            return await waiting;
          } catch (error) {
            if (stopping || Date.now() > deadline) throw error;
            while (ready === waiting && !stopping && Date.now() < deadline)
              await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      },
      async stop() {
        stopping = true;
        await current.stop();
      },
    };
    byName.set(context, [...(byName.get(context) ?? []), instance]);
    return instance;
  }

  async function adminDo<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }

  const catalogueTopics = catalogue.map((topic) => topic.name);
  let stopped: Promise<void> | undefined;
  const namespaced = (topic: string): string => `${deployment.namespace}${topic}`;

  const platform: FaultPlatform = {
    stack,
    deployment,
    kafka,
    serde,
    url: (context) => `http://127.0.0.1:${portOf(context)}`,
    instances: (context) => byName.get(context) ?? [],
    start,
    async startEveryContext(copies = 1) {
      for (const context of faultTopology)
        await Promise.all(
          Array.from({ length: copies }, (_, copy) => start(context, { anyPort: copy > 0 }).ready()),
        );
    },
    async stopAll(context) {
      const old = byName.get(context) ?? [];
      byName.set(context, []);
      await Promise.all(old.map((instance) => instance.stop()));
    },
    async deleteGroups(names) {
      const groups = names.flatMap((name) =>
        contextFactories[name].subscriptions.map(({ group }) => namespaced(group)),
      );
      await adminDo((admin) => admin.deleteGroups(groups).then(() => undefined));
    },
    async replace(context, options) {
      const old = byName.get(context) ?? [];
      byName.set(context, []);
      await Promise.all(old.map((instance) => instance.stop()));
      const instance = start(context, options);
      await instance.ready();
      return instance;
    },
    signal(component, signal) {
      const pid = readPid(pathsOf(stack), component);
      if (pid === undefined || !isAlive(pid)) throw new Error(`${component} is not running`);
      process.kill(pid, signal);
    },
    async restart(component) {
      const lines: string[] = [];
      await up(stack, [component], (line) => {
        lines.push(line);
        report(`stack: ${line}`);
      });
      return lines;
    },
    kafkaNodes: () => kafkaNodes(stack),
    quorumLeader: () => kafkaQuorumLeader(stack),
    async partitions() {
      return adminDo(async (admin) => {
        const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(deployment.namespace));
        const { topics: described } = await admin.fetchTopicMetadata({ topics });
        return described.flatMap(({ name: topic, partitions }) =>
          partitions.map(({ partitionId, leader, isr }) => ({ topic, partition: partitionId, leader, isr })),
        );
      });
    },
    async lag() {
      // Every group the deployment's contexts subscribe with, over the topics each reads: a group
      // that has committed nothing yet (just created, or deleted for a replay) lags by everything.
      const subscriptions = Object.values(contextFactories).flatMap((factory) => factory.subscriptions);
      return adminDo(async (admin) => {
        const existing = new Set(await admin.listTopics());
        const ends = new Map<string, Map<number, number>>();
        let total = 0;
        for (const { group, topics } of subscriptions) {
          const names = topics.map(namespaced).filter((topic) => existing.has(topic));
          if (names.length === 0) continue;
          for (const { topic, partitions } of await admin.fetchOffsets({
            groupId: namespaced(group),
            topics: names,
          })) {
            if (!ends.has(topic))
              ends.set(
                topic,
                new Map(
                  (await admin.fetchTopicOffsets(topic)).map((offset) => [
                    offset.partition,
                    Number(offset.high),
                  ]),
                ),
              );
            for (const { partition, offset } of partitions)
              total += Math.max(0, (ends.get(topic)?.get(partition) ?? 0) - Math.max(0, Number(offset)));
          }
        }
        return total;
      });
    },
    async positions() {
      return adminDo(async (admin) => {
        const existing = new Set(await admin.listTopics());
        const found = new Map<string, number>();
        for (const topic of catalogueTopics) {
          if (!existing.has(namespaced(topic))) continue;
          for (const offset of await admin.fetchTopicOffsets(namespaced(topic)))
            found.set(`${topic}:${offset.partition}`, Number(offset.high));
        }
        return found;
      });
    },
    async eventsSince(from) {
      const until = await platform.positions();
      const found: ObservedEvent[] = [];
      const wanted = [...until].filter(([id, end]) => end > (from.get(id) ?? 0));
      if (wanted.length === 0) return found;
      const remaining = new Map(wanted);
      const consumer = kafka.consumer({
        groupId: `${deployment.namespace}reader-${randomBytes(4).toString('hex')}`,
      });
      await consumer.connect();
      try {
        const topics = [...new Set(wanted.map(([id]) => id.slice(0, id.lastIndexOf(':'))))];
        await consumer.subscribe({ topics: topics.map(namespaced), fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              eachMessage: async ({ topic, partition, message }) => {
                const logical = topic.slice(deployment.namespace.length) as TopicName;
                const id = `${logical}:${partition}`;
                const offset = Number(message.offset);
                if (offset >= (from.get(id) ?? 0) && message.value) {
                  const event = await serde.decode(message.value);
                  found.push({
                    topic: logical,
                    partition,
                    offset,
                    key: message.key?.toString() ?? '',
                    eventId: event.metadata.eventId,
                    type: event.type,
                    data: { ...event.data },
                  });
                }
                if (offset + 1 >= (remaining.get(id) ?? 0)) remaining.delete(id);
                if (remaining.size === 0) resolve();
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
      return found;
    },
    async deadLetters() {
      const topics = await adminDo(async (admin) =>
        (await admin.listTopics()).filter(
          (topic) => topic.startsWith(deployment.namespace) && topic.endsWith('.dlq'),
        ),
      );
      // Dead-lettering is at least once, like any publication: a record redelivered after a
      // crash (or a copy of it) can be dead-lettered again. What counts is which records were.
      const distinct = new Set<string>();
      for (const topic of topics)
        for (const record of await deployment.records(topic))
          distinct.add(`${topic} ${record.headers['event-id'] ?? record.value?.toString('base64') ?? ''}`);
      return [...distinct];
    },
    stop() {
      // Once, however often asked (a run's end and a Ctrl-C may both ask).
      stopped ??= (async () => {
        await Promise.all([...byName.values()].flat().map((instance) => instance.stop()));
        // The stack goes with its topics and databases: nothing to clean one by one.
        await down(stack);
        fs.rmSync(dir, { recursive: true, force: true });
        report(`stopped (up ${((Date.now() - started) / 1000).toFixed(0)} s)`);
      })();
      return stopped;
    },
  };
  return platform;
}

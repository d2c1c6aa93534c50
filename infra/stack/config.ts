import fs from 'node:fs';
import path from 'node:path';

/**
 * Everything the native stack needs to know, read once from the environment. Ports default
 * to values next to, but not on, the standard ones (9092, 8081, 27017, 9090) so that the
 * stack can run beside a developer's own services, and below Linux's ephemeral range
 * (32768–60999): a port in it can be taken at any moment as the source port of some outgoing
 * connection, and a broker that then cannot bind exits while starting (most likely how a CI run
 * lost the lifecycle test's Kafka on 39092/39093).
 */
export interface StackConfig {
  /** Root of data, logs and pid files; ignored by git. */
  dir: string;
  /** Where installs are cached (default `<dir>/install`); several stacks may share one. */
  installDir: string;
  kafka: {
    version: string;
    /**
     * 1: one combined broker+controller node (the default). More: that many combined nodes
     * forming one KRaft quorum; node n (from 1) listens on `port + 10(n-1)` and
     * `controllerPort + 10(n-1)`, so every node's ports stay in the stack's scheme.
     */
    brokers: number;
    port: number;
    controllerPort: number;
    /** Per node. */
    heapMb: number;
    /**
     * `sasl`: the client listener takes SCRAM-SHA-512 only, the controller's PLAIN, and the
     * StandardAuthorizer denies what no ACL allows; users are created when the log is formatted.
     */
    security: KafkaStackSecurity;
  };
  registry: { version: string; port: number; managementPort: number; heapMb: number };
  /** The document store (nx-27017; its version is pinned in document-store.requirements.txt). */
  mongo: { port: number };
  prometheus: { port: number; scrapeConfig: string };
  /** Give up waiting for a component to become ready after this long. */
  readyTimeoutMs: number;
}

export const kafkaStackSecurities = ['plaintext', 'sasl'] as const;
export type KafkaStackSecurity = (typeof kafkaStackSecurities)[number];

const projectRoot = path.resolve(__dirname, '..', '..');

export function readStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
    }
    return value;
  };
  const port = (name: string, fallback: number): number => integer(name, fallback, 1, 65535);
  const text = (name: string, fallback: string): string => env[name] || fallback;
  const dir = path.resolve(text('STACK_DIR', path.join(projectRoot, '.stack')));
  const security = text('STACK_KAFKA_SECURITY', 'plaintext');
  // Unset: the size of the Kafka this stack last started (while it runs, so `status`, `down`, a
  // killed node's restart by `up` and a platform joining the stack see the cluster), else one.
  const brokers = integer('STACK_KAFKA_BROKERS', recordedKafkaBrokers(dir) ?? 1, 1, 5);
  if (!(kafkaStackSecurities as readonly string[]).includes(security))
    throw new Error(
      `STACK_KAFKA_SECURITY must be one of ${kafkaStackSecurities.join(', ')}, got '${security}'`,
    );
  return {
    dir,
    installDir: path.resolve(text('STACK_INSTALL_DIR', path.join(dir, 'install'))),
    kafka: {
      version: text('STACK_KAFKA_VERSION', '4.1.1'),
      brokers,
      port: port('STACK_KAFKA_PORT', 19092),
      controllerPort: port('STACK_KAFKA_CONTROLLER_PORT', 19093),
      // Three JVMs beside the registry's on a 2-core, 24 GiB machine: 512 MB each is plenty
      // for a development cluster (a node's resident set measured in README.md).
      heapMb: integer('STACK_KAFKA_HEAP_MB', brokers === 1 ? 768 : 512, 128, 16384),
      security: security as KafkaStackSecurity,
    },
    registry: {
      version: text('STACK_REGISTRY_VERSION', '3.3.3'),
      port: port('STACK_REGISTRY_PORT', 18081),
      managementPort: port('STACK_REGISTRY_MANAGEMENT_PORT', 18082),
      heapMb: integer('STACK_REGISTRY_HEAP_MB', 512, 128, 16384),
    },
    mongo: { port: port('STACK_MONGO_PORT', 17017) },
    prometheus: {
      port: port('STACK_PROMETHEUS_PORT', 19090),
      scrapeConfig: path.resolve(
        text(
          'STACK_PROMETHEUS_CONFIG',
          path.join(projectRoot, 'infra', 'prometheus', 'prometheus.native.yml'),
        ),
      ),
    },
    readyTimeoutMs: integer('STACK_READY_TIMEOUT_MS', 180_000, 1_000, 3_600_000),
  };
}

/**
 * The stack the test suite runs on when no endpoints are given: its own data directory
 * (`.stack/test`, or `TEST_STACK_DIR`) and ports, so the topics, subjects and databases tests
 * create never land in the stack `npm start` uses, and both can run side by side. Each port is
 * the user's stack's plus 100 (19192, 18181, 17117, 19190 by default; a further 100 if that
 * would meet one of the user's ports), or `TEST_<variable>` (e.g. `TEST_STACK_KAFKA_PORT`).
 * Installs are shared with the user's stack; versions and heaps follow the same variables.
 */
export function testStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const user = readStackConfig(env);
  const userPorts = Object.values(portVariables(user));
  let offset = 100;
  while (userPorts.some((port) => userPorts.includes(port + offset))) offset += 100;
  const ports = Object.fromEntries(
    Object.entries(portVariables(user)).map(([name, port]) => [
      name,
      env[`TEST_${name}`] || String(port + offset),
    ]),
  );
  return readStackConfig({
    ...env,
    ...ports,
    STACK_DIR: env.TEST_STACK_DIR || path.join(projectRoot, '.stack', 'test'),
    STACK_INSTALL_DIR: user.installDir,
    // The suite's clients speak plaintext; tests of the secure broker start one of their own.
    STACK_KAFKA_SECURITY: 'plaintext',
    // One broker, whatever the user's stack runs: test/faults/cluster.test.ts starts its own cluster.
    STACK_KAFKA_BROKERS: '1',
  });
}

function portVariables(config: StackConfig): Record<string, number> {
  return {
    STACK_KAFKA_PORT: config.kafka.port,
    STACK_KAFKA_CONTROLLER_PORT: config.kafka.controllerPort,
    STACK_REGISTRY_PORT: config.registry.port,
    STACK_REGISTRY_MANAGEMENT_PORT: config.registry.managementPort,
    STACK_MONGO_PORT: config.mongo.port,
    STACK_PROMETHEUS_PORT: config.prometheus.port,
  };
}

/** The STACK_* variables that make `readStackConfig` return this configuration. */
export function stackVariables(config: StackConfig): Record<string, string> {
  const ports = Object.entries(portVariables(config)).map(([name, port]) => [name, String(port)]);
  return {
    STACK_DIR: config.dir,
    STACK_INSTALL_DIR: config.installDir,
    STACK_KAFKA_BROKERS: String(config.kafka.brokers),
    ...Object.fromEntries(ports),
  };
}

/** The endpoints a client of the stack connects to, in the variables the platform reads. */
export function stackEndpoints(config: StackConfig): Record<string, string> {
  return {
    KAFKA_BROKERS: kafkaNodes(config)
      .map((node) => `127.0.0.1:${node.port}`)
      .join(','),
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${config.registry.port}/apis/ccompat/v7`,
    MONGO_URL: `mongodb://127.0.0.1:${config.mongo.port}/`,
    PROMETHEUS_URL: `http://127.0.0.1:${config.prometheus.port}`,
  };
}

/** One node of the stack's Kafka: a combined broker and controller. */
export interface KafkaNode {
  /** `kafka` for the single node, `kafka-<id>` in a cluster: its pid, log and data go by it. */
  readonly name: 'kafka' | `kafka-${number}`;
  /** KRaft `node.id`, from 1. */
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number;
}

/** Ports of consecutive nodes are this far apart, so a node's two ports never meet its neighbour's. */
const kafkaNodePortStep = 10;

export function kafkaNodes(config: Pick<StackConfig, 'kafka'>): KafkaNode[] {
  const { brokers, port, controllerPort } = config.kafka;
  const nodes = Array.from({ length: brokers }, (_, index) => ({
    name: brokers === 1 ? ('kafka' as const) : (`kafka-${index + 1}` as const),
    id: index + 1,
    port: port + kafkaNodePortStep * index,
    controllerPort: controllerPort + kafkaNodePortStep * index,
  }));
  const ports = nodes.flatMap((node) => [node.port, node.controllerPort]);
  const clash = ports.find((candidate, index) => ports.indexOf(candidate) !== index);
  if (clash !== undefined || ports.some((candidate) => candidate > 65535))
    throw new Error(
      `STACK_KAFKA_PORT ${port} and STACK_KAFKA_CONTROLLER_PORT ${controllerPort} cannot place ${brokers} nodes ` +
        `${kafkaNodePortStep} ports apart (${clash === undefined ? 'beyond 65535' : `port ${clash} twice`}); move one of them`,
    );
  return nodes;
}

/** Where `up` records the size of the Kafka it started; `down` removes it. */
export function kafkaBrokersRecord(config: Pick<StackConfig, 'dir'>): string {
  return path.join(config.dir, 'run', 'kafka-brokers');
}

function recordedKafkaBrokers(dir: string): number | undefined {
  try {
    const value = Number(fs.readFileSync(kafkaBrokersRecord({ dir }), 'utf8').trim());
    return Number.isInteger(value) && value >= 1 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The brokers a command-line tool talks to: KAFKA_BROKERS, else the native stack's.
 */
export function defaultKafkaBrokers(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.KAFKA_BROKERS || stackEndpoints(readStackConfig(env)).KAFKA_BROKERS || '')
    .split(',')
    .filter(Boolean);
}

/** The registry a command-line tool talks to: SCHEMA_REGISTRY_URL, else the native stack's. */
export function defaultSchemaRegistryUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.SCHEMA_REGISTRY_URL || stackEndpoints(readStackConfig(env)).SCHEMA_REGISTRY_URL || '';
}

/** The SCRAM users of a secure stack's broker and their passwords (generated, mode 0600). */
export interface KafkaCredentials {
  readonly mechanism: 'scram-sha-512';
  readonly users: Readonly<Record<string, string>>;
}

/** Where a secure stack keeps its broker's credentials: beside the log they were formatted into. */
export function kafkaCredentialsFile(config: Pick<StackConfig, 'dir'>): string {
  return path.join(config.dir, 'data', 'kafka', 'credentials.json');
}

export function readKafkaCredentials(file: string): KafkaCredentials {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const users = typeof parsed === 'object' && parsed !== null && 'users' in parsed ? parsed.users : undefined;
  if (
    typeof users !== 'object' ||
    users === null ||
    !Object.values(users).every((password) => typeof password === 'string')
  )
    throw new Error(`${file} holds no users`);
  return { mechanism: 'scram-sha-512', users: users as Record<string, string> };
}

import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { principalFor, adminPrincipal } from '@contracts/principals';
import { parseReplicationSetting, type ReplicationSetting } from '@contracts/provision';
import {
  kafkaCredentialsFile,
  readKafkaCredentials,
  readStackConfig,
  stackEndpoints,
} from '@infra/stack/config';
import { kafkaRunsSecure } from '@infra/stack/components';
import { up } from '@infra/stack/stack';
import type { ApiKey, AuthSettings, JwtSettings } from '@runtime/auth';
import { saslMechanisms, type KafkaSecurity, type SaslMechanism } from '@runtime/kafka-security';
import { logLevels, type LogLevel } from '@runtime/log';
import { parseApiKeys, readApiKeysFile, withDevelopmentCredentials } from './credentials';
import type { ContextName } from './contexts';

export interface Endpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  mongoUrl: string;
  /** Where Prometheus answers, when known (the native stack's, or PROMETHEUS_URL). */
  prometheusUrl?: string;
  /**
   * The SCRAM users of the native stack's broker, when it was brought up secure: the process
   * then authenticates as the principal of its contexts, and provisions as the stack's admin.
   */
  stackKafkaCredentials?: string;
}

export class ConfigError extends Error {}

/**
 * One environment variable as the README's configuration table shows it. The platform's own
 * parser below reads its variables through these declarations (so the range shown is the range
 * enforced); the native stack's are described here and checked against `readStackConfig` by
 * `platform/config.spec.ts`, which also checks the README table against this list.
 */
export interface VariableReference {
  readonly name: string;
  /** As the table shows it. */
  readonly default: string;
  readonly range: string;
  readonly meaning: string;
}

interface IntegerVariable extends VariableReference {
  readonly kind: 'integer';
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
}

function integer(
  name: string,
  fallback: number,
  min: number,
  max: number,
  meaning: string,
  shownDefault = String(fallback),
): IntegerVariable {
  return {
    kind: 'integer',
    name,
    fallback,
    min,
    max,
    meaning,
    default: shownDefault,
    range: `${min}–${max}`,
  };
}

const endpointNames = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'MONGO_URL'] as const;

/** Every variable a platform process reads (`npm start`, `npm run context`). */
export const platformVariables = {
  KAFKA_BROKERS: {
    name: 'KAFKA_BROKERS',
    default: "the native stack's",
    range: 'host:port[,host:port…]',
    meaning:
      'bootstrap brokers. Give all three endpoints (this, `SCHEMA_REGISTRY_URL`, `MONGO_URL`) or none: with none the native stack is brought up; with some, the process refuses to start and names the missing ones',
  },
  SCHEMA_REGISTRY_URL: {
    name: 'SCHEMA_REGISTRY_URL',
    default: "the native stack's",
    range: 'http(s) URL',
    meaning: 'Confluent-compatible schema registry base URL',
  },
  SCHEMA_REGISTRY_USERNAME: {
    name: 'SCHEMA_REGISTRY_USERNAME',
    default: '(none)',
    range: 'a user name',
    meaning: 'HTTP basic authentication to the registry (with `SCHEMA_REGISTRY_PASSWORD`)',
  },
  SCHEMA_REGISTRY_PASSWORD: {
    name: 'SCHEMA_REGISTRY_PASSWORD',
    default: '(none)',
    range: 'text',
    meaning: 'its password (never logged)',
  },
  MONGO_URL: {
    name: 'MONGO_URL',
    default: "the native stack's",
    range: 'MongoDB connection string',
    meaning: 'the document store (credentials in it are never logged)',
  },
  PROMETHEUS_URL: {
    name: 'PROMETHEUS_URL',
    default: "the native stack's, when it was brought up",
    range: 'http(s) URL',
    meaning: 'only printed at start, as where to look',
  },
  PORT: integer('PORT', 8080, 0, 65535, "the process's HTTP port (0: any free port)"),
  HTTP_HOST: {
    name: 'HTTP_HOST',
    default: '127.0.0.1',
    range: 'an address or host name',
    meaning: 'where the HTTP server listens (`0.0.0.0`: every interface)',
  },
  METRICS_PORT: integer(
    'METRICS_PORT',
    9464,
    0,
    65535,
    'the `/metrics` listener, for Prometheus, without credentials (0: any free port); nothing else is served there',
  ),
  METRICS_HOST: {
    name: 'METRICS_HOST',
    default: '127.0.0.1',
    range: 'an address or host name',
    meaning:
      "where the `/metrics` listener listens (docker-compose: `0.0.0.0` on the containers' network, not published)",
  },
  HTTP_API_KEYS: {
    name: 'HTTP_API_KEYS',
    default: '(none)',
    range: '`client:role[+role…]:key`, comma-separated',
    meaning:
      'API keys accepted as bearer tokens, each with its client name and roles (see [Authentication](#authentication)); keys of 24–512 characters',
  },
  HTTP_API_KEYS_FILE: {
    name: 'HTTP_API_KEYS_FILE',
    default: '(none; see [Authentication](#authentication) for the development keys)',
    range: 'a file, one `client:roles:key` a line',
    meaning: 'more API keys, from a file (`#` comments)',
  },
  HTTP_JWT_SECRET: {
    name: 'HTTP_JWT_SECRET',
    default: '(none)',
    range: 'at least 32 characters',
    meaning: 'accept JWTs signed HS256 with this shared secret (never logged)',
  },
  HTTP_JWT_PUBLIC_KEY: {
    name: 'HTTP_JWT_PUBLIC_KEY',
    default: '(none)',
    range: 'a PEM public key (RSA, EC P-256/384/521, Ed25519), or a file holding one',
    meaning: 'accept JWTs signed with its private key (RS/PS, ES or EdDSA)',
  },
  HTTP_JWT_ISSUER: {
    name: 'HTTP_JWT_ISSUER',
    default: '(not checked)',
    range: 'text',
    meaning: "a JWT's `iss` must be this",
  },
  HTTP_JWT_AUDIENCE: {
    name: 'HTTP_JWT_AUDIENCE',
    default: '(not checked)',
    range: 'text',
    meaning: "a JWT's `aud` must hold this",
  },
  HTTP_RATE_LIMIT: integer(
    'HTTP_RATE_LIMIT',
    1000,
    1,
    1_000_000,
    "requests per window per client (an API key's client, a JWT's `sub`); more get `429` with `Retry-After`",
  ),
  HTTP_RATE_LIMIT_ANONYMOUS: integer(
    'HTTP_RATE_LIMIT_ANONYMOUS',
    50,
    1,
    1_000_000,
    'requests per window per client address without valid credentials (each also gets its `401`)',
  ),
  HTTP_RATE_LIMIT_WINDOW_MS: integer(
    'HTTP_RATE_LIMIT_WINDOW_MS',
    1000,
    1000,
    3_600_000,
    'the window of both rate limits',
  ),
  MONGO_DATABASE: {
    name: 'MONGO_DATABASE',
    default: '`scm_platform`',
    range: 'a database name',
    meaning: 'database of the hosted contexts (each owns its own collections)',
  },
  TOPIC_NAMESPACE: {
    name: 'TOPIC_NAMESPACE',
    default: '(empty)',
    range: 'letters, digits, `.` `_` `-`',
    meaning: 'prefix of every topic and consumer group (tests isolate themselves with it)',
  },
  ORDER_PLACED_VERSION: integer(
    'ORDER_PLACED_VERSION',
    2,
    1,
    2,
    'OrderPlaced version this storefront instance writes (1 during a rollout)',
  ),
  AUTO_ADVANCE_MS: integer(
    'AUTO_ADVANCE_MS',
    0,
    0,
    3_600_000,
    'kitchen, warehouse and delivery move tasks on after this delay (0: off)',
    '0 (1500 with `--demo`)',
  ),
  MAPPING_REFRESH_MS: integer(
    'MAPPING_REFRESH_MS',
    2_000,
    100,
    600_000,
    'how often an adapter instance re-reads its map',
  ),
  HTTP_BODY_LIMIT_BYTES: integer(
    'HTTP_BODY_LIMIT_BYTES',
    64 * 1024,
    1024,
    10 * 1024 * 1024,
    'larger request bodies get `413`',
  ),
  KAFKA_REPLICATION_FACTOR: {
    name: 'KAFKA_REPLICATION_FACTOR',
    default: "auto: the cluster's `default.replication.factor`",
    range: 'auto, 1–5',
    meaning:
      'copies of every topic the platform creates; `min.insync.replicas` follows (2 from 3 copies, else 1; see [Cluster](#cluster)). The native stack sets the default to 1 on one node, 3 on a cluster',
  },
  KAFKA_SASL_USERNAME: {
    name: 'KAFKA_SASL_USERNAME',
    default: "(none: no SASL; on the secure native stack, its contexts' principal)",
    range: 'a principal name',
    meaning:
      'the Kafka principal this process authenticates as, e.g. `scm-inventory` (see [Kafka security](#kafka-security))',
  },
  KAFKA_SASL_PASSWORD: {
    name: 'KAFKA_SASL_PASSWORD',
    default: '(none)',
    range: 'text',
    meaning: 'its password (never logged)',
  },
  KAFKA_SASL_MECHANISM: {
    name: 'KAFKA_SASL_MECHANISM',
    default: 'scram-sha-512',
    range: saslMechanisms.join(', '),
    meaning: 'how it authenticates, when `KAFKA_SASL_USERNAME` is set',
  },
  KAFKA_TLS: {
    name: 'KAFKA_TLS',
    default: 'false',
    range: 'true, false',
    meaning: 'TLS to the brokers (SASL_SSL with a user, SSL without)',
  },
  KAFKA_TLS_CA_FILE: {
    name: 'KAFKA_TLS_CA_FILE',
    default: "the system's CAs",
    range: 'a PEM file',
    meaning: "the CA certificates that signed the brokers' certificates (implies `KAFKA_TLS=true`)",
  },
  KAFKA_PROVISION: {
    name: 'KAFKA_PROVISION',
    default: 'true',
    range: 'true, false',
    meaning:
      'the process creates its topics and dead-letter topics at start; `false` where an admin provisions them (`npm run topics:provision`), as a context principal may not',
  },
  LOG_LEVEL: {
    name: 'LOG_LEVEL',
    default: 'info',
    range: logLevels.join(', '),
    meaning:
      'JSON lines on stdout; `info` is a few lines a minute at demo rates, `debug` adds a line per event and per HTTP request',
  },
  KAFKA_SESSION_TIMEOUT_MS: integer(
    'KAFKA_SESSION_TIMEOUT_MS',
    30_000,
    6_000,
    300_000,
    "how long the broker waits for a silent consumer before it hands the consumer's partitions to another instance (within the broker's group.min/max.session.timeout.ms)",
  ),
  FAULT_KILL_AFTER_BATCHES: integer(
    'FAULT_KILL_AFTER_BATCHES',
    0,
    0,
    1_000_000,
    'fault tests only: the process SIGKILLs itself at `FAULT_KILL_POINT` of its n-th batch (0: off)',
  ),
  FAULT_KILL_POINT: {
    name: 'FAULT_KILL_POINT',
    default: 'write',
    range: 'write, produce, publish',
    meaning:
      "fault tests only: `write` after a batch's state writes, before its commit; `produce` once the events those writes caused are also published, before the commit; `publish` after the outbox relay published, before it clears what it published",
  },
} as const satisfies Record<string, VariableReference>;

/**
 * The native stack's variables (`infra/stack/config.ts`), read by `npm run stack` and by a
 * platform process that brings the stack up.
 */
export const stackVariables: readonly VariableReference[] = [
  {
    name: 'STACK_DIR',
    default: '`.stack`',
    range: 'a directory',
    meaning: 'data, logs and pid files of the native stack',
  },
  {
    name: 'STACK_INSTALL_DIR',
    default: '`$STACK_DIR/install`',
    range: 'a directory',
    meaning: 'cached installs (can be shared between stacks)',
  },
  {
    name: 'STACK_KAFKA_VERSION',
    default: '4.1.1',
    range: 'a Kafka release on Maven Central',
    meaning: 'the broker',
  },
  {
    name: 'STACK_KAFKA_BROKERS',
    default: "1, or the size of the stack's running cluster",
    range: '1–5',
    meaning:
      'Kafka nodes, each a combined broker and controller (also `npm run stack -- up --brokers 3`; see [Cluster](#a-three-broker-cluster)); node n listens on `STACK_KAFKA_PORT` + 10(n−1) and its controller on `STACK_KAFKA_CONTROLLER_PORT` + 10(n−1)',
  },
  {
    name: 'STACK_KAFKA_PORT',
    default: '19092',
    range: '1–65535',
    meaning: 'the broker',
  },
  {
    name: 'STACK_KAFKA_CONTROLLER_PORT',
    default: '19093',
    range: '1–65535',
    meaning: 'its KRaft controller',
  },
  {
    name: 'STACK_KAFKA_HEAP_MB',
    default: '768 (512 a node in a cluster)',
    range: '128–16384',
    meaning: "the broker's JVM heap, per node",
  },
  {
    name: 'STACK_KAFKA_SECURITY',
    default: 'plaintext',
    range: 'plaintext, sasl',
    meaning:
      '`sasl`: SCRAM-SHA-512 users and ACLs, passwords generated into `$STACK_DIR/data/kafka/credentials.json` (also `npm run stack -- up --secure`; see [Kafka security](#kafka-security))',
  },
  {
    name: 'STACK_REGISTRY_VERSION',
    default: '3.3.3',
    range: 'an Apicurio Registry release on Maven Central',
    meaning: 'the schema registry',
  },
  {
    name: 'STACK_REGISTRY_PORT',
    default: '18081',
    range: '1–65535',
    meaning: 'the schema registry',
  },
  {
    name: 'STACK_REGISTRY_MANAGEMENT_PORT',
    default: '18082',
    range: '1–65535',
    meaning: "the registry's management port",
  },
  {
    name: 'STACK_REGISTRY_HEAP_MB',
    default: '512',
    range: '128–16384',
    meaning: "the registry's JVM heap",
  },
  {
    name: 'STACK_MONGO_PORT',
    default: '17017',
    range: '1–65535',
    meaning: 'the document store (its version is pinned in `infra/stack/document-store.requirements.txt`)',
  },
  {
    name: 'STACK_PROMETHEUS_PORT',
    default: '19090',
    range: '1–65535',
    meaning: 'Prometheus',
  },
  {
    name: 'STACK_PROMETHEUS_CONFIG',
    default: '`infra/prometheus/prometheus.native.yml`',
    range: 'a file',
    meaning: 'what Prometheus scrapes',
  },
  {
    name: 'STACK_READY_TIMEOUT_MS',
    default: '180000',
    range: '1000–3600000',
    meaning: 'how long `up` waits for a component',
  },
];

/** The README's configuration table, in order. */
export const configurationReference: readonly VariableReference[] = [
  ...Object.values(platformVariables),
  ...stackVariables,
];

/**
 * The components the platform talks to: the three named in the environment, or, when none is,
 * the native local stack, brought up (and installed on first use) here. Some but not all is a
 * mistake (a typo, a forgotten export) that must not silently run against another store.
 */
export async function resolveEndpoints(
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  bringUpStack: (
    env: NodeJS.ProcessEnv,
    say: (line: string) => void,
  ) => Promise<Record<string, string>> = nativeStack,
): Promise<Endpoints> {
  const given = endpointNames.filter((name) => (env[name] ?? '') !== '');
  const prometheus = env.PROMETHEUS_URL;
  if (given.length > 0 && given.length < endpointNames.length) {
    const missing = endpointNames.filter((name) => !given.includes(name));
    throw new ConfigError(
      `${given.join(' and ')} ${given.length === 1 ? 'is' : 'are'} set but ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not: ` +
        'give all three endpoints, or none to run on the native local stack',
    );
  }
  let found: Record<string, string | undefined> = {
    KAFKA_BROKERS: env.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
    MONGO_URL: env.MONGO_URL,
    PROMETHEUS_URL: prometheus,
  };
  if (given.length === 0) {
    say(`no endpoints given (${endpointNames.join(', ')}): bringing up the native local stack`);
    found = await bringUpStack(env, say);
  }
  const brokers = String(found.KAFKA_BROKERS)
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS names no broker');
  return {
    kafkaBrokers: brokers,
    schemaRegistryUrl: String(found.SCHEMA_REGISTRY_URL),
    mongoUrl: String(found.MONGO_URL),
    ...(found.PROMETHEUS_URL ? { prometheusUrl: found.PROMETHEUS_URL } : {}),
    ...(found.STACK_KAFKA_CREDENTIALS ? { stackKafkaCredentials: found.STACK_KAFKA_CREDENTIALS } : {}),
  };
}

async function nativeStack(
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
): Promise<Record<string, string>> {
  const config = readStackConfig(env);
  await up(config, [], (line) => say(`stack: ${line}`));
  return {
    ...stackEndpoints(config),
    ...(kafkaRunsSecure(config) ? { STACK_KAFKA_CREDENTIALS: kafkaCredentialsFile(config) } : {}),
  };
}

export interface PlatformConfig extends Endpoints {
  /** The contexts this process hosts. */
  readonly contexts: readonly ContextName[];
  readonly httpPort: number;
  readonly httpHost: string;
  /** Who may call the API (credentials, rate limits), and where `/metrics` is served. */
  readonly http: HttpSettings;
  /** MongoDB database holding every hosted context's collections (each context owns its own). */
  readonly database: string;
  /** Prefix of every topic and consumer group name; empty in production, unique per test run. */
  readonly topicNamespace: string;
  /** `auto`: the cluster's default, read when the topics are provisioned (contracts/provision.ts). */
  readonly replicationFactor: ReplicationSetting;
  /** How this process's Kafka clients authenticate (plaintext when nothing is configured). */
  readonly kafkaSecurity: KafkaSecurity;
  /**
   * Whether this process creates its topics at start, and as whom: itself, or the secure native
   * stack's admin, who then also grants the ACLs of this deployment's principals.
   */
  readonly provisioning: { readonly enabled: boolean; readonly admin?: KafkaSecurity };
  readonly schemaRegistryAuth?: { readonly username: string; readonly password: string };
  readonly bodyLimitBytes: number;
  readonly logLevel: LogLevel;
  readonly order: {
    readonly orderPlacedVersion: 1 | 2;
    readonly bodyLimitBytes: number;
  };
  readonly orderScmAdapter: {
    readonly mappingRefreshMs: number;
    readonly bodyLimitBytes: number;
  };
  /** SCM contexts (kitchen, warehouse, delivery) advance their own work after this delay; off when null. */
  readonly autoAdvance: AutoAdvance | null;
  /**
   * Fault injection for the fault tests, never set in production: `FAULT_KILL_AFTER_BATCHES=n`
   * makes the process SIGKILL itself once its consumers have made the writes of n batches
   * durable, before those batches' offsets are committed.
   */
  readonly faults: { readonly killAfterBatches: number | null; readonly killPoint: FaultKillPoint };
  /** The consumer groups' session: how long a silent member keeps its partitions. */
  readonly kafkaSessionTimeoutMs: number;
}

export const faultKillPoints = ['write', 'produce', 'publish'] as const;
export type FaultKillPoint = (typeof faultKillPoints)[number];

export interface AutoAdvance {
  /** How long a task waits in each step before it is moved on, as if by a person. */
  readonly delayMs: number;
}

function replicationSettingFrom(env: NodeJS.ProcessEnv): ReplicationSetting {
  const raw = env.KAFKA_REPLICATION_FACTOR || 'auto';
  const setting = parseReplicationSetting(raw);
  if (setting === undefined || (setting !== 'auto' && setting > 5))
    throw new ConfigError(`KAFKA_REPLICATION_FACTOR must be auto or an integer from 1 to 5, got "${raw}"`);
  return setting;
}

function booleanFrom(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/**
 * The process's Kafka security from KAFKA_SASL_* and KAFKA_TLS*. Without a user, on the native
 * stack brought up secure, the principal of the hosted contexts with the stack's password for it.
 */
export function readKafkaSecurity(
  env: NodeJS.ProcessEnv,
  native?: {
    readonly credentialsFile: string;
    readonly contexts: readonly ContextName[];
    /** Another principal of the stack's than the contexts' (tools: the admin). */
    readonly principal?: string;
  },
): KafkaSecurity {
  const username = env.KAFKA_SASL_USERNAME ?? '';
  const password = env.KAFKA_SASL_PASSWORD ?? '';
  const mechanism = env.KAFKA_SASL_MECHANISM || 'scram-sha-512';
  if (!(saslMechanisms as readonly string[]).includes(mechanism))
    throw new ConfigError(
      `KAFKA_SASL_MECHANISM must be one of ${saslMechanisms.join(', ')}, got "${mechanism}"`,
    );
  const caFile = env.KAFKA_TLS_CA_FILE ?? '';
  const tls = booleanFrom(env, 'KAFKA_TLS', false) || caFile !== '';
  const tlsPart: Pick<KafkaSecurity, 'tls'> = tls ? { tls: caFile === '' ? {} : { ca: readCa(caFile) } } : {};
  if (username === '' && password !== '')
    throw new ConfigError('KAFKA_SASL_PASSWORD is set but KAFKA_SASL_USERNAME is not');
  if (username !== '' && password === '')
    throw new ConfigError(`KAFKA_SASL_USERNAME is ${username} but KAFKA_SASL_PASSWORD is not set`);
  if (username !== '')
    return { ...tlsPart, sasl: { mechanism: mechanism as SaslMechanism, username, password } };
  if (native === undefined) return tlsPart;
  return stackPrincipal(native.credentialsFile, native.principal ?? principalFor(native.contexts));
}

/**
 * The Kafka security of an operator's tool (`npm run dlq`, `npm run kafka:provision`, the
 * benchmark): KAFKA_SASL_* and KAFKA_TLS*, else, against the native stack's broker started secure,
 * its admin.
 */
export function readToolKafkaSecurity(env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  const stack = readStackConfig(env);
  const native = !env.KAFKA_BROKERS && !env.KAFKA_SASL_USERNAME && kafkaRunsSecure(stack);
  return readKafkaSecurity(
    env,
    native
      ? { credentialsFile: kafkaCredentialsFile(stack), contexts: [], principal: adminPrincipal }
      : undefined,
  );
}

function stackPrincipal(credentialsFile: string, principal: string): KafkaSecurity {
  const credentials = readKafkaCredentials(credentialsFile);
  const password = credentials.users[principal];
  if (password === undefined)
    throw new ConfigError(`the native stack's broker has no user ${principal} (${credentialsFile})`);
  return { sasl: { mechanism: credentials.mechanism, username: principal, password } };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `KAFKA_TLS_CA_FILE ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function integerFrom(env: NodeJS.ProcessEnv, variable: IntegerVariable): number {
  const { name, fallback, min, max } = variable;
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

/**
 * The platform's settings, from the environment, checked once at start. `contexts` is what the
 * command asked for (the main command: all of them; the per-context command: one).
 */
export function readPlatformConfig(
  endpoints: Endpoints,
  contexts: readonly ContextName[],
  env: NodeJS.ProcessEnv = process.env,
  { demo = false }: { demo?: boolean } = {},
): PlatformConfig {
  const vars = platformVariables;
  const logLevel = env.LOG_LEVEL || 'info';
  if (!logLevels.includes(logLevel as LogLevel))
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${logLevel}"`);
  const version = integerFrom(env, vars.ORDER_PLACED_VERSION);
  const bodyLimitBytes = integerFrom(env, vars.HTTP_BODY_LIMIT_BYTES);
  const namespace = env.TOPIC_NAMESPACE ?? '';
  if (!/^[a-zA-Z0-9._-]*$/.test(namespace))
    throw new ConfigError(`TOPIC_NAMESPACE may hold only letters, digits, . _ -, got "${namespace}"`);
  const autoAdvanceMs = integerFrom(env, vars.AUTO_ADVANCE_MS);
  const killPoint = (env.FAULT_KILL_POINT || 'write') as FaultKillPoint;
  if (!faultKillPoints.includes(killPoint))
    throw new ConfigError(
      `FAULT_KILL_POINT must be one of ${faultKillPoints.join(', ')}, got "${killPoint}"`,
    );
  const native = endpoints.stackKafkaCredentials;
  const kafkaSecurity = readKafkaSecurity(
    env,
    native === undefined ? undefined : { credentialsFile: native, contexts },
  );
  const registryUser = env.SCHEMA_REGISTRY_USERNAME ?? '';
  const registryPassword = env.SCHEMA_REGISTRY_PASSWORD ?? '';
  if ((registryUser === '') !== (registryPassword === ''))
    throw new ConfigError('give both SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD, or neither');
  const provision = booleanFrom(env, 'KAFKA_PROVISION', true);
  return {
    ...endpoints,
    contexts,
    httpPort: integerFrom(env, vars.PORT),
    httpHost: env.HTTP_HOST || '127.0.0.1',
    http: readHttpSettings(env),
    database: env.MONGO_DATABASE || 'scm_platform',
    topicNamespace: namespace,
    replicationFactor: replicationSettingFrom(env),
    kafkaSecurity,
    provisioning: {
      enabled: provision,
      // The secure native stack is this machine's own: its admin provisions the deployment.
      ...(native !== undefined && provision && kafkaSecurity.sasl?.username !== adminPrincipal
        ? { admin: stackPrincipal(native, adminPrincipal) }
        : {}),
    },
    ...(registryUser === ''
      ? {}
      : { schemaRegistryAuth: { username: registryUser, password: registryPassword } }),
    bodyLimitBytes,
    logLevel: logLevel as LogLevel,
    order: { orderPlacedVersion: version === 1 ? 1 : 2, bodyLimitBytes },
    // Demo traffic moves by itself unless told otherwise.
    autoAdvance:
      autoAdvanceMs > 0
        ? { delayMs: autoAdvanceMs }
        : demo && (env.AUTO_ADVANCE_MS ?? '') === ''
          ? { delayMs: 1500 }
          : null,
    orderScmAdapter: {
      mappingRefreshMs: integerFrom(env, vars.MAPPING_REFRESH_MS),
      bodyLimitBytes,
    },
    faults: {
      killAfterBatches: integerFrom(env, vars.FAULT_KILL_AFTER_BATCHES) || null,
      killPoint,
    },
    kafkaSessionTimeoutMs: integerFrom(env, vars.KAFKA_SESSION_TIMEOUT_MS),
  };
}

export interface HttpSettings {
  readonly auth: AuthSettings;
  readonly metricsPort: number;
  readonly metricsHost: string;
}

function readHttpSettings(env: NodeJS.ProcessEnv): HttpSettings {
  const vars = platformVariables;
  const apiKeys: ApiKey[] = [];
  try {
    if (env.HTTP_API_KEYS) apiKeys.push(...parseApiKeys(env.HTTP_API_KEYS, 'HTTP_API_KEYS'));
    if (env.HTTP_API_KEYS_FILE) apiKeys.push(...readApiKeysFile(env.HTTP_API_KEYS_FILE));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (new Set(apiKeys.map((entry) => entry.key)).size < apiKeys.length)
    throw new ConfigError('an API key is given twice (HTTP_API_KEYS and HTTP_API_KEYS_FILE)');
  const secret = env.HTTP_JWT_SECRET ?? '';
  if (secret !== '' && secret.length < 32)
    throw new ConfigError('HTTP_JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit secret)');
  const publicKey = readPublicKey(env.HTTP_JWT_PUBLIC_KEY ?? '');
  const issuer = env.HTTP_JWT_ISSUER ?? '';
  const audience = env.HTTP_JWT_AUDIENCE ?? '';
  const jwt: JwtSettings | null =
    secret === '' && publicKey === undefined
      ? null
      : {
          ...(secret === '' ? {} : { secret }),
          ...(publicKey === undefined ? {} : { publicKey }),
          ...(issuer === '' ? {} : { issuer }),
          ...(audience === '' ? {} : { audience }),
        };
  return {
    auth: {
      apiKeys,
      jwt,
      rateLimit: {
        requests: integerFrom(env, vars.HTTP_RATE_LIMIT),
        anonymousRequests: integerFrom(env, vars.HTTP_RATE_LIMIT_ANONYMOUS),
        windowMs: integerFrom(env, vars.HTTP_RATE_LIMIT_WINDOW_MS),
      },
    },
    metricsPort: integerFrom(env, vars.METRICS_PORT),
    metricsHost: env.METRICS_HOST || '127.0.0.1',
  };
}

/** A PEM given inline, or the file holding it; checked here so that a bad key stops the start. */
function readPublicKey(given: string): string | undefined {
  if (given === '') return undefined;
  let pem = given.replace(/\\n/g, '\n');
  if (!pem.includes('-----BEGIN')) {
    try {
      pem = readFileSync(given, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `HTTP_JWT_PUBLIC_KEY is neither a PEM key nor a readable file: ${(error as Error).message}`,
      );
    }
  }
  try {
    if (createPublicKey(pem).type !== 'public') throw new Error('not a public key');
  } catch (error) {
    throw new ConfigError(`HTTP_JWT_PUBLIC_KEY is not a usable public key: ${(error as Error).message}`);
  }
  return pem;
}

/**
 * The environment `npm start` and `npm run context` configure their platform from: the process's,
 * plus the development API keys of the stack directory when no HTTP credential is configured and
 * the API listens on loopback (see `withDevelopmentCredentials`).
 */
export function commandEnvironment(env: NodeJS.ProcessEnv = process.env): {
  readonly env: NodeJS.ProcessEnv;
  readonly developmentKeys?: string;
} {
  return withDevelopmentCredentials(env, readStackConfig(env).dir);
}

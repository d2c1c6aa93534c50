import { readStackConfig, stackEndpoints } from '@infra/stack/config';
import { up } from '@infra/stack/stack';
import type { LogLevel } from '@runtime/log';
import type { ContextName } from './contexts';

export interface Endpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  mongoUrl: string;
  /** Where Prometheus answers, when known (the native stack's, or PROMETHEUS_URL). */
  prometheusUrl?: string;
}

/**
 * The components the platform talks to: the ones named in the environment, or else the
 * native local stack, brought up (and installed on first use) here.
 */
export async function resolveEndpoints(
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Endpoints> {
  let {
    KAFKA_BROKERS: brokers,
    SCHEMA_REGISTRY_URL: registry,
    MONGO_URL: mongo,
    PROMETHEUS_URL: prometheus,
  } = env;
  if (!brokers || !registry || !mongo) {
    say(
      'no endpoints given (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL): bringing up the native local stack',
    );
    const config = readStackConfig(env);
    await up(config, [], (line) => say(`stack: ${line}`));
    ({
      KAFKA_BROKERS: brokers,
      SCHEMA_REGISTRY_URL: registry,
      MONGO_URL: mongo,
      PROMETHEUS_URL: prometheus,
    } = stackEndpoints(config));
  }
  return {
    kafkaBrokers: String(brokers).split(','),
    schemaRegistryUrl: String(registry),
    mongoUrl: String(mongo),
    ...(prometheus ? { prometheusUrl: prometheus } : {}),
  };
}

export interface PlatformConfig extends Endpoints {
  /** The contexts this process hosts. */
  readonly contexts: readonly ContextName[];
  readonly httpPort: number;
  readonly httpHost: string;
  /** MongoDB database holding every hosted context's collections (each context owns its own). */
  readonly database: string;
  /** Prefix of every topic and consumer group name; empty in production, unique per test run. */
  readonly topicNamespace: string;
  readonly replicationFactor: number;
  readonly bodyLimitBytes: number;
  readonly logLevel: LogLevel;
  readonly order: { readonly orderPlacedVersion: 1 | 2; readonly bodyLimitBytes: number };
  readonly orderScmAdapter: { readonly mappingRefreshMs: number; readonly bodyLimitBytes: number };
  /** SCM contexts (kitchen, warehouse, delivery) advance their own work after this delay; off when null. */
  readonly autoAdvance: AutoAdvance | null;
  /**
   * Fault injection for the fault tests, never set in production: `FAULT_KILL_AFTER_BATCHES=n`
   * makes the process SIGKILL itself once its consumers have made the writes of n batches
   * durable, before those batches' offsets are committed.
   */
  readonly faults: { readonly killAfterBatches: number | null };
}

export interface AutoAdvance {
  /** How long a task waits in each step before it is moved on, as if by a person. */
  readonly delayMs: number;
}

export class ConfigError extends Error {}

function integerFrom(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
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
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!logLevels.includes(logLevel as LogLevel))
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${logLevel}"`);
  const version = integerFrom(env, 'ORDER_PLACED_VERSION', 2, 1, 2);
  const bodyLimitBytes = integerFrom(env, 'HTTP_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024);
  const namespace = env.TOPIC_NAMESPACE ?? '';
  if (!/^[a-zA-Z0-9._-]*$/.test(namespace))
    throw new ConfigError(`TOPIC_NAMESPACE may hold only letters, digits, . _ -, got "${namespace}"`);
  return {
    ...endpoints,
    contexts,
    httpPort: integerFrom(env, 'PORT', 8080, 0, 65535),
    httpHost: env.HTTP_HOST ?? '127.0.0.1',
    database: env.MONGO_DATABASE ?? 'scm_platform',
    topicNamespace: namespace,
    replicationFactor: integerFrom(env, 'KAFKA_REPLICATION_FACTOR', 1, 1, 5),
    bodyLimitBytes,
    logLevel: logLevel as LogLevel,
    order: { orderPlacedVersion: version === 1 ? 1 : 2, bodyLimitBytes },
    // Demo traffic moves by itself unless told otherwise.
    autoAdvance:
      autoAdvanceFrom(env) ?? (demo && env.AUTO_ADVANCE_MS === undefined ? { delayMs: 1500 } : null),
    orderScmAdapter: {
      mappingRefreshMs: integerFrom(env, 'MAPPING_REFRESH_MS', 2_000, 100, 600_000),
      bodyLimitBytes,
    },
    faults: { killAfterBatches: integerFrom(env, 'FAULT_KILL_AFTER_BATCHES', 0, 0, 1_000_000) || null },
  };
}

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** `AUTO_ADVANCE_MS`: unset or 0 turns auto-advance off. */
function autoAdvanceFrom(env: NodeJS.ProcessEnv): AutoAdvance | null {
  const delayMs = integerFrom(env, 'AUTO_ADVANCE_MS', 0, 0, 3_600_000);
  return delayMs === 0 ? null : { delayMs };
}

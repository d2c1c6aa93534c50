/**
 * `npm run simulate` settings: the command line, checked once, and the environment of the
 * platform it hosts when no endpoints are given.
 */
import { parseArgs } from 'node:util';
import { readStackConfig } from '@infra/stack/config';
import { developmentKeysFile } from '@platform/credentials';
import { mixes, type MixName } from './plan';

export const usage = `usage: npm run simulate -- [--rate 1] [--duration 60s] [--seed 1] [--mix realistic|delivered]
                        [--url http://host:port ...] [--advance-ms 200] [--drain 60s]
                        [--namespace NAME] [--database NAME] [--port 0]
                        [--keys FILE] [--metrics-url http://host:port ...]

  --rate        orders offered per second (open loop: placed on the clock, whatever is in flight)
  --duration    how long orders are offered: 90, 90s, 2m, 500ms
  --seed        seeds every random choice: the same seed places the same orders
  --mix         realistic: cancellations, shortages, bad orders, address changes, coupons, reviews;
                delivered: every order good and delivered (for latency measurements)
  --url         an order-context instance to place orders on (repeat for several; the first also
                serves inventory and the adapter's map); without it the platform is hosted here,
                every context plus a second storefront writing OrderPlaced v1
  --advance-ms  auto-advance delay of the hosted platform's kitchen, warehouse and couriers
  --drain       after the last order, how long to wait for orders in flight to finish
  --namespace   topic namespace (and, unless --database, database) of the hosted platform;
                default the same topics and database as npm start
  --keys        with --url: API keys (client:roles:key a line) holding storefront, inventory and
                admin (or admin alone); default the development keys ($STACK_DIR/http-api-keys).
                A hosted platform gets keys of its own, and a rate limit of 1000000/s unless
                HTTP_RATE_LIMIT is set, so the limiter never shapes the traffic
  --metrics-url with --url: a /metrics listener to scrape for lag and dead letters (repeatable)`;

export class UsageError extends Error {}

export interface SimulatorConfig {
  readonly ratePerSec: number;
  readonly durationMs: number;
  readonly seed: number;
  readonly mix: MixName;
  /** Storefronts to use; empty: host the platform in this process. */
  readonly urls: readonly string[];
  readonly advanceMs: number;
  readonly drainMs: number;
  readonly namespace: string;
  readonly database: string | null;
  readonly port: number;
  /** With `urls`: the keys file to authenticate with (undefined: the development keys). */
  readonly keysFile: string | undefined;
  readonly metricsUrls: readonly string[];
}

/** `90` (seconds), `90s`, `2m`, `500ms`, `1.5s`. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${what} must be a duration like 60s, 2m or 500ms, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}

function numberFrom(
  text: string,
  what: string,
  { min, integer = false }: { min: number; integer?: boolean },
) {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value)))
    throw new UsageError(`${what} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${text}"`);
  return value;
}

const isMixName = (name: string): name is MixName => Object.hasOwn(mixes, name);

export function parseSimulatorArgs(args: readonly string[]): SimulatorConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        rate: { type: 'string', default: '1' },
        duration: { type: 'string', default: '60s' },
        seed: { type: 'string', default: '1' },
        mix: { type: 'string', default: 'realistic' },
        url: { type: 'string', multiple: true, default: [] },
        'advance-ms': { type: 'string', default: '200' },
        drain: { type: 'string', default: '60s' },
        namespace: { type: 'string', default: '' },
        database: { type: 'string' },
        port: { type: 'string', default: '0' },
        keys: { type: 'string' },
        'metrics-url': { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) return 'help';
  const mix = values.mix;
  if (!isMixName(mix))
    throw new UsageError(`--mix must be one of ${Object.keys(mixes).join(', ')}, got "${mix}"`);
  const rate = numberFrom(values.rate, '--rate', { min: 0.001 });
  for (const url of values.url)
    if (!/^https?:\/\/[^/]+/.test(url))
      throw new UsageError(`--url must be http(s)://host:port, got "${url}"`);
  const namespace =
    values.namespace === '' || values.namespace.endsWith('.') ? values.namespace : `${values.namespace}.`;
  return {
    ratePerSec: rate,
    durationMs: parseDuration(values.duration, '--duration'),
    seed: numberFrom(values.seed, '--seed', { min: 0, integer: true }),
    mix,
    urls: values.url.map((url) => url.replace(/\/+$/, '')),
    advanceMs: numberFrom(values['advance-ms'], '--advance-ms', { min: 1, integer: true }),
    drainMs: parseDuration(values.drain, '--drain'),
    namespace,
    database:
      values.database ?? (namespace ? namespace.replace(/[^a-zA-Z0-9]/g, '_').replace(/_+$/, '') : null),
    port: numberFrom(values.port, '--port', { min: 0, integer: true }),
    keysFile: values.keys,
    metricsUrls: values['metrics-url'].map((url) => url.replace(/\/+$/, '')),
  };
}

/**
 * The environment of the hosted platform's two processes: every context, and a second storefront
 * writing OrderPlaced v1 (a rollout in progress) in the same database and namespace, so that it
 * shares the order context's consumer group. The caller's environment still decides everything
 * the command line does not (endpoints, log level, refresh intervals).
 */
export function hostedEnvironments(
  config: SimulatorConfig,
  apiKeys: string,
  env: NodeJS.ProcessEnv = process.env,
): { readonly everything: NodeJS.ProcessEnv; readonly v1Storefront: NodeJS.ProcessEnv } {
  const everything: NodeJS.ProcessEnv = {
    ...env,
    // Its own keys, and a limit the traffic never reaches unless asked for.
    HTTP_API_KEYS: apiKeys,
    HTTP_API_KEYS_FILE: '',
    HTTP_RATE_LIMIT: env.HTTP_RATE_LIMIT || '1000000',
    PORT: String(config.port),
    // The progress line is the output; the platform speaks up only when something fails.
    LOG_LEVEL: env.LOG_LEVEL ?? 'error',
    AUTO_ADVANCE_MS: String(config.advanceMs),
    TOPIC_NAMESPACE: config.namespace,
    ...(config.database ? { MONGO_DATABASE: config.database } : {}),
    ORDER_PLACED_VERSION: '2',
  };
  return { everything, v1Storefront: { ...everything, PORT: '0', ORDER_PLACED_VERSION: '1' } };
}

/** With `--url`: the keys file given, else the development keys of the stack directory. */
export function keysFileOf(config: SimulatorConfig, env: NodeJS.ProcessEnv = process.env): string {
  return config.keysFile ?? developmentKeysFile(readStackConfig(env).dir);
}

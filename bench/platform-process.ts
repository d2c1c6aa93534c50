/**
 * The platform under test as its own operating-system process, started the way an operator
 * starts it (`platform/main.ts`, every context or `--context <name>…`), so that its CPU, memory
 * and throughput are its own and not shared with the load generator. Counters come from its
 * `/metrics` endpoint, as Prometheus would read them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { formatApiKeys, generatedKeys, trafficCredentials } from '@platform/credentials';
import { sumMetric } from '../simulator/plan';

/**
 * The benchmark is a client like any other: keys of its own (one per role, made per run), and a
 * rate limit its platforms never reach, so the limiter never shapes a measurement.
 */
const benchKeys = generatedKeys('bench');
export const benchCredentials = trafficCredentials(benchKeys);

/** A process's metrics, in Prometheus text exposition format. */
export type MetricSamples = string;

export interface BenchEndpoints {
  readonly kafkaBrokers: readonly string[];
  readonly schemaRegistryUrl: string;
  readonly mongoUrl: string;
}

export interface PlatformProcess {
  readonly url: string;
  readonly pid: number;
  /** The process's metrics now. */
  metrics(): Promise<MetricSamples>;
  /** SIGTERM (drain), SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface PlatformProcessOptions {
  readonly endpoints: BenchEndpoints;
  /** Empty: every context (`npm start`); else `--context` with these names. */
  readonly contexts: readonly string[];
  readonly namespace: string;
  readonly database: string;
  /** The environment the benchmark was started with (PATH, HOME…), passed on to the child. */
  readonly inherited: NodeJS.ProcessEnv;
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

const root = path.resolve(__dirname, '..');

export async function startPlatformProcess(options: PlatformProcessOptions): Promise<PlatformProcess> {
  const { endpoints, contexts } = options;
  const args = [
    '--import',
    'tsx',
    'platform/main.ts',
    ...(contexts.length > 0 ? ['--context', ...contexts] : []),
  ];
  // Node with tsx's loader rather than the tsx wrapper: the pid measured is the platform's own.
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...options.inherited,
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
      MONGO_URL: endpoints.mongoUrl,
      MONGO_DATABASE: options.database,
      TOPIC_NAMESPACE: options.namespace,
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      HTTP_API_KEYS: formatApiKeys(benchKeys),
      HTTP_API_KEYS_FILE: '',
      HTTP_RATE_LIMIT: '1000000',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  let metricsUrl: string | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`platform not ready after ${options.readyTimeoutMs ?? 180_000} ms:\n${tailOf(output)}`),
        ),
      options.readyTimeoutMs ?? 180_000,
    );
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        output.push(line);
        if (output.length > 200) output.shift();
        const metrics = /metrics on (http:\/\/\S+)\/metrics/.exec(line);
        if (metrics?.[1]) metricsUrl = metrics[1];
        const ready = /ready on (http:\/\/\S+)/.exec(line);
        if (ready?.[1]) {
          clearTimeout(timer);
          resolve(ready[1]);
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`the platform exited with ${String(exited)} before it was ready:\n${tailOf(output)}`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the platform process has no pid');

  return {
    url,
    pid,
    async metrics() {
      if (metricsUrl === undefined) throw new Error('the platform did not say where its metrics are');
      const response = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`${metricsUrl}/metrics answered ${response.status}`);
      return response.text();
    },
    async stop(graceMs = 30_000) {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(killer);
    },
  };
}

/** Events processed, summed over every consumer group of the process. */
export const processedEvents = (samples: MetricSamples): number =>
  sumMetric(samples, 'scm_messages_processed_total');

const tailOf = (lines: readonly string[]): string => lines.slice(-30).join('\n');

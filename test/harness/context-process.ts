import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ContextName } from '@platform/contexts';
import { testAuthEnv } from './credentials';
import type { TestDeployment } from './platform';

const root = path.resolve(__dirname, '..', '..');

export interface ContextProcess {
  readonly name: ContextName;
  readonly child: ChildProcess;
  /** Resolves with the process's URL once it says it is ready; rejects if it exits first. */
  readonly url: Promise<string>;
  /** Its `/metrics` listener's base URL, once ready. */
  readonly metricsUrl: Promise<string>;
  /** How it ended: its exit code or the signal that killed it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: string[];
  /** SIGTERM, and resolves once it is gone (at once if it already is). */
  stop(): Promise<void>;
}

/**
 * `npm run context -- <name>` as a child process of the deployment: node with tsx's loader, so
 * the pid is the platform's own (the tsx wrapper would take a SIGKILL and leave its node child
 * running). `env` adds to the deployment's settings (e.g. a fault to inject).
 */
export function startContextProcess(
  name: ContextName,
  deployment: TestDeployment,
  env: NodeJS.ProcessEnv = {},
): ContextProcess {
  const endpoints = deployment.endpoints;
  const child = spawn(process.execPath, ['--import', 'tsx', 'platform/main.ts', '--context', name], {
    cwd: root,
    env: {
      ...process.env,
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
      MONGO_URL: endpoints.mongoUrl,
      MONGO_DATABASE: deployment.database,
      TOPIC_NAMESPACE: deployment.namespace,
      PORT: '0',
      LOG_LEVEL: 'warn',
      ...testAuthEnv(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  // 'close', not 'exit': only then has everything the process wrote been read into `output`
  // (a test reads its last line, such as the fault hook's, as soon as it has exited).
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  let metricsUrl: string | undefined;
  const url = new Promise<string>((resolve, reject) => {
    const onLine = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '') output.push(line);
        const metrics = /metrics on (http:\/\/\S+)\/metrics/.exec(line);
        if (metrics?.[1]) metricsUrl = metrics[1];
        const ready = /ready on (http:\/\/\S+)/.exec(line);
        if (ready?.[1]) resolve(ready[1]);
      }
    };
    child.stdout?.on('data', onLine);
    child.stderr?.on('data', onLine);
    void exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output.join('\n')}`)),
    );
  });
  url.catch(() => undefined);
  const metrics = url.then(() => {
    if (metricsUrl === undefined) throw new Error(`${name} did not say where its metrics are`);
    return metricsUrl;
  });
  metrics.catch(() => undefined);
  return {
    name,
    child,
    url,
    metricsUrl: metrics,
    exited,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { allComponents, type Component, type ComponentName } from './components';
import { stackEndpoints, type StackConfig } from './config';
import {
  isAlive,
  isRunning,
  logFile,
  portIsOpen,
  readPid,
  sleep,
  startDetached,
  stopProcess,
  tail,
  type StackPaths,
} from './processes';

/**
 * The native local stack: real Kafka, schema registry, MongoDB-wire store and Prometheus,
 * installed on first use and run as background processes under `config.dir`.
 */
export type Report = (line: string) => void;

export interface ComponentStatus {
  name: ComponentName;
  title: string;
  endpoint: string;
  installed: boolean;
  state: 'ready' | 'starting' | 'stopped' | 'crashed';
  pid: number | undefined;
}

export const pathsOf = (config: StackConfig): StackPaths => ({
  logs: path.join(config.dir, 'logs'),
  run: path.join(config.dir, 'run'),
});

export function selectComponents(config: StackConfig, names: readonly string[]): Component[] {
  const all = allComponents(config);
  if (names.length === 0) return all;
  const unknown = names.filter((name) => !all.some((component) => component.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown component ${unknown.join(', ')}; known: ${all.map((c) => c.name).join(', ')}`);
  }
  return all.filter((component) => names.includes(component.name));
}

/**
 * Installs what is missing, starts what is not running, and waits until every selected
 * component answers. Idempotent: components already up are left alone.
 */
export async function up(config: StackConfig, names: readonly string[] = [], report: Report = () => {}) {
  const paths = pathsOf(config);
  const components = selectComponents(config, names);
  fs.mkdirSync(paths.logs, { recursive: true });

  await installMissing(components, paths, report);

  // Every component settles before `up` fails: a caller that cleans up on failure (`down`) must
  // see each process this call started. With Promise.all, one still starting when another had
  // failed (a port taken) came up after that cleanup and was left running.
  const outcomes = await Promise.allSettled(
    components.map(async (component) => {
      if (isRunning(paths, component.name)) {
        if (await component.isReady()) {
          report(`${component.name}: already running at ${component.endpoint}`);
          return;
        }
      } else if (readPid(paths, component.name) !== undefined) {
        report(`${component.name}: found dead (crashed or killed); restarting`);
        await stopProcess(paths, component.name);
      }
      if (!isRunning(paths, component.name)) {
        await ensurePortsFree(component);
        const spec = await component.prepare(logFile(paths, `${component.name}-prepare`));
        startDetached(paths, spec);
        report(`${component.name}: starting ${component.title}`);
      }
      const started = Date.now();
      await waitUntilReady(component, paths, config.readyTimeoutMs);
      report(
        `${component.name}: ready at ${component.endpoint} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }),
  );
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  writeEndpointsFile(config);
}

async function installMissing(components: Component[], paths: StackPaths, report: Report): Promise<void> {
  const missing = components.filter((component) => !component.isInstalled());
  if (missing.length === 0) return;
  // Maven's local repository is not safe for concurrent writers, so Maven-based installs
  // run one after another; the others (Go, apt) run beside them.
  const usesMaven = (component: Component): boolean =>
    component.name === 'kafka' || component.name === 'registry';
  const installOne = async (component: Component): Promise<void> => {
    const log = logFile(paths, `install-${component.name}`);
    const started = Date.now();
    report(`${component.name}: installing ${component.title} (first run only; log: ${log})`);
    await component.install(log);
    report(`${component.name}: installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  };
  const mavenChain = missing
    .filter(usesMaven)
    .reduce<Promise<void>>((chain, c) => chain.then(() => installOne(c)), Promise.resolve());
  await Promise.all([mavenChain, ...missing.filter((c) => !usesMaven(c)).map(installOne)]);
}

async function ensurePortsFree(component: Component): Promise<void> {
  for (const port of component.ports) {
    if (await portIsOpen(port)) {
      throw new Error(
        `${component.name}: port ${port} is already in use by a process this stack did not start. ` +
          `Stop it, or choose other ports (see STACK_*_PORT in README.md).`,
      );
    }
  }
}

async function waitUntilReady(component: Component, paths: StackPaths, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await component.isReady()) return;
    const pid = readPid(paths, component.name);
    if (pid === undefined || !isAlive(pid)) {
      throw new Error(
        `${component.name} exited while starting; last lines of ${logFile(paths, component.name)}:\n` +
          tail(logFile(paths, component.name)),
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${component.name} did not become ready within ${timeoutMs / 1000} s; last lines of its log:\n` +
          tail(logFile(paths, component.name)),
      );
    }
    await sleep(250);
  }
}

/** Stops every component (or the named ones); afterwards none of their processes is left. */
export async function down(config: StackConfig, names: readonly string[] = [], report: Report = () => {}) {
  const paths = pathsOf(config);
  // Kafka last: clients of it (none here today) and the registry stop first.
  const components = selectComponents(config, names).reverse();
  await Promise.all(
    components.map(async (component) => {
      if (await stopProcess(paths, component.name)) report(`${component.name}: stopped`);
    }),
  );
}

export async function status(config: StackConfig): Promise<ComponentStatus[]> {
  const paths = pathsOf(config);
  return Promise.all(
    allComponents(config).map(async (component): Promise<ComponentStatus> => {
      const pid = readPid(paths, component.name);
      const alive = pid !== undefined && isAlive(pid);
      const state = alive
        ? (await component.isReady())
          ? 'ready'
          : 'starting'
        : pid
          ? 'crashed'
          : 'stopped';
      return {
        name: component.name,
        title: component.title,
        endpoint: component.endpoint,
        installed: component.isInstalled(),
        state,
        pid: alive ? pid : undefined,
      };
    }),
  );
}

export function logsOf(config: StackConfig, name: string, lines: number): string {
  const [component] = selectComponents(config, [name]);
  if (!component) throw new Error(`unknown component ${name}`);
  return tail(logFile(pathsOf(config), component.name), lines);
}

/** Deletes all data (topics, schemas, documents, metrics), keeping the installs. */
export function wipeData(config: StackConfig): void {
  fs.rmSync(path.join(config.dir, 'data'), { recursive: true, force: true });
}

function writeEndpointsFile(config: StackConfig): void {
  const lines = Object.entries(stackEndpoints(config)).map(([key, value]) => `${key}=${value}`);
  fs.writeFileSync(path.join(pathsOf(config).run, 'endpoints.env'), `${lines.join('\n')}\n`);
}

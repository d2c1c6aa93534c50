import fs from 'node:fs';
import path from 'node:path';
import { allComponents, type Component, type ComponentName } from './components';
import { kafkaBrokersRecord, stackEndpoints, type StackConfig } from './config';
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

/** `kafka` names every Kafka node: the single one, or each of a cluster's (`kafka-1` …). */
const isKafka = (name: string): boolean => name === 'kafka' || /^kafka-\d+$/.test(name);

export function selectComponents(config: StackConfig, names: readonly string[]): Component[] {
  const all = allComponents(config);
  if (names.length === 0) return all;
  const selected = (component: Component): boolean =>
    names.includes(component.name) || (names.includes('kafka') && isKafka(component.name));
  const unknown = names.filter(
    (name) =>
      !all.some((component) => component.name === name || (name === 'kafka' && isKafka(component.name))),
  );
  if (unknown.length > 0) {
    throw new Error(`unknown component ${unknown.join(', ')}; known: ${all.map((c) => c.name).join(', ')}`);
  }
  return all.filter(selected);
}

/** Kafka nodes of this stack whose process runs, whatever size the configuration says now. */
function runningKafkaNodes(paths: StackPaths): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(paths.run);
  } catch {
    return [];
  }
  return files
    .filter((file) => file.endsWith('.pid'))
    .map((file) => file.slice(0, -'.pid'.length))
    .filter((name) => isKafka(name) && isRunning(paths, name));
}

/**
 * A Kafka of another size must not be started beside the one running (their ports overlap, and a
 * platform would find two clusters): say so rather than fail on a port. Then record the size, so
 * later commands without `--brokers` (status, down, a platform bringing the stack up) follow it.
 */
function claimKafka(config: StackConfig, paths: StackPaths, components: readonly Component[]): void {
  const nodes = components.filter((component) => isKafka(component.name));
  if (nodes.length === 0) return;
  const wanted = allComponents(config).filter((component) => isKafka(component.name));
  const strangers = runningKafkaNodes(paths).filter((name) => !wanted.some((node) => node.name === name));
  if (strangers.length > 0)
    throw new Error(
      `this stack runs another Kafka (${strangers.join(', ')}) than the ${wanted.length === 1 ? 'single node' : `${wanted.length}-node cluster`} asked for; ` +
        '`npm run stack -- down kafka` first (data is kept), or ask for the size that runs (--brokers, STACK_KAFKA_BROKERS)',
    );
  fs.mkdirSync(paths.run, { recursive: true });
  fs.writeFileSync(kafkaBrokersRecord(config), `${wanted.length}\n`);
}

/**
 * Installs what is missing, starts what is not running, and waits until every selected
 * component answers. Idempotent: components already up are left alone.
 */
export async function up(config: StackConfig, names: readonly string[] = [], report: Report = () => {}) {
  const paths = pathsOf(config);
  const components = selectComponents(config, names);
  fs.mkdirSync(paths.logs, { recursive: true });
  claimKafka(config, paths, components);

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
    isKafka(component.name) || component.name === 'registry';
  const installOne = async (component: Component): Promise<void> => {
    // A cluster's nodes share one install: once the first is done, the others have nothing to do.
    if (component.isInstalled()) return;
    const log = logFile(paths, `install-${isKafka(component.name) ? 'kafka' : component.name}`);
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
  const stopping: string[] = components.map((component) => component.name);
  // Kafka nodes of another size than the configuration's (started with other --brokers) stop too.
  const kafkaAsked = names.length === 0 || names.some(isKafka);
  if (kafkaAsked) stopping.push(...runningKafkaNodes(paths).filter((name) => !stopping.includes(name)));
  await Promise.all(
    stopping.map(async (name) => {
      if (await stopProcess(paths, name)) report(`${name}: stopped`);
    }),
  );
  if (kafkaAsked && runningKafkaNodes(paths).length === 0)
    fs.rmSync(kafkaBrokersRecord(config), { force: true });
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

/** A component's last lines; `kafka` on a cluster gives each node's, under its name. */
export function logsOf(config: StackConfig, name: string, lines: number): string {
  const components = selectComponents(config, [name]);
  if (components.length === 0) throw new Error(`unknown component ${name}`);
  const [only] = components;
  if (components.length === 1 && only !== undefined) return tail(logFile(pathsOf(config), only.name), lines);
  return components
    .map((component) => `== ${component.name} ==\n${tail(logFile(pathsOf(config), component.name), lines)}`)
    .join('\n');
}

/** Deletes all data (topics, schemas, documents, metrics), keeping the installs. */
export function wipeData(config: StackConfig): void {
  fs.rmSync(path.join(config.dir, 'data'), { recursive: true, force: true });
}

function writeEndpointsFile(config: StackConfig): void {
  const lines = Object.entries(stackEndpoints(config)).map(([key, value]) => `${key}=${value}`);
  fs.writeFileSync(path.join(pathsOf(config).run, 'endpoints.env'), `${lines.join('\n')}\n`);
}

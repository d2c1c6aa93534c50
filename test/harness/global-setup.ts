/**
 * Jest global setup for the integration project: provides a real Kafka broker, schema
 * registry and MongoDB-wire store once per test run, in this order of preference:
 *   1. endpoints given in the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL);
 *   2. containers through testcontainers, when a Docker engine answers;
 *   3. a native stack of the suite's own (infra/stack `testStackConfig`: `.stack/test` and a port
 *      block apart from `npm start`'s), installed on first use and started with no data.
 * The stack `npm start` uses is never touched. Whatever this starts, global-teardown stops.
 */
import { spawnSync } from 'node:child_process';
import { stackEndpoints, stackVariables, testStackConfig } from '../../infra/stack/config';
import { down, status, up, wipeData } from '../../infra/stack/stack';
import { buildHelmInBackground } from '../../infra/k8s/tools';
import { startContainers } from './containers';
import { setStarted } from './started';

const required = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'MONGO_URL'] as const;

export default async function globalSetup(): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`[test stack] ${line}\n`);

  // The chart test needs Helm, which a fresh machine compiles (minutes): started now, at low
  // priority, it overlaps the other suites; the chart test runs last and waits for it.
  const helmLog = buildHelmInBackground(testStackConfig());
  if (helmLog) log(`building Helm for the chart test in the background (log: ${helmLog})`);

  if (required.every((name) => process.env[name])) {
    log(`using the endpoints from the environment (${required.map((n) => process.env[n]).join(', ')})`);
    return;
  }

  if (dockerEngineAnswers()) {
    log('a Docker engine answers: starting Kafka, the schema registry and MongoDB with testcontainers');
    const started = await startContainers();
    Object.assign(process.env, started.endpoints);
    setStarted({ kind: 'containers', stop: started.stop });
    return;
  }

  const config = testStackConfig();
  const wasReady = (await status(config)).every((component) => component.state === 'ready');
  const where = `${config.dir}, Kafka on ${config.kafka.port}, registry on ${config.registry.port}, store on ${config.mongo.port}`;
  if (wasReady) log(`reusing the test suite's running native stack (${where})`);
  else {
    log(`no Docker engine: starting the test suite's own native stack (${where}), with no data`);
    // Only this suite's stack is stopped and wiped: nothing any earlier run left stays behind.
    await down(config);
    wipeData(config);
  }
  try {
    await up(config, [], log);
  } catch (error) {
    // Jest runs no teardown after a failed setup: what this started must not outlive it.
    if (!wasReady) await down(config, [], log);
    throw error;
  }
  // The workers see this stack as "the" native stack: tests that start extra instances from
  // its installs, or look at its processes, find this one.
  Object.assign(process.env, stackEndpoints(config), stackVariables(config));
  // A stack kept from an earlier run (TEST_KEEP_STACK=1) stays up; one started for this run
  // is stopped after it, unless TEST_KEEP_STACK=1 asks to keep it for the next run.
  if (!wasReady && process.env.TEST_KEEP_STACK !== '1') setStarted({ kind: 'native', config });
}

function dockerEngineAnswers(): boolean {
  if (process.env.TEST_STACK === 'native') return false;
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeout: 5_000,
    encoding: 'utf8',
  });
  return result.status === 0 && result.stdout.trim().length > 0;
}

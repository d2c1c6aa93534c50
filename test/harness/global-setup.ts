/**
 * Jest global setup for the integration project: provides a real Kafka broker, schema
 * registry and MongoDB-wire store once per test run, in this order of preference:
 *   1. endpoints given in the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL);
 *   2. containers through testcontainers, when a Docker engine answers;
 *   3. the project's native stack (infra/stack), installed and started on first use.
 * Whatever it starts, global-teardown stops.
 */
import { spawnSync } from 'node:child_process';
import { readStackConfig, stackEndpoints } from '../../infra/stack/config';
import { status, up } from '../../infra/stack/stack';
import { startContainers } from './containers';
import { setStarted } from './started';

const required = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'MONGO_URL'] as const;

export default async function globalSetup(): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`[test stack] ${line}\n`);

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

  const config = readStackConfig();
  const wasReady = (await status(config)).every((component) => component.state === 'ready');
  log(
    wasReady
      ? 'reusing the running native stack'
      : 'no Docker engine: starting the native stack (infra/stack)',
  );
  await up(config, [], log);
  Object.assign(process.env, stackEndpoints(config));
  // A stack the developer started stays up; one started for this run is stopped after it,
  // unless TEST_KEEP_STACK=1 asks to keep it for the next run.
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

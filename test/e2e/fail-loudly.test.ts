/**
 * A consumer that gives up makes its process fail loudly. The fault is a real one: the kitchen
 * context's dead-letter topic refuses records of the size of the poison message that arrives
 * (its `max.message.bytes` is lowered here; in production, a record near the source topic's
 * limit plus the dead letter's headers does the same). The consumer can neither apply the
 * message nor set it aside, so it must not go on (that would lose it) and retrying cannot help.
 *
 * - As a real process (`npm run context -- production`): it drains and exits non-zero, its log
 *   names the consumer group and the whole error chain, and the poison stays uncommitted for the
 *   process a supervisor starts next.
 * - Hosted in the test process: `/health` says down, naming the group and the error.
 */
import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { startContextProcess, type ContextProcess } from '@test/harness/context-process';
import { testEndpoints } from '@test/harness/endpoints';
import {
  decidedStatus,
  kitchenOffsets,
  kitchenOrders,
  kitchenStatuses,
  publishKitchenInputs,
} from '@test/harness/kitchen';
import { call, createTestDeployment, type TestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

const deployments: TestDeployment[] = [];
const processes: ContextProcess[] = [];
const kafka = new Kafka({
  clientId: 'fail-loudly',
  brokers: testEndpoints().kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

afterAll(async () => {
  await Promise.all(processes.map((started) => started.stop()));
  await Promise.all(deployments.map((deployment) => deployment.stop()));
});

function deploymentFor(name: string): TestDeployment {
  const deployment = createTestDeployment(name);
  deployments.push(deployment);
  return deployment;
}

/** The kitchen's dead-letter topic takes nothing larger than 1 KiB from now on. */
async function refuseLargeDeadLetters(deployment: TestDeployment): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: `${deployment.namespace}production.dlq`,
          configEntries: [{ name: 'max.message.bytes', value: '1024' }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** 4 KiB that are not an event (no headers, no Confluent wire format): a dead letter to be. */
async function publishPoison(deployment: TestDeployment, key: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: `${deployment.namespace}scm.fulfilment-requests`,
      messages: [{ key, value: Buffer.alloc(4096, 0xff) }],
    });
  } finally {
    await producer.disconnect();
  }
}

const jsonLines = (output: readonly string[]): Record<string, unknown>[] =>
  output.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

/** The messages of an error chain as the log wrote it (`cause` after `cause`). */
function chainOf(error: unknown): string[] {
  const found: string[] = [];
  for (let at = error; typeof at === 'object' && at !== null; at = (at as { cause?: unknown }).cause) {
    const { type, message } = at as { type?: unknown; message?: unknown };
    found.push(`${String(type)}: ${String(message)}`);
  }
  return found;
}

it('a kitchen process whose consumer cannot go on drains, exits non-zero and leaves the poison uncommitted', async () => {
  const deployment = deploymentFor('fatal-process');
  const kitchen = startContextProcess('production', deployment, { LOG_LEVEL: 'info' });
  processes.push(kitchen);
  const url = await kitchen.url;
  await waitFor('the kitchen ready', async () => (await call(url, 'GET', '/ready')).status === 200);

  // Work before the fault is done and committed.
  const orders = kitchenOrders(4);
  await publishKitchenInputs(deployment, orders);
  await waitFor('every order decided', async () => {
    const statuses = await kitchenStatuses(url, orders);
    return statuses.every((status, i) => status === decidedStatus(orders[i]!));
  });
  const before = await waitFor('everything committed', async () => {
    const offsets = await kitchenOffsets(deployment);
    return offsets.committed === offsets.end && offsets;
  });

  await refuseLargeDeadLetters(deployment);
  const poisonKey = `ORD-20250102-${randomBytes(4).toString('hex').toUpperCase()}`;
  await publishPoison(deployment, poisonKey);

  expect(await kitchen.exited).toEqual({ code: 1, signal: null });
  const lines = jsonLines(kitchen.output);
  const fatal = lines.find((line) => line.message === 'a consumer cannot go on; this process is down');
  expect(fatal).toMatchObject({ level: 'error', group: `${deployment.namespace}production` });
  const chain = chainOf(fatal?.error);
  // kafkajs's crash, our reason (which message, which group), the platform error, the broker's answer.
  expect(chain.join('\n')).toContain(`${deployment.namespace}production: the message at offset`);
  expect(chain.join('\n')).toMatch(/larger than the max message size/);
  expect((fatal?.error as { stack?: unknown }).stack).toEqual(expect.any(String));
  // The dead-letter attempts named the order the poison was about.
  expect(
    lines.some((line) => line.message === 'retrying after failure' && line.correlationId === poisonKey),
  ).toBe(true);
  expect(lines.map((line) => line.message)).toContain('drained what could be; exiting');

  // Nothing lost: the poison is still to be read by the next process; everything before it stays committed.
  const after = await kitchenOffsets(deployment);
  expect(after).toEqual({ committed: before.committed, end: before.end + 1 });
}, 180_000);

it('a platform whose consumer cannot go on says so on /health, naming the group and the error', async () => {
  const deployment = deploymentFor('fatal-health');
  const platform = await deployment.start(['production']);
  expect((await call(platform.url, 'GET', '/health')).status).toBe(200);

  await refuseLargeDeadLetters(deployment);
  await publishPoison(deployment, 'ORD-20250102-POISON01');

  const health = await waitFor('health down', async () => {
    const response = await call(platform.url, 'GET', '/health');
    return response.status === 503 && response;
  });
  expect(health.body).toMatchObject({
    status: 'down',
    details: {
      failed: [
        {
          consumerGroup: `${deployment.namespace}production`,
          error: expect.stringMatching(
            /production: the message at offset 0 can be neither applied nor set aside: .*larger than the max message size/,
          ),
        },
      ],
    },
  });
}, 120_000);

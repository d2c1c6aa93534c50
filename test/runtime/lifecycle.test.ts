/**
 * Real processes, real signals: a consumer process drains on SIGTERM (finishes its batch,
 * commits, exits 0) and one killed with SIGKILL mid-batch loses nothing either; after a
 * restart every event has been applied exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { HeadDocument } from '@runtime/aggregate-store';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';
import { spawnCountingWorker } from '@test/fixtures/spawn-worker';

const endpoints = testEndpoints();
const kafka = new Kafka({
  clientId: 'lifecycle-test',
  brokers: endpoints.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

describe('consumer process lifecycle', () => {
  const topic = uniqueName('lifecycle');
  const group = uniqueName('lifecycle-group');
  const database = uniqueName('lifecycle');
  const keys = Array.from({ length: 8 }, (_, i) => `order-${i}`);
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true });
  const mongo = new MongoClient(endpoints.mongoUrl);
  const children: ChildProcess[] = [];
  let produced = 0;

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect(), mongo.connect()]);
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3 }, { topic: `${group}.dlq` }],
      waitForLeaders: true,
    });
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await admin.deleteTopics({ topics: [topic, `${group}.dlq`] }).catch(() => undefined);
    await mongo.db(database).dropDatabase();
    await Promise.all([admin.disconnect(), producer.disconnect(), mongo.close()]);
  });

  const produce = async (perKey: number): Promise<void> => {
    const messages = keys.flatMap((key) =>
      Array.from({ length: perKey }, () => {
        produced += 1;
        return { key, value: 'x', headers: { 'event-id': `e-${produced}` } };
      }),
    );
    await producer.send({ topic, acks: -1, messages });
  };

  const startWorker = (httpPort?: number, slow?: { sessionMs: number; delayMs: number }): ChildProcess => {
    const child = spawnCountingWorker({
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      MONGO_URL: endpoints.mongoUrl,
      TOPIC: topic,
      GROUP: group,
      DATABASE: database,
      HANDLER_DELAY_MS: String(slow?.delayMs ?? 40),
      MAX_BATCH_BYTES: '1024',
      ...(httpPort ? { HTTP_PORT: String(httpPort) } : {}),
      ...(slow ? { SESSION_TIMEOUT_MS: String(slow.sessionMs) } : {}),
    });
    child.stdout?.resume(); // its logs are not needed here
    children.push(child);
    return child;
  };

  const exitOf = (child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
    new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null
        ? resolve({ code: child.exitCode, signal: child.signalCode })
        : child.once('exit', (code, signal) => resolve({ code, signal })),
    );

  const counts = async (): Promise<Map<string, number>> => {
    const documents = await mongo
      .db(database)
      .collection<HeadDocument<{ n: number }>>('counts')
      .find()
      .toArray();
    return new Map(documents.map((d) => [d._id, d.state.n]));
  };
  const total = async (): Promise<number> => [...(await counts()).values()].reduce((a, b) => a + b, 0);

  it('drains on SIGTERM and exits 0; a restart goes on without loss or duplicate effects', async () => {
    await produce(40);
    const first = startWorker();
    await waitFor('some progress', async () => (await total()) >= 40, { timeoutMs: 60_000 });
    first.kill('SIGTERM');
    expect(await exitOf(first)).toEqual({ code: 0, signal: null });
    const atStop = await total();
    expect(atStop).toBeLessThan(produced);

    // A port the system just handed out: a fixed one may be taken by any client's socket.
    const port = await freePort();
    const second = startWorker(port);
    await waitFor('every event applied', async () => (await total()) === produced, { timeoutMs: 90_000 });
    expect([...(await counts()).values()]).toEqual(keys.map(() => 40));
    // The process says so itself: ready (joined), and its metrics count what it applied.
    await waitFor(
      'the restarted process to be ready',
      async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const processed = new RegExp(
      `scm_messages_processed_total\\{group="${group}",topic="${topic}"\\} (\\d+)`,
    ).exec(metrics);
    expect(Number(processed?.[1])).toBe(produced - atStop);
    second.kill('SIGTERM');
    expect((await exitOf(second)).code).toBe(0);
  });

  it('loses nothing and applies nothing twice when the process is killed mid-batch', async () => {
    const before = await total();
    await produce(30);
    const victim = startWorker();
    await waitFor('progress after restart', async () => (await total()) >= before + 30, {
      timeoutMs: 60_000,
    });
    victim.kill('SIGKILL');
    expect((await exitOf(victim)).signal).toBe('SIGKILL');

    const survivor = startWorker();
    await waitFor('every event applied', async () => (await total()) === produced, { timeoutMs: 90_000 });
    expect([...(await counts()).values()]).toEqual(keys.map(() => 70));
    survivor.kill('SIGTERM');
    expect((await exitOf(survivor)).code).toBe(0);
  });

  it('keeps its partitions through batches that outlast the session: no rebalance, nothing twice', async () => {
    // Every batch takes 9 s on a 6 s session: without heartbeats while it works, the broker
    // would drop the member, hand its partitions out again and the batch would come twice.
    const port = await freePort();
    const slow = startWorker(port, { sessionMs: 6_000, delayMs: 9_000 });
    await waitFor(
      'the slow process to be ready',
      async () =>
        fetch(`http://127.0.0.1:${port}/ready`).then(
          (response) => response.ok,
          () => false,
        ),
      { timeoutMs: 60_000 },
    );
    const before = await total();
    await produce(2);
    await waitFor('every event applied', async () => (await total()) === produced, { timeoutMs: 90_000 });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string): number =>
      Number(new RegExp(`${name}\\{group="${group}"[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect(value('scm_consumer_rebalances_total')).toBe(1);
    expect(value('scm_messages_duplicate_total')).toBe(0);
    expect(value('scm_messages_processed_total')).toBe(produced - before);
    slow.kill('SIGTERM');
    expect((await exitOf(slow)).code).toBe(0);
  }, 150_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

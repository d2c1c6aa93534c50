/**
 * Real processes, real signals. The kitchen (`npm run context -- production`, a real context
 * process started as `test/e2e/crash-recovery.test.ts` starts it) drains on SIGTERM: it
 * finishes the batch in hand, commits exactly what it applied and exits 0, and its restart gets
 * nothing again. Killed with SIGKILL between a batch's writes and their commit, it loses
 * nothing: after a restart every event has been applied exactly once. And a consumer whose
 * batches outlast its group session keeps its partitions (no rebalance, nothing twice).
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { HeadDocument } from '@runtime/aggregate-store';
import { startContextProcess, type ContextProcess } from '@test/harness/context-process';
import { testEndpoints } from '@test/harness/endpoints';
import {
  decidedStatus,
  kitchenApplied,
  kitchenCounter,
  kitchenHeads,
  kitchenOffsets,
  kitchenOrders,
  kitchenStatuses,
  publishKitchenInputs,
  skippedFulfilments,
  type KitchenOrder,
} from '@test/harness/kitchen';
import { uniqueName } from '@test/harness/names';
import { createTestDeployment, type TestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';
import { spawnCountingWorker } from '@test/fixtures/spawn-worker';
import { createTopicsWithLeaders } from '@contracts/provision';

const deployments: TestDeployment[] = [];
const processes: ContextProcess[] = [];

// At the very end: deleting a deployment's topics while the next case creates its own makes the
// broker answer that case's metadata requests with "does not host this topic-partition".
afterAll(async () => {
  await Promise.all(processes.map((started) => started.stop()));
  await Promise.all(deployments.map((deployment) => deployment.stop()));
});

describe('a real context process (the kitchen) under SIGTERM and SIGKILL', () => {
  const deploymentFor = (name: string): TestDeployment => {
    const deployment = createTestDeployment(name);
    deployments.push(deployment);
    return deployment;
  };
  const startKitchen = (deployment: TestDeployment, env: NodeJS.ProcessEnv = {}): ContextProcess => {
    const started = startContextProcess('production', deployment, env);
    processes.push(started);
    return started;
  };

  /** Waits until the group has committed to the end of its topics, which hold both inputs of every order. */
  const caughtUp = (deployment: TestDeployment, orders: readonly KitchenOrder[]): Promise<unknown> =>
    waitFor(
      'every input applied and committed',
      async () => {
        const { committed, end } = await kitchenOffsets(deployment);
        return end === orders.length * 2 && committed === end;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );

  /**
   * What a user sees once every order is in: one decided task each, changed by its two inputs
   * only, and one CookingSkipped (per event id) for every order with nothing to cook.
   */
  const expectAppliedOnce = async (
    deployment: TestDeployment,
    url: string,
    orders: readonly KitchenOrder[],
  ): Promise<void> => {
    expect(await kitchenStatuses(url, orders)).toEqual(orders.map(decidedStatus));
    const heads = await kitchenHeads(deployment);
    expect(heads).toHaveLength(orders.length);
    for (const head of heads) {
      expect(head.version).toBe(2);
      expect(new Set(head.causes).size).toBe(2);
    }
    const expected = orders
      .filter(({ cooked }) => !cooked)
      .map(({ id }) => id)
      .sort();
    const skipped = await waitFor(
      'a CookingSkipped for every order with nothing to cook',
      async () => {
        const found = await skippedFulfilments(deployment);
        return found.length >= expected.length && found;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(skipped.sort()).toEqual(expected);
  };

  it('drains on SIGTERM and exits 0 with what it applied committed; the restart applies the rest, nothing twice', async () => {
    const deployment = deploymentFor('lifecycle-term');
    const first = startKitchen(deployment);
    await first.url;
    // Orders keep coming while it works, so the signal finds it busy.
    const feed = feedKitchen(deployment);
    await waitFor('the kitchen at work', async () => (await kitchenApplied(deployment)) >= 40, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const fed = await feed.stop();

    // Drained: every event it applied has its offset committed, and no offset beyond them.
    const appliedAtStop = await kitchenApplied(deployment);
    expect((await kitchenOffsets(deployment)).committed).toBe(appliedAtStop);
    // Orders placed after it left: the restart has work of its own whatever the timing.
    const late = kitchenOrders(8);
    await publishKitchenInputs(deployment, late);
    const orders = [...fed, ...late];
    expect(appliedAtStop).toBeLessThan(orders.length * 2);

    const second = startKitchen(deployment);
    const url = await second.url;
    await caughtUp(deployment, orders);
    await expectAppliedOnce(deployment, url, orders);
    // No redelivery: the restart received exactly what the first had not applied.
    const metricsUrl = await second.metricsUrl;
    expect(await kitchenCounter(metricsUrl, 'scm_messages_duplicate_total')).toBe(0);
    expect(await kitchenCounter(metricsUrl, 'scm_messages_processed_total')).toBe(
      orders.length * 2 - appliedAtStop,
    );
    await second.stop();
    expect(await second.exited).toEqual({ code: 0, signal: null });
  }, 240_000);

  it('killed with SIGKILL between a batch’s writes and their commit: after a restart every event is applied once', async () => {
    const deployment = deploymentFor('lifecycle-kill');
    const orders = kitchenOrders(24);
    // The restart waits for the dead member's session to expire before it gets the partitions:
    // a 10 s session (as the fault suite's: room for a late heartbeat on a loaded machine) rather
    // than the 30 s default.
    const session = { KAFKA_SESSION_TIMEOUT_MS: '10000' };
    // Its second batch's writes are durable when it dies; their offsets are not committed.
    const victim = startKitchen(deployment, { ...session, FAULT_KILL_AFTER_BATCHES: '2' });
    await victim.url;
    await publishKitchenInputs(deployment, orders);
    expect((await victim.exited).signal).toBe('SIGKILL');
    expect(victim.output.join('\n')).toContain('fault injection: killing this process');
    // Mid-batch: it applied more than its group committed, so that batch comes again.
    expect((await kitchenOffsets(deployment)).committed).toBeLessThan(await kitchenApplied(deployment));

    // The restart joins once the dead member's session has expired.
    const restarted = startKitchen(deployment, session);
    const url = await restarted.url;
    await caughtUp(deployment, orders);
    await expectAppliedOnce(deployment, url, orders);
    // The uncommitted batch was delivered again and recognised as applied.
    expect(await kitchenCounter(await restarted.metricsUrl, 'scm_messages_duplicate_total')).toBeGreaterThan(
      0,
    );
    await restarted.stop();
    expect(await restarted.exited).toEqual({ code: 0, signal: null });
  }, 240_000);
});

/** Publishes both inputs of new orders, ten at a time, until stopped; `stop` returns every order published. */
function feedKitchen(deployment: TestDeployment): { stop(): Promise<KitchenOrder[]> } {
  const orders: KitchenOrder[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const chunk = kitchenOrders(10);
      await publishKitchenInputs(deployment, chunk);
      orders.push(...chunk);
    }
  })();
  loop.catch(() => undefined); // reported by stop()
  return {
    async stop() {
      running = false;
      await loop;
      return orders;
    },
  };
}

/**
 * This case runs the counting worker (`test/fixtures/counting-worker.ts`: the runner and the
 * aggregate store that every context composes), not a context: a real context cannot be made to
 * outlast its session without a test-only hook in the product. The platform's configuration
 * (`platform/config.ts`) sets a group session (KAFKA_SESSION_TIMEOUT_MS) but not a handler's
 * pace, and its only fault switch, FAULT_KILL_AFTER_BATCHES, kills rather than slows.
 */
describe('a consumer whose batches outlast its group session', () => {
  const endpoints = testEndpoints();
  const kafka = new Kafka({
    clientId: 'lifecycle-test',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const topic = uniqueName('lifecycle');
  const group = uniqueName('lifecycle-group');
  const database = uniqueName('lifecycle');
  const keys = Array.from({ length: 8 }, (_, i) => `order-${i}`);
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true });
  const mongo = new MongoClient(endpoints.mongoUrl);
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect(), mongo.connect()]);
    await createTopicsWithLeaders(admin, { topics: [{ topic, numPartitions: 3 }] });
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await mongo.db(database).dropDatabase();
    await Promise.all([admin.disconnect(), producer.disconnect(), mongo.close()]);
  });

  const total = async (): Promise<number> =>
    (await mongo.db(database).collection<HeadDocument<{ n: number }>>('counts').find().toArray()).reduce(
      (sum, document) => sum + document.state.n,
      0,
    );

  it('keeps its partitions through batches that outlast the session: no rebalance, nothing twice', async () => {
    // Every batch takes 9 s on a 6 s session: without heartbeats while it works, the broker
    // would drop the member, hand its partitions out again and the batch would come twice.
    const port = await freePort();
    const slow = spawnCountingWorker({
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      MONGO_URL: endpoints.mongoUrl,
      TOPIC: topic,
      GROUP: group,
      DATABASE: database,
      HANDLER_DELAY_MS: '9000',
      MAX_BATCH_BYTES: '1024',
      HTTP_PORT: String(port),
      SESSION_TIMEOUT_MS: '6000',
    });
    slow.stdout?.resume(); // its logs are not needed here
    children.push(slow);
    const exited = new Promise<number | null>((resolve) => slow.once('exit', resolve));
    await waitFor(
      'the slow process to be ready',
      async () =>
        fetch(`http://127.0.0.1:${port}/ready`).then(
          (response) => response.ok,
          () => false,
        ),
      { timeoutMs: 60_000 },
    );
    const messages = keys.flatMap((key) =>
      [1, 2].map((n) => ({ key, value: 'x', headers: { 'event-id': `${key}-${n}` } })),
    );
    await producer.send({ topic, acks: -1, messages });
    await waitFor('every event applied', async () => (await total()) === messages.length, {
      timeoutMs: 90_000,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string): number =>
      Number(new RegExp(`${name}\\{group="${group}"[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect(value('scm_consumer_rebalances_total')).toBe(1);
    expect(value('scm_messages_duplicate_total')).toBe(0);
    expect(value('scm_messages_processed_total')).toBe(messages.length);
    slow.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 150_000);
});

/** A port the system just handed out: a fixed one may be taken by any client's socket. */
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

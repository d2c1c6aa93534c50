/**
 * Exactly-once effects of a real context under a crash, a rebalance and redelivery: two
 * processes of the kitchen (`npm run context -- production`) share its consumer group; one of
 * them kills itself (SIGKILL, `FAULT_KILL_AFTER_BATCHES=1`) right after its first batch's
 * writes are durable and before that batch's offsets are committed. The group hands its
 * partitions to the survivor, which receives that batch again: every event is recognised as
 * applied, no task is changed twice, and every event the dead process wrote but had not
 * published is published by the survivor's outbox recovery, once per event id.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { HeadDocument } from '@runtime/aggregate-store';
import type { Publication } from '@runtime/decider';
import { startContextProcess, type ContextProcess } from '@test/harness/context-process';
import { testEndpoints } from '@test/harness/endpoints';
import { call, createTestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

const deployment = createTestDeployment('crash');
const processes: ContextProcess[] = [];
const soup = { sku: 'SKU-DOENJANG-SOUP', quantity: 1 };
const rice = { sku: 'SKU-RICE-210G', quantity: 1 };

/** Half the orders have something cooked to order (their task waits for a cook), half not (skipped). */
const fulfilments = Array.from({ length: 24 }, (_, i) => ({
  id: `ORD-20250102-${randomBytes(4).toString('hex').toUpperCase()}`,
  cooked: i % 2 === 0,
}));

const requested = (id: string, cooked: boolean): Publication => ({
  type: 'FulfilmentRequested',
  version: 2,
  data: {
    fulfilmentId: id,
    lines: [soup, rice],
    destination: {
      contactName: '김민지',
      contactPhone: '010-1234-5678',
      postalCode: '13487',
      addressLine: '경기도 성남시 분당구 판교역로 235',
      addressDetail: null,
      courierNote: null,
    },
    deliveryWindow: {
      earliest: new Date('2025-01-02T21:00:00.000Z'),
      latest: new Date('2025-01-02T23:00:00.000Z'),
    },
    dispatchWave: 'WAVE-20250102-DAWN',
    deliveryZone: 'GYEONGGI-PANGYO',
    cookedToOrderSkus: cooked ? [soup.sku] : [],
  },
});
const reserved = (id: string): Publication => ({
  type: 'StockReserved',
  version: 1,
  data: { fulfilmentId: id, lines: [soup, rice] },
});

afterAll(async () => {
  await Promise.all(processes.map((started) => started.stop()));
  await deployment.stop();
});

it('a kitchen killed between its write and its commit: redelivered to the other instance, applied once', async () => {
  const victim = startContextProcess('production', deployment, { FAULT_KILL_AFTER_BATCHES: '1' });
  processes.push(victim);
  await victim.url;
  const survivor = startContextProcess('production', deployment);
  processes.push(survivor);
  const survivorUrl = await survivor.url;
  // Both members joined before any event exists, so the victim owns some of the partitions.
  await waitFor(
    'both instances ready',
    async () => (await call(survivorUrl, 'GET', '/ready')).status === 200,
  );
  await waitFor(
    'the victim ready',
    async () => (await call(await victim.url, 'GET', '/ready')).status === 200,
  );

  await deployment.publish('inventory', ...fulfilments.map(({ id }) => reserved(id)));
  await deployment.publish(
    'order-scm-adapter',
    ...fulfilments.map(({ id, cooked }) => requested(id, cooked)),
  );
  expect((await victim.exited).signal).toBe('SIGKILL');
  expect(victim.output.join('\n')).toContain('fault injection: killing this process');

  // The survivor gets the victim's partitions after its session expires, then the batch again.
  const statuses = await waitFor(
    'every task decided by the survivor',
    async () => {
      const found = await Promise.all(
        fulfilments.map(async ({ id }) =>
          String((await call(survivorUrl, 'GET', `/kitchen/tasks/KT-${id}`)).body.status),
        ),
      );
      return found.every((status) => status === 'waiting' || status === 'skipped') && found;
    },
    { timeoutMs: 120_000 },
  );
  expect(statuses).toEqual(fulfilments.map(({ cooked }) => (cooked ? 'waiting' : 'skipped')));

  // Each task changed exactly twice (its request, its reservation): nothing was applied again.
  const mongo = await new MongoClient(testEndpoints().mongoUrl).connect();
  try {
    const heads = await mongo
      .db(deployment.database)
      .collection<HeadDocument<unknown>>('production_tasks')
      .find({}, { projection: { version: 1, causes: 1 } })
      .toArray();
    expect(heads).toHaveLength(fulfilments.length);
    for (const head of heads) {
      expect(head.version).toBe(2);
      expect(new Set(head.causes).size).toBe(2);
    }
  } finally {
    await mongo.close();
  }

  // The redelivered batch was recognised, by the survivor, as already applied.
  const metrics = await (await fetch(`${survivorUrl}/metrics`)).text();
  const duplicates = [
    ...metrics.matchAll(/^scm_messages_duplicate_total\{group="[^"]*production"[^}]*\} (\d+)$/gm),
  ].reduce((sum, match) => sum + Number(match[1]), 0);
  expect(duplicates).toBeGreaterThan(0);

  // Every skipped task published CookingSkipped, once per event id (the outbox may send twice).
  const skipped = await waitFor(
    'a CookingSkipped for every order with nothing to cook',
    async () => {
      const events = (await deployment.events('scm.production-events')).filter(
        (event) => event.type === 'CookingSkipped',
      );
      return events.length >= fulfilments.length / 2 && events;
    },
    { timeoutMs: 60_000 },
  );
  const skippedIds = skipped.map((event) => ('fulfilmentId' in event.data ? event.data.fulfilmentId : ''));
  expect(skippedIds.sort()).toEqual(
    fulfilments
      .filter(({ cooked }) => !cooked)
      .map(({ id }) => id)
      .sort(),
  );
}, 240_000);

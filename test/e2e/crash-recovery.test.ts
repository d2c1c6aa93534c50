/**
 * Exactly-once effects of a real context under a crash, a rebalance and redelivery: two
 * processes of the kitchen (`npm run context -- production`) share its consumer group; one of
 * them kills itself (SIGKILL, `FAULT_KILL_AFTER_BATCHES=1`) right after its first batch's
 * writes are durable and before that batch's offsets are committed. The group hands its
 * partitions to the survivor, which receives that batch again: every event is recognised as
 * applied, no task is changed twice, and every event the dead process wrote but had not
 * published is published by the survivor's outbox recovery, once per event id.
 */
import { startContextProcess, type ContextProcess } from '@test/harness/context-process';
import {
  decidedStatus,
  kitchenCounter,
  kitchenHeads,
  kitchenOrders,
  kitchenStatuses,
  publishKitchenInputs,
  skippedFulfilments,
} from '@test/harness/kitchen';
import { call, createTestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

const deployment = createTestDeployment('crash');
const processes: ContextProcess[] = [];
/** Half the orders have something cooked to order (their task waits for a cook), half not (skipped). */
const fulfilments = kitchenOrders(24);

afterAll(async () => {
  await Promise.all(processes.map((started) => started.stop()));
  await deployment.stop();
});

it('a kitchen killed between its write and its commit: redelivered to the other instance, applied once', async () => {
  // The survivor gets the victim's partitions once the victim's session has expired: a 10 s
  // session (as the fault suite's: room for a late heartbeat on a loaded machine) rather than
  // the 30 s default.
  const session = { KAFKA_SESSION_TIMEOUT_MS: '10000' };
  const victim = startContextProcess('production', deployment, { ...session, FAULT_KILL_AFTER_BATCHES: '1' });
  const survivor = startContextProcess('production', deployment, session);
  // Started together: neither needs the other to be up first.
  processes.push(victim, survivor);
  const [, survivorUrl] = await Promise.all([victim.url, survivor.url]);
  // Both members joined before any event exists, so the victim owns some of the partitions.
  await waitFor(
    'both instances ready',
    async () => (await call(survivorUrl, 'GET', '/ready')).status === 200,
  );
  await waitFor(
    'the victim ready',
    async () => (await call(await victim.url, 'GET', '/ready')).status === 200,
  );

  await publishKitchenInputs(deployment, fulfilments);
  expect((await victim.exited).signal).toBe('SIGKILL');
  expect(victim.output.join('\n')).toContain('fault injection: killing this process');

  // The survivor gets the victim's partitions after its session expires, then the batch again.
  const statuses = await waitFor(
    'every task decided by the survivor',
    async () => {
      const found = await kitchenStatuses(survivorUrl, fulfilments);
      return found.every((status) => status === 'waiting' || status === 'skipped') && found;
    },
    { timeoutMs: 120_000 },
  );
  expect(statuses).toEqual(fulfilments.map(decidedStatus));

  // Each task changed exactly twice (its request, its reservation): nothing was applied again.
  const heads = await kitchenHeads(deployment);
  expect(heads).toHaveLength(fulfilments.length);
  for (const head of heads) {
    expect(head.version).toBe(2);
    expect(new Set(head.causes).size).toBe(2);
  }

  // The redelivered batch was recognised, by the survivor, as already applied.
  expect(await kitchenCounter(await survivor.metricsUrl, 'scm_messages_duplicate_total')).toBeGreaterThan(0);

  // Every skipped task published CookingSkipped, once per event id (the outbox may send twice).
  const skipped = await waitFor(
    'a CookingSkipped for every order with nothing to cook',
    async () => {
      const found = await skippedFulfilments(deployment);
      return found.length >= fulfilments.length / 2 && found;
    },
    { timeoutMs: 60_000 },
  );
  expect(skipped.sort()).toEqual(
    fulfilments
      .filter(({ cooked }) => !cooked)
      .map(({ id }) => id)
      .sort(),
  );
}, 240_000);

/**
 * The faults, each against the running platform while the load flows. Each resolves once its
 * fault is over; the checker then judges the whole run. Victims that kill themselves use the
 * platform's own switch (`FAULT_KILL_POINT`, `FAULT_KILL_AFTER_BATCHES`, platform/host.ts), so
 * the code that dies is the code production runs.
 */
import type { ContextName } from '@platform/contexts';
import { getJson, type FaultContext, type FaultOutcome, type Scenario } from './run';
import type { StackComponent } from './platform';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * Victims that SIGKILL themselves at `point` of their n-th batch, `lives` times (the supervisor
 * restarts each, with the switch on until then): the fault is over when each has died that
 * often and is back.
 */
function selfKill(
  name: string,
  victims: readonly ContextName[],
  point: 'write' | 'produce' | 'publish',
  batches: number,
  lives: number,
): Scenario {
  return {
    name,
    async prepare({ platform }) {
      await Promise.all(
        victims.map((victim) =>
          platform.replace(victim, {
            env: { FAULT_KILL_POINT: point, FAULT_KILL_AFTER_BATCHES: String(batches) },
            faultLives: lives,
          }),
        ),
      );
    },
    async inject({ platform, durationMs }) {
      const instances = victims.map((victim) => platform.instances(victim)[0]);
      await waitFor(
        `${victims.join(', ')} to die ${lives} times`,
        () => instances.every((instance) => (instance?.deaths.length ?? 0) >= lives),
        durationMs + 60_000,
      );
      await Promise.all(instances.map((instance) => instance?.ready()));
      const problems = instances.flatMap((instance) =>
        instance && instance.deaths.some((death) => death !== 'SIGKILL')
          ? [`${instance.name} died otherwise than by its switch: ${instance.deaths.join(', ')}`]
          : [],
      );
      return { problems };
    },
  };
}

/** A stack component signalled a while into the load, and brought back after `downMs`. */
function componentOutage(
  name: string,
  component: StackComponent,
  how: 'kill' | 'pause',
  downMs: number,
  whileDown?: (context: FaultContext) => Promise<FaultOutcome>,
): Scenario {
  return {
    name,
    async inject(context) {
      const { platform, say } = context;
      await sleep(2_000);
      say(`${how === 'kill' ? 'SIGKILL' : 'SIGSTOP'} ${component}`);
      platform.signal(component, how === 'kill' ? 'SIGKILL' : 'SIGSTOP');
      const [outcome] = await Promise.all([whileDown?.(context), sleep(downMs)]);
      if (how === 'kill') await platform.restart(component);
      else platform.signal(component, 'SIGCONT');
      say(`${component} back`);
      return outcome ?? {};
    },
  };
}

/** Sums a counter over one `/metrics` text. */
function counter(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

export const scenarios: readonly Scenario[] = [
  selfKill(
    'order→SCM adapter killed after producing, before committing',
    ['order-scm-adapter'],
    'produce',
    2,
    2,
  ),
  selfKill(
    'SCM contexts killed between state write and commit',
    ['inventory', 'production', 'warehouse', 'delivery'],
    'write',
    3,
    2,
  ),
  selfKill(
    'outbox relay killed between publish and mark',
    ['warehouse', 'scm-order-adapter'],
    'publish',
    3,
    2,
  ),
  {
    name: 'SIGTERM mid-batch (drain, no redelivery)',
    async inject({ platform, say }) {
      await sleep(2_500);
      const victims: ContextName[] = ['inventory', 'warehouse'];
      const instances = victims.map((victim) => platform.instances(victim)[0]);
      const before = instances.map((instance) => instance?.deaths.length ?? 0);
      say(`SIGTERM ${victims.join(', ')}`);
      for (const instance of instances) instance?.process.child.kill('SIGTERM');
      await waitFor('the drained instances to be back', () =>
        instances.every((instance, i) => (instance?.deaths.length ?? 0) > (before[i] ?? 0)),
      );
      await Promise.all(instances.map((instance) => instance?.ready()));
      return {
        problems: instances.flatMap((instance) =>
          instance && instance.deaths.at(-1) !== 'exit 0'
            ? [`${instance.name} did not drain and exit 0 on SIGTERM: ${instance.deaths.at(-1)}`]
            : [],
        ),
      };
    },
    async restore({ platform }) {
      // A drained instance commits what it applied: its successor is never handed a batch again.
      const problems: string[] = [];
      for (const victim of ['inventory', 'warehouse'] as const) {
        const metricsUrl = await platform.instances(victim)[0]?.process.metricsUrl;
        const text = metricsUrl ? await (await fetch(`${metricsUrl}/metrics`)).text() : '';
        const duplicates = counter(text, 'scm_messages_duplicate_total');
        if (duplicates > 0) problems.push(`${victim} was redelivered ${duplicates} events after a drain`);
      }
      return problems;
    },
  },
  componentOutage('broker SIGKILLed and restarted', 'kafka', 'kill', 3_000),
  componentOutage('broker SIGSTOPped past the session timeout', 'kafka', 'pause', 13_000),
  componentOutage('document store SIGKILLed and restarted', 'mongo', 'kill', 3_000),
  componentOutage(
    'schema registry down mid-stream, a process starting meanwhile',
    'registry',
    'kill',
    8_000,
    async ({ platform, say }) => {
      // A process that starts while the registry is down waits and says so, then comes up.
      await sleep(1_000);
      const instance = platform.instances('production')[0];
      const old = instance?.process;
      old?.child.kill('SIGTERM');
      await old?.exited;
      await waitFor('production to be restarted', () => instance?.process !== old);
      const saysItWaits = (): boolean =>
        instance?.process.output.some((line) => line.includes('waiting for the schema registry')) ?? false;
      await waitFor('production to say it waits', saysItWaits, 30_000).catch(() => undefined);
      const said = instance?.process.output.join('\n') ?? '';
      say(
        `production while the registry is down: ${said.split('\n').filter(Boolean).at(-1) ?? '(nothing yet)'}`,
      );
      return {
        problems: /waiting for the schema registry/.test(said)
          ? []
          : ['a process starting without the registry did not say it waits for it'],
      };
    },
  ),
  {
    name: '10% of events duplicated, and stale replays',
    async inject({ platform, seed, say }) {
      await sleep(4_000);
      // Copies of records already on the topics, byte for byte, headers and all: redeliveries as
      // a producer retry or a mirror would make them, some long after the original (stale).
      const { deployment, kafka } = platform;
      let copies = 0;
      const copiedEventIds: string[] = [];
      const producer = kafka.producer();
      await producer.connect();
      try {
        for (const topic of [
          'scm.fulfilment-requests',
          'scm.inventory-events',
          'scm.warehouse-events',
          'order.events',
        ]) {
          const records = await deployment.records(`${deployment.namespace}${topic}`);
          const picked = records.filter((_, i) => (i * 7919 + seed) % 10 === 0);
          copies += picked.length;
          copiedEventIds.push(...picked.flatMap((record) => record.headers['event-id'] ?? []));
          if (picked.length > 0)
            await producer.send({
              topic: `${deployment.namespace}${topic}`,
              messages: picked.map((record) => ({
                key: record.key,
                value: record.value,
                headers: record.headers,
              })),
            });
        }
      } finally {
        await producer.disconnect();
      }
      say(`re-published ${copies} copies`);
      return {
        otherInputs: copies,
        copiedEventIds,
        problems: copies === 0 ? ['nothing was copied'] : [],
      };
    },
  },
  {
    name: 'rebalance storm (instances started and stopped every few seconds)',
    async inject({ platform, durationMs, say }) {
      const until = Date.now() + Math.max(6_000, durationMs - 2_000);
      let storms = 0;
      while (Date.now() < until) {
        const extra = (['inventory', 'delivery'] as const).map((name) =>
          platform.start(name, { anyPort: true }),
        );
        await Promise.all(extra.map((instance) => instance.ready().catch(() => undefined)));
        await sleep(2_000);
        await Promise.all(extra.map((instance) => instance.stop()));
        storms += 1;
      }
      say(`${storms} rounds of two extra instances joining and leaving`);
      return {};
    },
  },
  {
    name: 'full replay from the earliest offsets into fresh groups and databases',
    async inject({ platform, placed, durationMs, say }) {
      await sleep(durationMs);
      const orders = placed();
      const order = platform.url('order');
      const finalStatuses = ['DELIVERED', 'CANCELLED', 'FAILED', 'REJECTED'];
      const statuses = async (): Promise<string[]> =>
        Promise.all(
          orders.map(async (id) => String((await getJson(order, `/orders/${id}`, 'storefront')).status)),
        );
      await waitFor('every order final', async () =>
        (await statuses()).every((s) => finalStatuses.includes(s)),
      );
      const timelines = async (): Promise<string[]> =>
        Promise.all(
          orders.map(async (id) =>
            JSON.stringify(await getJson(platform.url('tracking'), `/orders/${id}/timeline`, 'storefront')),
          ),
        );
      const [statusesBefore, timelinesBefore] = [await statuses(), await timelines()];

      // The read model and the status adapter rebuilt from nothing: their inputs are all on
      // topics (the other contexts also take commands over HTTP, which no topic replays).
      const replayed: ContextName[] = ['tracking', 'scm-order-adapter'];
      await Promise.all(replayed.map((name) => platform.stopAll(name)));
      await platform.deleteGroups(replayed);
      const database = `${platform.deployment.database}_replay`;
      say(`replaying ${replayed.join(', ')} from the earliest offsets into ${database}`);
      await Promise.all(
        replayed.map((name) => platform.replace(name, { env: { MONGO_DATABASE: database } })),
      );
      await waitFor('the replay to catch up', async () => (await platform.lag()) === 0, 120_000);

      const problems: string[] = [];
      const [statusesAfter, timelinesAfter] = [await statuses(), await timelines()];
      orders.forEach((id, i) => {
        if (statusesAfter[i] !== statusesBefore[i])
          problems.push(`${id}: ${statusesBefore[i]} → ${statusesAfter[i]} after the replay`);
        if (timelinesAfter[i] !== timelinesBefore[i])
          problems.push(`${id}: its timeline differs after the replay`);
      });
      return { problems };
    },
    async restore({ platform }) {
      // Back on the deployment's own database, which was current when they stopped.
      for (const name of ['tracking', 'scm-order-adapter'] as const) await platform.replace(name);
    },
  },
];

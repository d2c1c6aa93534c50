/**
 * `npm run chaos`: the fault suite's scenarios, longer and repeated, outside CI. Starts a
 * platform of its own (as the CI test does), runs every scenario (or those `--only` names) for
 * `--repeat` rounds with seeds from `--seed` up, prints progress to stderr and the results
 * table to stdout, and writes them to `test/faults/results/<date>-chaos.json`. Exits 1 if any
 * scenario lost, duplicated or reordered anything, or saw dead letters it did not inject.
 * `--cluster` runs the broker-loss scenarios on a three-node cluster instead (as
 * test/faults/cluster.test.ts does once), into `<date>-chaos-cluster.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { contextNames } from '@platform/contexts';
import type { Endpoints } from '@test/harness/endpoints';
import { createTestDeployment } from '@test/harness/platform';
import { runHttpAbuseScenario } from './http-abuse';
import { clusterScenarios } from './cluster-scenarios';
import { clusterFaultPorts, startFaultPlatform } from './platform';
import { runPoisonScenario } from './poison';
import { passed, type ScenarioResult } from './results';
import { runScenario } from './run';
import { scenarios } from './scenarios';
import { resultsTable } from './table';

const usage = `npm run chaos -- [--cluster] [--repeat N] [--duration SECONDS] [--rate ORDERS_PER_S] [--seed N] [--only TEXT]

  --cluster   the broker-loss scenarios on a three-node KRaft cluster, two instances of every
              context (test/faults/cluster-scenarios.ts), instead of the single-broker suite

  --repeat    rounds of every scenario (default 3), each with the next seed
  --duration  how long the load runs per scenario (default 20)
  --rate      orders placed per second (default 2)
  --seed      first seed (default 14)
  --only      run only scenarios whose name contains TEXT (repeatable)

The poison-record and HTTP-abuse scenarios run last, on a platform hosted in this process.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      repeat: { type: 'string', default: '3' },
      duration: { type: 'string', default: '20' },
      rate: { type: 'string', default: '2' },
      seed: { type: 'string', default: '14' },
      only: { type: 'string', multiple: true },
      cluster: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const number = (name: string, raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`--${name} must be a positive number, got "${raw}"`);
    return value;
  };
  const repeat = number('repeat', values.repeat);
  const durationMs = number('duration', values.duration) * 1000;
  const ratePerSec = number('rate', values.rate);
  const firstSeed = number('seed', values.seed);
  const cluster = values.cluster;
  const chosen = (cluster ? clusterScenarios : scenarios).filter(
    (scenario) => !values.only || values.only.some((text) => scenario.name.includes(text)),
  );
  if (chosen.length === 0) throw new Error(`no scenario matches ${values.only?.join(', ')}`);

  const say = (line: string): void => void process.stderr.write(`[chaos] ${line}\n`);
  say(
    `${chosen.length} scenarios × ${repeat}, ${ratePerSec} orders/s for ${durationMs / 1000} s each` +
      (cluster ? ', on three Kafka nodes with two instances of every context' : ''),
  );
  // The stack's processes are detached (a stack outlives the command that started it): on
  // Ctrl-C the run takes down what it started, rather than leave a cluster running in /tmp,
  // once its start is over if it is still starting.
  const starting = cluster
    ? startFaultPlatform('chaos-cluster', say, { brokers: 3, ports: clusterFaultPorts })
    : startFaultPlatform('chaos', say);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      say(`${signal}: stopping the platform and its stack`);
      void starting
        .then((platform) => platform.stop())
        .catch(() => undefined)
        .finally(() => process.exit(130));
    });
  const platform = await starting;
  const results: ScenarioResult[] = [];
  try {
    await platform.startEveryContext(cluster ? 2 : 1);
    for (let round = 0; round < repeat; round += 1)
      for (const scenario of chosen) {
        const seed = firstSeed + round;
        say(`round ${round + 1}/${repeat}: ${scenario.name} (seed ${seed})`);
        results.push(
          await runScenario(platform, scenario, { seed, ratePerSec, durationMs, say }).catch(
            (error: unknown): ScenarioResult => {
              // One scenario that cannot finish is a failed row, not the end of the run.
              const problem = `the scenario did not finish: ${error instanceof Error ? error.message : String(error)}`;
              say(`[${scenario.name}] ${problem}`);
              return {
                scenario: scenario.name,
                seed,
                inputs: 0,
                lost: 0,
                duplicateEffects: 0,
                orderViolations: 0,
                deadLetters: { seen: 0, injected: 0 },
                recoverySeconds: null,
                problems: [problem],
              };
            },
          ),
        );
      }
    if (!cluster && (!values.only || values.only.some((text) => 'poison records HTTP abuse'.includes(text))))
      results.push(...(await abuseRounds(platform.deployment.endpoints, repeat, firstSeed, say)));
  } finally {
    await platform.stop();
  }
  console.log(resultsTable(results));
  const file = path.join(
    __dirname,
    'results',
    `${new Date().toISOString().slice(0, 10)}-chaos${cluster ? '-cluster' : ''}.json`,
  );
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    `${JSON.stringify({ cluster, repeat, durationMs, ratePerSec, firstSeed, results }, null, 2)}\n`,
  );
  say(`results written to ${path.relative(process.cwd(), file)}`);
  return results.every(passed) ? 0 : 1;
}

/**
 * The scenarios that kill nothing (poison records, HTTP abuse), against one whole platform hosted
 * here on the same stack, as `test/faults/abuse.test.ts` runs them once.
 */
async function abuseRounds(
  endpoints: Endpoints,
  repeat: number,
  firstSeed: number,
  say: (line: string) => void,
): Promise<ScenarioResult[]> {
  const deployment = createTestDeployment('chaos-abuse', { endpoints });
  const rateLimit = 150;
  const results: ScenarioResult[] = [];
  try {
    const hosted = await deployment.start(contextNames, {
      AUTO_ADVANCE_MS: '50',
      HTTP_RATE_LIMIT: String(rateLimit),
      HTTP_RATE_LIMIT_WINDOW_MS: '10000',
    });
    for (let round = 0; round < repeat; round += 1) {
      const seed = firstSeed + round;
      say(`round ${round + 1}/${repeat}: poison records and HTTP abuse (seed ${seed})`);
      const poison = await runPoisonScenario({
        seed,
        namespace: deployment.namespace,
        url: hosted.url,
        endpoints,
      });
      const abuse = await runHttpAbuseScenario({
        seed,
        url: hosted.url,
        rateLimit,
        adminGroup: `${deployment.namespace}order-scm-adapter`,
      });
      for (const result of [poison, abuse]) {
        say(`[${result.scenario}] ${passed(result) ? 'passed' : `FAILED: ${result.problems.join('; ')}`}`);
        results.push(result);
      }
    }
  } finally {
    await deployment.stop().catch(() => undefined);
  }
  return results;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[chaos] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

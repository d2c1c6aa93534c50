/**
 * The fault suite in CI: every scenario once, with a fixed seed, against a platform of its own
 * (its own broker, registry and store, and each context in a process of its own). `npm run
 * chaos` runs the same scenarios longer and more often and writes the results table.
 */
import { startFaultPlatform, type FaultPlatform } from './platform';
import { passed, type ScenarioResult } from './results';
import { runScenario } from './run';
import { scenarios } from './scenarios';
import { resultsTable } from './table';

const say = (line: string): void => void process.stderr.write(`[faults] ${line}\n`);
let platform: FaultPlatform;
const results: ScenarioResult[] = [];

beforeAll(async () => {
  platform = await startFaultPlatform('faults', say);
  await platform.startEveryContext();
}, 300_000);

afterAll(async () => {
  say(`\n${resultsTable(results)}`);
  await platform?.stop();
}, 120_000);

it.each(scenarios.map((scenario) => [scenario.name, scenario] as const))(
  '%s: nothing lost, nothing applied twice, nothing out of order',
  async (_, scenario) => {
    const result = await runScenario(platform, scenario, { seed: 14, ratePerSec: 2, durationMs: 5_000, say });
    results.push(result);
    expect(result.problems).toEqual([]);
    expect(passed(result)).toBe(true);
  },
  300_000,
);

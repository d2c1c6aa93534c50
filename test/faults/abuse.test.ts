/**
 * The fault suite's scenarios that need no process killed: poison records on the contexts' input
 * topics, then abuse of the HTTP APIs, each once with a fixed seed against one whole platform
 * hosted in this process on the real stack. Their rows are what `npm run chaos` puts in the table.
 */
import type { RunningPlatform } from '@platform/host';
import { contextNames } from '@platform/contexts';
import { createTestDeployment } from '@test/harness/platform';
import { runHttpAbuseScenario } from './http-abuse';
import { runPoisonScenario } from './poison';
import { passed, type ScenarioResult } from './results';

const deployment = createTestDeployment('abuse');
let platform: RunningPlatform;
// Per client and window: far above what the scenarios' own clients send, low enough to flood.
const rateLimit = 150;
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const row = (result: ScenarioResult): void => log(`row ${JSON.stringify(result)}`);

beforeAll(async () => {
  // Orders travel unattended; the limit is low enough for a flood to meet it.
  platform = await deployment.start(contextNames, {
    AUTO_ADVANCE_MS: '50',
    HTTP_RATE_LIMIT: String(rateLimit),
    HTTP_RATE_LIMIT_WINDOW_MS: '10000',
  });
});

afterAll(() => deployment.stop());

it('poison records: each is dead-lettered with its reason by every group that meets it; every good order is delivered once', async () => {
  const result = await runPoisonScenario({
    seed: 14,
    namespace: deployment.namespace,
    url: platform.url,
    perKind: 1,
    log,
  });
  row(result);
  expect(result.problems).toEqual([]);
  expect(passed(result)).toBe(true);
});

it('HTTP abuse: 4xx problems, never a 5xx or an internal detail; nothing half-written; one order per key', async () => {
  const result = await runHttpAbuseScenario({
    seed: 14,
    url: platform.url,
    rateLimit,
    adminGroup: `${deployment.namespace}order-scm-adapter`,
    log,
  });
  row(result);
  expect(result.problems).toEqual([]);
  expect(passed(result)).toBe(true);
});

/**
 * Smoke test of the traffic simulator, on the real stack: a v2 storefront hosting every context
 * (auto-advance at 200 ms) and a v1 storefront beside it, a few seconds of realistic traffic
 * through `startTraffic`, and `npm run simulate -- --url ...` as a child process against the same
 * platform. What a user of the command sees: orders placed and delivered, the bad ones refused or
 * held (주문보류), a shortage resolved by a receipt, counts that add up, no 5xx.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatApiKeys } from '@platform/credentials';
import { platformContexts } from '@contracts/principals';
import type { RunningPlatform } from '@platform/host';
import { testKeys, tokenOf } from '@test/harness/credentials';
import { createTestDeployment } from '@test/harness/platform';
import { realisticMix, startTraffic } from '../simulator/traffic';

const root = resolve(__dirname, '..');
const deployment = createTestDeployment('simulate');
let everything: RunningPlatform;
let storefrontV1: RunningPlatform;
// The command is given the test keys as an operator would give it a keys file.
const keysDir = mkdtempSync(join(tmpdir(), 'simulate-keys-'));
const keysFile = join(keysDir, 'keys');
writeFileSync(keysFile, `${formatApiKeys(testKeys)}\n`, { mode: 0o600 });

beforeAll(async () => {
  // Started together: neither needs the other up first (provisioning is safe concurrently).
  [everything, storefrontV1] = await Promise.all([
    deployment.start([...platformContexts], { AUTO_ADVANCE_MS: '200' }),
    deployment.start(['order'], { ORDER_PLACED_VERSION: '1' }),
  ]);
});

afterAll(async () => {
  rmSync(keysDir, { recursive: true, force: true });
  await deployment.stop();
});

/** `npm run simulate` as node with tsx's loader, as a user runs it; its exit code and output. */
function simulate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

it('realistic traffic: orders delivered, bad ones refused or held, a shortage resolved, counts add up', async () => {
  // Seed 2269's first six orders: an unknown product, a shortage, an unknown zone, a good one,
  // an invalid body, a good one (simulator/plan.ts draws them the same way every time).
  const cli = simulate([
    '--url',
    everything.url,
    '--url',
    storefrontV1.url,
    '--rate',
    '2',
    '--duration',
    '2s',
    '--seed',
    '188',
    '--drain',
    '60s',
    '--keys',
    keysFile,
    '--metrics-url',
    everything.metricsUrl,
  ]);
  const traffic = startTraffic({
    storefronts: [everything.url, storefrontV1.url],
    platformUrl: everything.url,
    credentials: {
      storefront: tokenOf('storefront'),
      inventory: tokenOf('inventory'),
      admin: tokenOf('admin'),
    },
    ratePerSec: 1.5,
    durationMs: 4_000,
    seed: 2269,
    mix: realisticMix,
    drainMs: 60_000,
    metricsUrls: [`${everything.metricsUrl}/metrics`, `${storefrontV1.metricsUrl}/metrics`],
  });
  const summary = await traffic.done;

  const fateOf = (fate: string) => summary.orders.filter((order) => order.fate === fate);
  expect(summary.offered).toBe(6);
  expect(summary.placed).toBe(5);
  expect(summary.refused).toBe(1); // the invalid body: a 400
  expect(Object.keys(summary.placedPerStorefront).sort()).toEqual([everything.url, storefrontV1.url].sort());
  expect(summary.delivered).toBeGreaterThanOrEqual(1);
  expect(fateOf('deliver').map((order) => order.finalStatus)).toEqual(['DELIVERED', 'DELIVERED']);
  // Untranslatable orders are held for a person (주문보류) and their events dead-lettered.
  expect([...fateOf('unknownProduct'), ...fateOf('unknownZone')].map((order) => order.finalStatus)).toEqual([
    'REJECTED',
    'REJECTED',
  ]);
  expect(summary.deadLetters).toBeGreaterThanOrEqual(2);
  // The shortage: 입고대기 until the simulator's receipt, then on to delivery.
  const [shortage] = fateOf('shortage');
  expect(shortage?.statuses.map((seen) => seen.status)).toContain('WAITING_FOR_STOCK');
  expect(shortage?.finalStatus).toBe('DELIVERED');
  expect(summary.receipts).toBe(1);
  // Every placed order has a final status or is reported unfinished; nothing failed.
  expect(
    summary.delivered + summary.cancelled + summary.rejected + summary.failed + summary.unfinished.length,
  ).toBe(summary.placed);
  expect(summary.unfinished).toEqual([]);
  expect(summary.lost).toEqual([]);
  expect(summary.serverErrors).toBe(0);
  expect(summary.errors).toBe(0);
  const delivered = summary.orders.filter((order) => order.finalStatus === 'DELIVERED');
  for (const order of delivered)
    expect(summary.finalAt.get(order.orderId) ?? 0).toBeGreaterThan(
      summary.placedAt.get(order.orderId) ?? Infinity,
    );
  expect(summary.deliveryLatencyMs?.count).toBeGreaterThanOrEqual(2);

  // The command: seed 188's first four orders are a good one, an invalid body, an unknown
  // product and a cancel after dispatch (refused: too late, and still delivered).
  const run = await cli;
  expect(run.stderr).toMatch(/placed \d+/);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/offered\s+4\n/);
  expect(run.stdout).toMatch(/refused on placing \(4xx\)\s+1\n/);
  expect(run.stdout).toMatch(/DELIVERED 배송완료\s+2\n/);
  expect(run.stdout).toMatch(/REJECTED 주문보류\s+1\n/);
  expect(run.stdout).toMatch(/final \+ unfinished = placed\s+3 \+ 0 = 3\n/);
  expect(run.stdout).toMatch(/cancel after dispatch\s+1 refused \(too late\)/);
  expect(run.stdout).toMatch(/requests\s+\d+ \(5xx 0,/);
});

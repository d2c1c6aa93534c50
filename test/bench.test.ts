/**
 * Smoke test of `npm run bench`: the command itself, as a user runs it, on the smallest sizes
 * (`--smoke`), against the test run's real stack. Every lane runs end to end — the baselines, the
 * adapter and the state writer alone, the whole pipeline, and the same pipeline over a seeded
 * history — and the results file holds what the lanes measured. The figures themselves are the
 * benchmark's business (docs/benchmarks.md), not a test's.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResults } from '../bench/report';

const root = path.resolve(__dirname, '..');

function runBench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], {
    cwd: root,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run bench (smoke profile)', () => {
  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  afterAll(() => fs.rmSync(resultsDir, { recursive: true, force: true }));

  it('runs every lane, prints every table and ratio, and writes the results file', async () => {
    const { code, stdout, stderr } = await runBench(['--smoke', '--no-write', '--results-dir', resultsDir]);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });

    for (const heading of [
      '### Targets',
      '### Baselines',
      '### Stages alone',
      '### Whole pipeline',
      '### Cost vs history',
    ])
      expect(stdout).toContain(heading);
    for (const ratio of ['vs B1', 'vs B1r', 'vs B2 bulk upserts', 'registry calls in steady state'])
      expect(stdout).toContain(ratio);
    expect(stderr).toContain('[bench'); // the live progress line

    const [file] = fs.readdirSync(resultsDir);
    const results = JSON.parse(fs.readFileSync(path.join(resultsDir, String(file)), 'utf8')) as BenchResults;
    expect(results.profile).toBe('smoke');
    expect(results.baselines.b1?.messagesPerSec).toBeGreaterThan(0);
    expect(results.baselines.b1r?.messagesPerSec).toBeGreaterThan(0);
    expect(results.baselines.b2?.bulkUpsertsPerSec).toBeGreaterThan(0);
    // Every pre-loaded input came out the other end.
    expect(results.lanes.adapter).toMatchObject({ published: 5, completed: true });
    expect(results.lanes.stateWriter).toMatchObject({ published: 5, events: 10, completed: true });
    // Every order placed over HTTP was seen delivered on the topics.
    expect(results.lanes.pipeline?.saturation).toMatchObject({ placed: 2, delivered: 2, completed: true });
    expect(results.lanes.pipeline?.saturation.latency.count).toBe(2);
    expect(results.lanes.history?.sizes.map((size) => size.seeded?.orders)).toEqual([0, 5]);
    expect(results.lanes.history?.sizes[1]?.burst?.delivered).toBe(1);
  }, 600_000);
});

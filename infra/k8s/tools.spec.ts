import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { underBuildLock } from './tools';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-lock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('underBuildLock', () => {
  it('builds once when two callers come together: the second waits for the first', async () => {
    const lock = path.join(dir, 'tool.building');
    const marker = path.join(dir, 'tool.installed');
    let builds = 0;
    const build = async () => {
      builds += 1;
      await sleep(300);
      fs.writeFileSync(marker, 'done');
    };
    const done = () => fs.existsSync(marker);
    await Promise.all([underBuildLock(lock, done, build), underBuildLock(lock, done, build)]);
    expect(builds).toBe(1);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('takes over the lock of a builder that died, and frees it when its own build fails', async () => {
    const lock = path.join(dir, 'tool.building');
    // A pid no process has: a build killed before it could remove its lock.
    fs.writeFileSync(lock, '2147483646\n');
    const failing = underBuildLock(
      lock,
      () => false,
      () => Promise.reject(new Error('compile error')),
    );
    await expect(failing).rejects.toThrow('compile error');
    expect(fs.existsSync(lock)).toBe(false);
  });
});

/**
 * The native stack's own promises, on a second stack beside the test run's: it shares the
 * cached installs but has its own ports, data and pid files. `up` reuses the installs,
 * `down` leaves no process behind, and a component killed behind the stack's back is
 * detected and restarted by the next `up`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readStackConfig } from '@infra/stack/config';
import { isAlive, portIsOpen } from '@infra/stack/processes';
import { down, status, up } from '@infra/stack/stack';
import { describeWithNativeInstalls, nativeStack } from '@test/harness/native';

const ownStack = nativeStack;

describeWithNativeInstalls('native stack lifecycle', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-lifecycle-'));
  const config = readStackConfig({
    ...process.env,
    STACK_DIR: dir,
    STACK_INSTALL_DIR: ownStack.installDir,
    STACK_KAFKA_PORT: '28092',
    STACK_KAFKA_CONTROLLER_PORT: '28093',
    STACK_MONGO_PORT: '28017',
  });
  const components = ['kafka', 'mongo'];
  const lines: string[] = [];

  afterAll(async () => {
    await down(config);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts from the cached install, restarts a killed component, and stops without leftovers', async () => {
    await up(config, components, (line) => lines.push(line));
    expect(lines.some((line) => line.includes('installing'))).toBe(false);
    const running = (await status(config)).filter((row) => components.includes(row.name));
    expect(running.map((row) => row.state)).toEqual(['ready', 'ready']);

    const mongoPid = running.find((row) => row.name === 'mongo')?.pid;
    expect(mongoPid).toBeDefined();
    process.kill(Number(mongoPid), 'SIGKILL');
    await waitUntil(() => !isAlive(Number(mongoPid)));
    expect((await status(config)).find((row) => row.name === 'mongo')?.state).toBe('crashed');

    lines.length = 0;
    await up(config, components, (line) => lines.push(line));
    expect(lines).toContain('mongo: found dead (crashed or killed); restarting');
    expect(lines).toContain('kafka: already running at 127.0.0.1:28092');

    const pids = (await status(config)).flatMap((row) => (row.pid ? [row.pid] : []));
    await down(config);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await portIsOpen(28092)).toBe(false);
    expect(await portIsOpen(28017)).toBe(false);
    expect((await status(config)).map((row) => row.state)).toEqual([
      'stopped',
      'stopped',
      'stopped',
      'stopped',
    ]);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

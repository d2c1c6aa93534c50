import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tail } from './processes';

describe('tail of a component log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tail-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function logOf(lines: string[]): string {
    const file = path.join(dir, `${lines.length}.log`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  it('shows the error that ended a run above its orderly shutdown, and nothing of earlier runs', () => {
    const file = logOf([
      '=== started 1',
      'ERROR of an earlier run',
      '=== started 2',
      'INFO starting',
      'ERROR [KafkaRaftServer nodeId=1] Fatal error during broker startup. Prepare to shutdown',
      'java.net.BindException: Address already in use',
      ...Array.from({ length: 30 }, (_, i) => `INFO shutting down ${i}`),
    ]);
    const shown = tail(file).split('\n');
    expect(shown.slice(0, 3)).toEqual([
      'ERROR [KafkaRaftServer nodeId=1] Fatal error during broker startup. Prepare to shutdown',
      'java.net.BindException: Address already in use',
      '[…]',
    ]);
    expect(shown.slice(3)).toEqual(Array.from({ length: 20 }, (_, i) => `INFO shutting down ${i + 10}`));
    expect(shown.join('\n')).not.toContain('earlier run');
  });

  it('is only the last lines when nothing went wrong, and says so when there is no log', () => {
    expect(tail(logOf(['=== started', 'INFO a', 'INFO b']))).toBe('=== started\nINFO a\nINFO b');
    expect(tail(path.join(dir, 'missing.log'))).toBe('(no log yet)');
  });
});

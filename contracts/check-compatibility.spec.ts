import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCompatibilityCheck } from './check-compatibility';
import { parseCatFileBatch, parseLsTree } from './git';
import type { JsonValue } from './schema-model';

// The gate end to end against a real, throwaway git repository: committed history in, findings out.

const envelope = {
  type: 'record',
  name: 'EventMetadata',
  namespace: 'com.scmplatform.common',
  doc: 'Envelope.',
  fields: [{ name: 'eventId', doc: 'Id.', type: 'string' }],
};
const shipped = (dataFields: readonly JsonValue[]): JsonValue => ({
  type: 'record',
  name: 'Shipped',
  namespace: 'com.scmplatform.scm',
  doc: 'Shipped (배송).',
  fields: [
    { name: 'metadata', doc: 'Envelope.', type: 'com.scmplatform.common.EventMetadata' },
    {
      name: 'data',
      doc: 'Data.',
      type: { type: 'record', name: 'ShippedData', doc: 'Data.', fields: dataFields },
    },
  ],
});
const shipmentId = { name: 'shipmentId', doc: 'Id.', type: 'string' };
const courier = { name: 'courier', doc: 'Courier.', type: ['null', 'string'], default: null };

describe('check-compatibility against git history', () => {
  let repo = '';
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.email=gate@test', '-c', 'user.name=gate', ...args], {
      cwd: repo,
    }).toString('utf8');
  const write = (path: string, json: JsonValue): void => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), `${JSON.stringify(json, null, 2)}\n`);
  };
  const errors = (base?: string): string[] =>
    runCompatibilityCheck({ root: repo, base, history: true })
      .filter((finding) => finding.severity === 'error')
      .map((finding) => `${finding.path}: ${finding.message}`);

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'schema-gate-'));
    git('init', '-q', '-b', 'main');
    write('schemas/common/EventMetadata.avsc', envelope);
    write('schemas/scm/Shipped.v1.avsc', shipped([shipmentId]));
  });

  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it('checks versions against each other before the first commit', () => {
    write(
      'schemas/scm/Shipped.v2.avsc',
      shipped([shipmentId, { name: 'courier', doc: 'Courier.', type: 'string' }]),
    );
    expect(errors()).toEqual([
      'schemas/scm/Shipped.v2.avsc: Shipped v2 (schemas/scm/Shipped.v2.avsc) cannot read data written by Shipped v1 (schemas/scm/Shipped.v1.avsc): no matching field for default-less com.scmplatform.scm.ShippedData.courier',
    ]);
  });

  it('accepts a new compatible version of a committed event', () => {
    git('add', '-A');
    git('commit', '-qm', 'v1');
    write('schemas/scm/Shipped.v2.avsc', shipped([shipmentId, courier]));
    expect(errors()).toEqual([]);
  });

  it('refuses an in-place edit of a committed version, and names the file to write instead', () => {
    git('add', '-A');
    git('commit', '-qm', 'v1');
    write('schemas/scm/Shipped.v1.avsc', shipped([shipmentId, courier]));
    expect(errors()).toEqual([
      expect.stringMatching(
        /^schemas\/scm\/Shipped\.v1\.avsc: edited in place, but committed at HEAD \([0-9a-f]{8}\): .* put the change in Shipped\.v2\.avsc$/,
      ),
    ]);
  });

  it('lets a branch rework its own uncommitted-to-base files, but not what the base published', () => {
    git('add', '-A');
    git('commit', '-qm', 'v1 on main');
    git('checkout', '-q', '-b', 'feature');
    write('schemas/scm/Shipped.v2.avsc', shipped([shipmentId, courier]));
    git('add', '-A');
    git('commit', '-qm', 'v2 on the branch');
    write(
      'schemas/scm/Shipped.v2.avsc',
      shipped([shipmentId, courier, { ...courier, name: 'note', doc: 'Note.' }]),
    );
    expect(errors('main')).toEqual([]);
    expect(errors('HEAD')).toEqual([expect.stringContaining('schemas/scm/Shipped.v2.avsc: edited in place')]);
  });

  it('checks against a form that only exists in older commits', () => {
    write(
      'schemas/scm/Shipped.v1.avsc',
      shipped([shipmentId, { name: 'weight', doc: 'Grams.', type: 'int' }]),
    );
    git('add', '-A');
    git('commit', '-qm', 'v1 with weight');
    // Someone rewrote v1 in a later commit, bypassing the gate; data written before is still out there.
    write('schemas/scm/Shipped.v1.avsc', shipped([shipmentId]));
    git('commit', '-qam', 'v1 without weight');
    write('schemas/scm/Shipped.v2.avsc', shipped([shipmentId, courier]));
    expect(errors()).toEqual([
      expect.stringContaining(
        'cannot read data written by Shipped v1 (schemas/scm/Shipped.v1.avsc): no matching field for default-less com.scmplatform.scm.ShippedData.weight',
      ),
      expect.stringContaining(
        'cannot read data written by Shipped v2 (schemas/scm/Shipped.v2.avsc): no matching field for default-less com.scmplatform.scm.ShippedData.weight',
      ),
    ]);
  });

  it('refuses a base that names no commit', () => {
    expect(errors('no-such-branch')).toEqual(['no-such-branch: no-such-branch names no commit']);
  });
});

describe('git output parsing', () => {
  it('reads ls-tree -z records', () => {
    expect(
      parseLsTree(['100644 blob abc\tschemas/a b.avsc', '040000 tree def\tschemas/x', ''].join('\0')),
    ).toEqual([{ blob: 'abc', path: 'schemas/a b.avsc' }]);
  });

  it('reads cat-file --batch by byte size, so multi-byte text stays intact', () => {
    const first = Buffer.from('{"doc":"배송"}');
    const second = Buffer.from('x');
    const output = Buffer.concat([
      Buffer.from(`aaa blob ${first.length}\n`),
      first,
      Buffer.from('\n'),
      Buffer.from('bbb missing\n'),
      Buffer.from(`ccc blob ${second.length}\n`),
      second,
      Buffer.from('\n'),
    ]);
    expect(parseCatFileBatch(output)).toEqual(
      new Map([
        ['aaa', '{"doc":"배송"}'],
        ['ccc', 'x'],
      ]),
    );
  });
});

/**
 * The architecture, enforced: contexts meet only through topics and the generated contracts.
 * A context (services/<name>) or an adapter (streams/<name>) imports only itself, the runtime and
 * the contracts; the runtime imports no context; the contracts import nothing of ours but
 * themselves (a command that needs the stack or a client lives in infra/); only the platform's
 * composition root knows them all.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(__dirname, '..');

function filesUnder(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports, as a path relative to the project root (packages as they are). */
function importsOf(file: string, source = readFileSync(file, 'utf8')): string[] {
  const specifiers = [
    // Not after a backtick on its line: code that emits code (contracts/emit-types.ts) writes
    // imports into template strings that are no import of its own.
    ...source.matchAll(/^[^`\n]*?(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)'([^']+)'/gm),
  ].map((match) => match[1] ?? '');
  return specifiers.map((specifier) => {
    const alias = /^@(runtime|contracts|infra|services|streams|platform|test)\/(.*)$/.exec(specifier);
    if (alias) return `${alias[1]}/${alias[2]}`;
    if (specifier.startsWith('.'))
      return relative(root, resolve(dirname(file), specifier))
        .split(sep)
        .join('/');
    return `package:${specifier}`;
  });
}

/** `services/order/api.ts` -> `services/order`; other folders -> their top level. */
function unitOf(path: string): string {
  const [top, second] = path.split('/');
  return top === 'services' || top === 'streams' ? `${top}/${second}` : (top ?? path);
}

function foreignImports(unit: string, file: string, source?: string): string[] {
  return importsOf(file, source).filter((target) => {
    if (target.startsWith('package:')) return false;
    const targetUnit = unitOf(target);
    return targetUnit !== unit && targetUnit !== 'runtime' && targetUnit !== 'contracts';
  });
}

const units = ['services', 'streams'].flatMap((top) =>
  readdirSync(join(root, top))
    .filter((name) => statSync(join(root, top, name)).isDirectory())
    .map((name) => `${top}/${name}`),
);

describe('module boundaries', () => {
  it('finds the contexts and adapters to check', () => {
    expect(units).toEqual(
      expect.arrayContaining([
        'services/order',
        'services/inventory',
        'streams/order-to-scm',
        'streams/scm-to-order',
      ]),
    );
  });

  it.each(units)('%s imports only itself, the runtime, the contracts and packages', (unit) => {
    const offending = filesUnder(join(root, unit)).flatMap((file) =>
      foreignImports(unit, file).map((target) => `${relative(root, file)} -> ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('the runtime knows no context', () => {
    const offending = filesUnder(join(root, 'runtime')).flatMap((file) =>
      importsOf(file)
        .filter((target) => ['services', 'streams', 'platform'].includes(unitOf(target).split('/')[0] ?? ''))
        .map((target) => `${relative(root, file)} -> ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('the contracts import only themselves and packages', () => {
    const offending = filesUnder(join(root, 'contracts')).flatMap((file) =>
      importsOf(file)
        .filter((target) => !target.startsWith('package:') && unitOf(target) !== 'contracts')
        .map((target) => `${relative(root, file)} -> ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('catches imports of another context, by alias or by relative path', () => {
    const file = join(root, 'services', 'order', 'probe.ts');
    const source = [
      "import { stockDecider } from '@services/inventory/domain';",
      "import { translateOrderEvent } from '../../streams/order-to-scm/translate';",
      "import { orderDecider } from './domain';",
      "import type { OrderPlaced } from '@contracts/generated';",
      "import Router from '@koa/router';",
    ].join('\n');
    expect(foreignImports('services/order', file, source)).toEqual([
      'services/inventory/domain',
      'streams/order-to-scm/translate',
    ]);
  });
});

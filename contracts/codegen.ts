/**
 * `tsx contracts/codegen.ts` regenerates contracts/generated/*.ts, docs/events.md and
 * docs/asyncapi.yaml from schemas/ and contracts/topics.ts.
 * `tsx contracts/codegen.ts --check` writes nothing and exits 1 naming every stale file (CI).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generatedDir } from './emit-types';
import { generate, staleFiles } from './generate';
import { readSchemaFiles } from './loader';
import { topics } from './topics';

const root = resolve(__dirname, '..');

function readExisting(paths: Iterable<string>): Map<string, string> {
  const existing = new Map<string, string>();
  const read = (path: string): void => {
    const full = join(root, path);
    if (existsSync(full)) existing.set(path, readFileSync(full, 'utf8'));
  };
  for (const path of paths) read(path);
  const dir = join(root, generatedDir);
  if (existsSync(dir)) for (const entry of readdirSync(dir)) read(`${generatedDir}/${entry}`);
  return existing;
}

function main(argv: readonly string[]): number {
  const unknown = argv.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`usage: tsx contracts/codegen.ts [--check]  (unknown: ${unknown.join(' ')})`);
    return 2;
  }
  const check = argv.includes('--check');
  const { files, problems } = generate(readSchemaFiles(root), topics);
  if (problems.length > 0) {
    for (const problem of problems) console.error(`${problem.path}: ${problem.message}`);
    console.error(`\n${problems.length} problem(s); nothing generated.`);
    return 1;
  }
  const { changed, obsolete } = staleFiles(files, readExisting(files.keys()), generatedDir);
  if (check) {
    if (changed.length === 0 && obsolete.length === 0) {
      console.log(`${files.size} generated files are up to date.`);
      return 0;
    }
    for (const path of changed) console.error(`stale: ${path}`);
    for (const path of obsolete) console.error(`obsolete: ${path}`);
    console.error(
      '\nGenerated files are out of date: run `npx tsx contracts/codegen.ts` and commit the result.',
    );
    return 1;
  }
  for (const path of changed) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, files.get(path) ?? '');
    console.log(`wrote ${path}`);
  }
  for (const path of obsolete) {
    rmSync(join(root, path));
    console.log(`removed ${path}`);
  }
  console.log(`${files.size} generated files, ${changed.length} written, ${obsolete.length} removed.`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));

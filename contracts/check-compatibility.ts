/**
 * The compatibility gate, offline part:
 *
 *   tsx contracts/check-compatibility.ts [--base REF] [--no-history]
 *
 * Checks the working tree's schemas against (1) the house rules, (2) every earlier version of the
 * same event, FULL_TRANSITIVE, including every form committed in the history reachable from REF,
 * and (3) immutability: a version file committed at REF must be unchanged. REF defaults to HEAD
 * (local use: "did I edit a committed file?"); CI passes the target branch (`--base origin/main`),
 * so a pull request may still rework the files it adds itself. CI needs the history
 * (`fetch-depth: 0`); in a shallow clone the gate sees only what was fetched and says so.
 *
 * The live-registry part of the gate (same rule, asked of the registry) comes with the serde.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runGate, type Finding, type Snapshot } from './compatibility';
import { isShallowRepository, readSnapshots, resolveCommit, schemaCommits } from './git';
import { lintSchemaSet, loadSchemaSet, readSchemaFiles } from './loader';

export interface CheckOptions {
  readonly root: string;
  /** Undefined means HEAD, and tolerates a repository without commits. */
  readonly base: string | undefined;
  readonly history: boolean;
}

export function runCompatibilityCheck(options: CheckOptions): Finding[] {
  const findings: Finding[] = [];
  const { set: head, problems } = loadSchemaSet(readSchemaFiles(options.root));
  for (const problem of [...problems, ...lintSchemaSet(head)]) {
    findings.push({ severity: 'error', path: problem.path, message: problem.message });
  }
  if (problems.length > 0) return findings;

  const ref = options.base ?? 'HEAD';
  const baseCommit = resolveCommit(options.root, ref);
  if (baseCommit === undefined) {
    findings.push({
      severity: options.base === undefined ? 'note' : 'error',
      path: ref,
      message:
        options.base === undefined
          ? 'no commit to compare with (not a git repository, or no commits yet): checked versions against each other only'
          : `${ref} names no commit`,
    });
    return [...findings, ...runGate({ head, base: undefined, history: [] })];
  }
  if (isShallowRepository(options.root)) {
    findings.push({
      severity: 'note',
      path: ref,
      message: 'shallow clone: only the fetched history is checked',
    });
  }

  const commits = options.history ? schemaCommits(options.root, baseCommit) : [];
  const snapshots: Snapshot[] = [];
  let base: Snapshot | undefined;
  for (const [commit, files] of readSnapshots(options.root, [
    ...commits.filter((c) => c !== baseCommit),
    baseCommit,
  ])) {
    const loaded = loadSchemaSet(files);
    const isBase = commit === baseCommit;
    if (loaded.problems.length > 0) {
      // A broken old commit cannot be fixed any more; the base, though, is what we compare with.
      findings.push({
        severity: isBase ? 'error' : 'note',
        path: `${commit.slice(0, 8)}:${loaded.problems[0]?.path ?? ''}`,
        message: `committed schemas do not load (${loaded.problems[0]?.message ?? ''})${isBase ? '' : '; skipped as history'}`,
      });
      continue;
    }
    const snapshot = { ref: isBase ? `${ref} (${commit.slice(0, 8)})` : commit, set: loaded.set };
    snapshots.push(snapshot);
    if (isBase) base = snapshot;
  }
  return [...findings, ...runGate({ head, base, history: snapshots })];
}

function readOptions(argv: string[]): CheckOptions | string {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { base: { type: 'string' }, 'no-history': { type: 'boolean', default: false } },
      strict: true,
    });
    return { root: resolve(__dirname, '..'), base: values.base, history: !values['no-history'] };
  } catch (error) {
    // Unknown option, missing ref, a positional argument: said as node:util words it.
    return error instanceof Error ? error.message : String(error);
  }
}

function main(argv: string[]): number {
  const options = readOptions(argv);
  if (typeof options === 'string') {
    console.error(`${options}\nusage: tsx contracts/check-compatibility.ts [--base REF] [--no-history]`);
    return 2;
  }
  const findings = runCompatibilityCheck(options);
  for (const finding of findings) {
    const line = `${finding.severity === 'error' ? 'ERROR' : 'note '} ${finding.path}: ${finding.message}`;
    if (finding.severity === 'error') console.error(line);
    else console.log(line);
  }
  const errors = findings.filter((finding) => finding.severity === 'error').length;
  console.log(
    errors === 0 ? 'schemas are compatible.' : `\n${errors} error(s): the schema change is refused.`,
  );
  return errors === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

/**
 * Reads committed schema files out of git, so the compatibility gate can compare the working tree
 * with what was committed. One `git ls-tree` per commit and one `git cat-file --batch` for all
 * blobs, rather than a `git show` per file per commit.
 */
import { execFileSync } from 'node:child_process';
import { schemasDir, type SchemaFile } from './loader';

function git(cwd: string, args: readonly string[], input?: string): Buffer {
  return execFileSync('git', args, {
    cwd,
    input,
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * The commit `ref` names, or undefined when it names nothing (HEAD in a repository without
 * commits) or when `cwd` is not in a git repository at all.
 */
export function resolveCommit(cwd: string, ref: string): string | undefined {
  try {
    return git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
      .toString('utf8')
      .trim();
  } catch {
    return undefined;
  }
}

export function isShallowRepository(cwd: string): boolean {
  return git(cwd, ['rev-parse', '--is-shallow-repository']).toString('utf8').trim() === 'true';
}

/** Commits reachable from `commit` that touched schemas/, oldest first. */
export function schemaCommits(cwd: string, commit: string): string[] {
  return git(cwd, ['log', '--reverse', '--format=%H', commit, '--', schemasDir])
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');
}

interface TreeEntry {
  readonly blob: string;
  readonly path: string;
}

/** Parses `git ls-tree -r -z` output: `<mode> <type> <object>\t<path>\0`. */
export function parseLsTree(output: string): TreeEntry[] {
  return output
    .split('\0')
    .filter((record) => record !== '')
    .flatMap((record) => {
      const tab = record.indexOf('\t');
      const [, kind, blob] = record.slice(0, tab).split(' ');
      return kind === 'blob' && blob !== undefined ? [{ blob, path: record.slice(tab + 1) }] : [];
    });
}

/**
 * Parses `git cat-file --batch` output: per object `<sha> <type> <size>\n<content>\n`. Sizes are
 * bytes, and schema docs hold Korean text, so this works on the Buffer, not on a decoded string.
 */
export function parseCatFileBatch(output: Buffer): Map<string, string> {
  const contents = new Map<string, string>();
  let offset = 0;
  while (offset < output.length) {
    const newline = output.indexOf(0x0a, offset);
    if (newline < 0) break;
    const [sha, kind, sizeText] = output.subarray(offset, newline).toString('utf8').split(' ');
    if (sha === undefined || kind === 'missing' || sizeText === undefined) {
      offset = newline + 1;
      continue;
    }
    const size = Number(sizeText);
    contents.set(sha, output.subarray(newline + 1, newline + 1 + size).toString('utf8'));
    offset = newline + 1 + size + 1;
  }
  return contents;
}

/** The schema files of each commit, in the order given. */
export function readSnapshots(cwd: string, commits: readonly string[]): Map<string, SchemaFile[]> {
  const trees = new Map(
    commits.map((commit) => [
      commit,
      parseLsTree(git(cwd, ['ls-tree', '-r', '-z', commit, '--', schemasDir]).toString('utf8')),
    ]),
  );
  const blobs = [...new Set([...trees.values()].flat().map((entry) => entry.blob))];
  const contents =
    blobs.length === 0
      ? new Map<string, string>()
      : parseCatFileBatch(git(cwd, ['cat-file', '--batch'], `${blobs.join('\n')}\n`));
  return new Map(
    [...trees].map(([commit, entries]) => [
      commit,
      entries.map((entry) => ({ path: entry.path, text: contents.get(entry.blob) ?? '' })),
    ]),
  );
}

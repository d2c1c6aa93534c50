import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { StackConfig } from './stack/config';
import { MissingPrerequisite, runLogged, which } from './stack/prerequisites';

/**
 * A private Python virtual environment with pinned packages from PyPI, for the tools the project
 * runs in Python (the interoperability test drives Confluent's own Python client). Created with
 * the machine's Python (3.11 on ours and CI's) on first use under the stack's install directory,
 * and counted only once its marker is written, like the stack's other installs, so a half
 * install is redone. The directory is named after the requirements' content: changing a pin
 * installs a new environment instead of patching an old one.
 */
export interface PythonEnv {
  readonly dir: string;
  /** The environment's interpreter. */
  readonly python: string;
}

const minimum = { major: 3, minor: 9 };

/** Where the environment for these requirements lives, and whether it is complete. */
export function pythonEnvOf(
  config: Pick<StackConfig, 'installDir'>,
  name: string,
  requirementsFile: string,
): PythonEnv & { readonly installed: boolean } {
  const requirements = fs.readFileSync(requirementsFile, 'utf8');
  const digest = createHash('sha256').update(requirements).digest('hex').slice(0, 12);
  const dir = path.join(config.installDir, `python-${name}-${digest}`);
  return {
    dir,
    python: path.join(dir, 'bin', 'python'),
    installed: fs.existsSync(path.join(dir, '.installed')),
  };
}

export async function ensurePythonEnv(
  config: Pick<StackConfig, 'dir' | 'installDir'>,
  name: string,
  requirementsFile: string,
): Promise<PythonEnv> {
  const { dir, python, installed } = pythonEnvOf(config, name, requirementsFile);
  const marker = path.join(dir, '.installed');
  if (installed) return { dir, python };

  const base = findPython();
  const logs = path.join(config.dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const log = path.join(logs, `install-python-${name}.log`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  await runLogged(base, ['-m', 'venv', dir], log);
  await runLogged(
    python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', requirementsFile],
    log,
    // Packages of the user's own site must not satisfy a pin: the environment holds them all.
    { env: { PYTHONNOUSERSITE: '1' } },
  );
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  return { dir, python };
}

/** python3.11 first (what CI has), then any python3 of at least the minimum version. */
function findPython(): string {
  const found: string[] = [];
  for (const candidate of ['python3.11', 'python3']) {
    const binary = which(candidate);
    if (binary === undefined) continue;
    const result = spawnSync(binary, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8',
    });
    const [major = 0, minor = 0] = result.stdout.trim().split('.').map(Number);
    if (major > minimum.major || (major === minimum.major && minor >= minimum.minor)) return binary;
    found.push(`${binary} (${result.stdout.trim() || '?'})`);
  }
  throw new MissingPrerequisite(
    `a Python ${minimum.major}.${minimum.minor}+ with venv is needed; found ${found.length > 0 ? found.join(', ') : 'none on PATH'}.`,
    "install one (e.g. 'apt-get install python3 python3-venv')",
  );
}

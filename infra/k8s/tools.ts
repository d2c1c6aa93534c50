/**
 * The tools that check the Helm chart without a cluster, installed on first use under the stack's
 * install directory (`STACK_INSTALL_DIR`) like the stack's own installs, so a machine builds them
 * once: Helm, built from its Go module with the machine's Go (the only way to get it from the
 * registries this project may use), and kubernetes-validate, the Kubernetes API schemas offline,
 * from PyPI into a private Python environment. Each counts only once its marker is written, so a
 * half install is redone.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensurePythonEnv } from '../python-env';
import type { StackConfig } from '../stack/config';
import { requireCommand, runLogged } from '../stack/prerequisites';
import { isAlive } from '../stack/processes';

export const helmVersion = 'v3.22.0';
/** Helm v3.22.0 builds on k8s.io/client-go v0.37.0, i.e. Kubernetes 1.37. */
const helmKubernetesVersion = { major: 1, minor: 37 };
const helmModule = 'helm.sh/helm/v3/cmd/helm';

export const validateRequirements = path.join(__dirname, 'validate.requirements.txt');

type ToolConfig = Pick<StackConfig, 'dir' | 'installDir'>;

export function helmInstall(config: Pick<StackConfig, 'installDir'>): {
  readonly dir: string;
  readonly binary: string;
  readonly installed: boolean;
} {
  const dir = path.join(config.installDir, `helm-${helmVersion}`);
  return { dir, binary: path.join(dir, 'helm'), installed: fs.existsSync(path.join(dir, '.installed')) };
}

/**
 * The Helm binary, built when missing. The build goes through the machine's Go module and build
 * caches (as the machine's Maven and pip caches serve the stack's other installs): a fresh clone
 * on a machine that built it once relinks in seconds instead of compiling Kubernetes' client
 * libraries again (minutes on two cores).
 */
export async function ensureHelm(config: ToolConfig): Promise<string> {
  const { dir, binary, installed } = helmInstall(config);
  if (installed) return binary;
  // One build at a time: a caller that finds another one building (the test suite's background
  // build, below) waits for it instead of wiping its directory.
  await underBuildLock(
    `${dir}.building`,
    () => helmInstall(config).installed,
    () => buildHelm(config),
  );
  return binary;
}

async function buildHelm(config: ToolConfig): Promise<void> {
  const { dir } = helmInstall(config);
  const go = requireCommand('go', 'install Go 1.24 or newer (Debian: golang; or https://go.dev/doc/install)');
  const log = helmLog(config);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // Stamped as Helm's release builds are (its Makefile's LDFLAGS): its version, and the Kubernetes
  // version it renders and lints for by default (that of its client-go, else it assumes 1.20).
  const ldflags = [
    '-s -w',
    `-X helm.sh/helm/v3/internal/version.version=${helmVersion}`,
    ...['pkg/chartutil', 'pkg/lint/rules'].flatMap((pkg) => [
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMajor=${helmKubernetesVersion.major}`,
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${helmKubernetesVersion.minor}`,
    ]),
  ].join(' ');
  await runLogged(go, ['install', '-trimpath', '-ldflags', ldflags, `${helmModule}@${helmVersion}`], log, {
    // A static binary; no VCS stamping (the module is no checkout).
    env: { GOBIN: dir, GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' },
  });
  fs.writeFileSync(path.join(dir, '.installed'), `${new Date().toISOString()}\n`);
}

function helmLog(config: ToolConfig): string {
  const logs = path.join(config.dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  return path.join(logs, 'install-helm.log');
}

/**
 * Starts building Helm in a detached, low-priority process (`nice -n 10`, so it takes the CPU
 * the suite leaves idle) when it is missing, and returns its log; undefined when Helm is there.
 * The test suite's global setup calls it so that on a fresh machine the minutes of compiling
 * overlap the other tests instead of holding up the chart test, which `ensureHelm` lets wait.
 */
export function buildHelmInBackground(config: ToolConfig): string | undefined {
  if (helmInstall(config).installed) return undefined;
  const log = helmLog(config);
  const out = fs.openSync(log, 'a');
  const child = spawn(
    'nice',
    ['-n', '10', process.execPath, '--import', 'tsx', path.join(__dirname, 'build-helm.ts')],
    { cwd: path.resolve(__dirname, '..', '..'), detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  fs.closeSync(out);
  return log;
}

/**
 * Runs `build` holding `lock` (a file naming the builder's pid) unless `done` already holds.
 * Another live holder is waited for; a dead one's lock (a killed build) is taken over.
 */
export async function underBuildLock(
  lock: string,
  done: () => boolean,
  build: () => Promise<void>,
): Promise<void> {
  for (;;) {
    if (done()) return;
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readOrEmpty(lock), 10);
      if (Number.isInteger(holder) && !isAlive(holder)) fs.rmSync(lock, { force: true });
      else await sleep(2_000);
      continue;
    }
    try {
      if (!done()) await build();
    } finally {
      fs.rmSync(lock, { force: true });
    }
    return;
  }
}

const readOrEmpty = (file: string): string => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/** The `kubernetes-validate` command of its private environment, installed when missing. */
export async function ensureKubernetesValidate(config: ToolConfig): Promise<string> {
  const env = await ensurePythonEnv(config, 'kubernetes-validate', validateRequirements);
  return path.join(env.dir, 'bin', 'kubernetes-validate');
}

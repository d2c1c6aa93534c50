/**
 * The tools that check the Helm chart without a cluster, installed on first use under the stack's
 * install directory (`STACK_INSTALL_DIR`) like the stack's own installs, so a machine builds them
 * once: Helm, built from its Go module with the machine's Go (the only way to get it from the
 * registries this project may use), and kubernetes-validate, the Kubernetes API schemas offline,
 * from PyPI into a private Python environment. Each counts only once its marker is written, so a
 * half install is redone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensurePythonEnv } from '@infra/python-env';
import type { StackConfig } from '@infra/stack/config';
import { requireCommand, runLogged } from '@infra/stack/prerequisites';

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
  const go = requireCommand('go', 'install Go 1.24 or newer (Debian: golang; or https://go.dev/doc/install)');
  const logs = path.join(config.dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const log = path.join(logs, 'install-helm.log');
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
  return binary;
}

/** The `kubernetes-validate` command of its private environment, installed when missing. */
export async function ensureKubernetesValidate(config: ToolConfig): Promise<string> {
  const env = await ensurePythonEnv(config, 'kubernetes-validate', validateRequirements);
  return path.join(env.dir, 'bin', 'kubernetes-validate');
}

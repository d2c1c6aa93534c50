import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// No Docker engine here to build the image, so what can go wrong without one is checked: every
// module the image's commands load (the platform, one context or all, and the admin's
// provisioning) must be among the files the Dockerfile copies. The image once lacked
// infra/python-env.ts and simulator/, and every container exited at start on a missing module.

const repoRoot = path.resolve(__dirname, '..', '..');
const dockerfile = path.join(__dirname, 'Dockerfile');
/** What the image runs: its ENTRYPOINT (and the Helm chart's command), and `npm run kafka:provision`. */
const entryPoints = ['platform/main.ts', 'platform/provision.ts'];

/** The repository paths the Dockerfile copies into the image (sources of `COPY`, not `--from`). */
function copiedPaths(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^COPY\s/i.test(line) && !/--from=/i.test(line))
    .flatMap((line) => {
      const parts = line
        .split(/\s+/)
        .slice(1)
        .filter((part) => !part.startsWith('--'));
      return parts.slice(0, -1).map((source) => path.normalize(source));
    });
}

function compilerOptions(): ts.CompilerOptions {
  const configFile = path.join(repoRoot, 'tsconfig.json');
  const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, repoRoot).options;
}

interface Loaded {
  /** Repository files, relative to its root. */
  readonly files: Set<string>;
  /** npm packages imported from those files. */
  readonly packages: Set<string>;
}

/** Every repository file and npm package the entry points load, through the compiler's own resolution. */
function loaded(entries: readonly string[]): Loaded {
  const options = compilerOptions();
  const seen = new Set<string>();
  const packages = new Set<string>();
  const pending = entries.map((entry) => path.join(repoRoot, entry));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule;
      if (resolved === undefined) continue;
      if (resolved.isExternalLibraryImport) {
        // Type-only packages (@types/…) are erased; node: builtins resolve to @types/node.
        const name = resolved.packageId?.name;
        if (name !== undefined && !name.startsWith('@types/')) packages.add(name);
        continue;
      }
      // Type-only declarations of generated code resolve to .ts files too; all are local sources.
      pending.push(path.resolve(resolved.resolvedFileName));
    }
  }
  return { files: new Set([...seen].map((file) => path.relative(repoRoot, file))), packages };
}

const runtimeDependencies = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: object })
    .dependencies,
);

describe('the platform image (infra/docker/Dockerfile)', () => {
  const copied = copiedPaths(fs.readFileSync(dockerfile, 'utf8'));

  it('copies every module its commands load', () => {
    const missing = [...loaded(entryPoints).files].filter(
      (file) => !copied.some((source) => file === source || file.startsWith(`${source}${path.sep}`)),
    );
    expect(missing).toEqual([]);
  });

  it('needs no package the image leaves out (npm ci --omit=dev)', () => {
    const devOnly = [...loaded(entryPoints).packages].filter((name) => !runtimeDependencies.includes(name));
    expect(devOnly).toEqual([]);
  });

  it('finds the imports it checks (a check that resolved nothing would pass anything)', () => {
    const { files, packages } = loaded(['platform/main.ts']);
    expect(packages).toContain('kafkajs');
    expect(files).toContain('infra/stack/components.ts');
    expect(files).toContain('services/inventory/index.ts');
    expect(copiedPaths('COPY a b ./\nCOPY --from=build /x /y\nRUN x\n')).toEqual(['a', 'b']);
  });
});

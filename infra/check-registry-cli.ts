/**
 * `npm run schemas:check:registry [-- --namespace PREFIX]`: the live part of the compatibility
 * gate, and a check of the registry in use (SCHEMA_REGISTRY_URL, else the native stack's). For
 * every subject the platform expects (one per event type, `<topic>-<record>`; topics prefixed
 * like TOPIC_NAMESPACE when `--namespace` is given) it reports the compatibility level in force,
 * the versions registered, and whether every local version would be accepted; registers
 * nothing. Exits 1 naming each subject at another level than FULL_TRANSITIVE or refusing a local
 * version. A subject not registered yet is reported, not a failure: the platform registers it at
 * start. The offline part is `npm run schemas:check`.
 */
import { eventTypes } from '@contracts/generated';
import { placementOf } from '@contracts/topics';
import { expectedCompatibility, inspectRegistry, RegistryClient, type SubjectReport } from '@runtime/serde';
import { defaultSchemaRegistryUrl } from './stack/config';

/** The report as printed, and the exit code: pure, so the wording is tested without a registry. */
export function renderReport(
  reports: readonly SubjectReport[],
  url: string,
): { lines: string[]; exitCode: number } {
  const lines = reports.map((report) => {
    const status = report.problems.length > 0 ? 'FAIL' : report.registered.length === 0 ? 'new ' : 'ok  ';
    const level = `${report.level}${report.ownLevel ? '' : ' (global)'}`;
    const registered =
      report.registered.length === 0 ? 'not registered yet' : `registered v${report.registered.join(', v')}`;
    const local = report.versions.map((v) => `v${v.version} ${v.compatible ? 'ok' : 'refused'}`).join(', ');
    const problems = report.problems.length > 0 ? ` -- ${report.problems.join('; ')}` : '';
    return `${status} ${report.subject}: ${level}; ${registered}; local ${local}${problems}`;
  });
  const failing = reports.filter((report) => report.problems.length > 0);
  const versions = reports.reduce((sum, report) => sum + report.versions.length, 0);
  lines.push(
    failing.length === 0
      ? `all ${reports.length} subjects at ${expectedCompatibility} or not registered yet, all ${versions} schema versions compatible with ${url}`
      : `${failing.length} subject(s) wrong on ${url}: ${failing.map((report) => report.subject).join(', ')}`,
  );
  return { lines, exitCode: failing.length === 0 ? 0 : 1 };
}

function parseArgs(argv: readonly string[]): { namespace: string } | string {
  let namespace = '';
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === '--namespace') {
      const value = argv[index + 1];
      if (value === undefined || value.startsWith('--')) return '--namespace needs a prefix';
      namespace = value;
      index += 1;
    } else return `unknown argument ${arg ?? ''}`;
  }
  return { namespace };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    console.error(`${args}\nusage: npm run schemas:check:registry [-- --namespace PREFIX]`);
    return 2;
  }
  const url = defaultSchemaRegistryUrl();
  const reports = await inspectRegistry(new RegistryClient({ url }), {
    types: eventTypes,
    topicOf: (type) => `${args.namespace}${placementOf(type).topic}`,
  });
  const { lines, exitCode } = renderReport(reports, url);
  for (const line of lines) console.log(line);
  return exitCode;
}

if (require.main === module)
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`schemas:check:registry: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );

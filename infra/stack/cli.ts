/**
 * `npm run stack -- <command>`: the native local stack (no Docker needed).
 *
 *   up [component...] [--fresh] [--secure] [--brokers N]
 *                                 install on first use, start, wait until ready; --secure: the
 *                                 broker with SCRAM users and ACLs (STACK_KAFKA_SECURITY=sasl);
 *                                 --brokers 3: a three-node KRaft cluster (STACK_KAFKA_BROKERS),
 *                                 which later commands follow while it runs
 *   down [component...]           stop; no process is left behind
 *   status                        what runs, where, and whether it answers
 *   logs <component> [-n LINES]   the last lines of a component's log
 *   env                           the endpoints as shell variables (eval "$(npm run -s stack -- env)")
 *
 * Components: kafka (on a cluster also kafka-1 … kafka-N, one node), registry, mongo, prometheus.
 * Ports and versions: STACK_* variables
 * (README.md, "Configuration").
 */
import { kafkaQuorumLeader, kafkaRunsSecure } from './components';
import { kafkaCredentialsFile, readStackConfig, stackEndpoints, type StackConfig } from './config';
import { MissingPrerequisite } from './prerequisites';
import { down, logsOf, status, up, wipeData } from './stack';

const usage = `usage: npm run stack -- up|down|status|logs|env [component...] [--fresh] [--secure] [--brokers N] [-n LINES]`;

/** Options that take a value (`-n 100`, `--brokers 3`). */
const valued = ['-n', '--brokers'];

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = new Set(rest.filter((arg) => arg.startsWith('-')));
  const names = rest.filter((arg, index) => !arg.startsWith('-') && !valued.includes(rest[index - 1] ?? ''));
  const valueOf = (option: string): string | undefined => {
    const index = rest.indexOf(option);
    return index >= 0 ? rest[index + 1] : undefined;
  };
  const brokers = valueOf('--brokers');
  if (flags.has('--brokers') && (brokers === undefined || brokers.startsWith('-')))
    throw new Error(`--brokers needs a number\n${usage}`);
  const config = readStackConfig({
    ...process.env,
    ...(flags.has('--secure') ? { STACK_KAFKA_SECURITY: 'sasl' } : {}),
    // The flag is the variable's shorthand, and its range is the variable's (named in errors).
    ...(brokers !== undefined ? { STACK_KAFKA_BROKERS: brokers } : {}),
  });
  const report = (line: string): void => console.log(`[stack] ${line}`);

  switch (command) {
    case 'up': {
      const started = Date.now();
      if (flags.has('--fresh')) {
        await down(config, [], report);
        wipeData(config);
        report('data wiped');
      }
      await up(config, names, report);
      report(`up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      printEndpoints(config);
      return 0;
    }
    case 'down':
      await down(config, names, report);
      report('down');
      return 0;
    case 'status': {
      const rows = await status(config);
      for (const row of rows) {
        const pid = row.pid ? `pid ${row.pid}` : '';
        const installed = row.installed ? '' : ' (not installed)';
        console.log(
          `${row.name.padEnd(11)} ${row.state.padEnd(9)} ${row.endpoint.padEnd(45)} ${pid}${installed}`,
        );
      }
      // Which node to kill to see a controller fail over (test/faults/cluster-scenarios.ts does).
      if (rows.some((row) => row.name.startsWith('kafka-') && row.pid !== undefined))
        console.log(
          `quorum leader (active controller): ${await kafkaQuorumLeader(config).then(
            (node) => node.name,
            (error: unknown) =>
              `unknown (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
          )}`,
        );
      return rows.every((row) => row.state === 'ready') ? 0 : 3;
    }
    case 'logs': {
      const [name] = names;
      if (!name) throw new Error(`logs needs a component name\n${usage}`);
      const lines = Number(valueOf('-n') ?? 50);
      console.log(logsOf(config, name, Number.isInteger(lines) && lines > 0 ? lines : 50));
      return 0;
    }
    case 'env':
      for (const [key, value] of Object.entries(stackEndpoints(config)))
        console.log(`export ${key}=${value}`);
      // Passwords stay in their file: a shell's history or a CI log is no place for them.
      for (const line of secureNote(config)) console.log(`# ${line}`);
      return 0;
    default:
      console.error(usage);
      return 2;
  }
}

function printEndpoints(config: StackConfig): void {
  for (const [key, value] of Object.entries(stackEndpoints(config))) console.log(`  ${key}=${value}`);
  for (const line of secureNote(config)) console.log(`  ${line}`);
}

function secureNote(config: StackConfig): string[] {
  if (!kafkaRunsSecure(config)) return [];
  const file = kafkaCredentialsFile(config);
  return [
    `the broker takes SASL/SCRAM-SHA-512 only; users and passwords in ${file} (mode 0600), e.g.`,
    `KAFKA_SASL_USERNAME=admin KAFKA_SASL_PASSWORD="$(node -p "require('${file}').users.admin")"`,
  ];
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof MissingPrerequisite) console.error(`[stack] missing prerequisite: ${error.message}`);
    else console.error(`[stack] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

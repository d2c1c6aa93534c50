/**
 * Creates or updates the catalogue's topics on a broker (idempotent):
 *
 *   tsx contracts/provision-topics.ts [--brokers host:9092[,host:9093]] [--replication-factor N|auto]
 *   (auto, the default: the cluster's default.replication.factor, see contracts/provision.ts)
 *   (without --brokers: KAFKA_BROKERS, else the native local stack's)
 *                                     [--dead-letter-groups inventory,production]
 *   (as KAFKA_SASL_USERNAME, else the secure native stack's admin; `npm run kafka:provision` also
 *   grants the ACLs)
 *
 * Exits 1 when the broker's topics drift from the catalogue in ways it will not change by itself
 * (partitions, replication factor); see contracts/provision.ts.
 */
import { defaultKafkaBrokers } from '@infra/stack/config';
import { Kafka, logLevel } from 'kafkajs';
import { readToolKafkaSecurity } from '@platform/config';
import { kafkaClientSecurity } from '@runtime/kafka-security';
import { assertNever } from './schema-model';
import {
  desiredTopics,
  parseReplicationSetting,
  provisionTopics,
  resolveReplicationFactor,
  type ProvisionOptions,
  type ReplicationSetting,
} from './provision';

interface Arguments extends Omit<ProvisionOptions, 'replicationFactor'> {
  readonly brokers: readonly string[];
  readonly replicationFactor: ReplicationSetting;
}

function parseArgs(argv: readonly string[]): Arguments | string {
  const values = new Map<string, string>();
  for (let index = 0; index < argv.length; index += 2) {
    const name = argv[index];
    const value = argv[index + 1];
    if (name === undefined || !['--brokers', '--replication-factor', '--dead-letter-groups'].includes(name)) {
      return `unknown argument ${name ?? ''}`;
    }
    if (value === undefined || value.startsWith('--')) return `${name} needs a value`;
    values.set(name, value);
  }
  const given = values.get('--brokers');
  const brokers =
    given === undefined ? defaultKafkaBrokers() : given.split(',').filter((broker) => broker !== '');
  if (brokers.length === 0) return '--brokers names no broker';
  const replicationFactor = parseReplicationSetting(values.get('--replication-factor') ?? 'auto');
  if (replicationFactor === undefined) return '--replication-factor must be a positive integer or auto';
  const deadLetterGroups = (values.get('--dead-letter-groups') ?? '')
    .split(',')
    .filter((group) => group !== '');
  return { brokers, replicationFactor, deadLetterGroups };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    console.error(
      `${args}\nusage: tsx contracts/provision-topics.ts [--brokers host:port[,...]] [--replication-factor N|auto] [--dead-letter-groups g1,g2]`,
    );
    return 2;
  }
  const admin = new Kafka({
    clientId: 'provision-topics',
    brokers: [...args.brokers],
    logLevel: logLevel.WARN,
    ...kafkaClientSecurity(readToolKafkaSecurity()),
  }).admin();
  await admin.connect();
  try {
    const replicationFactor = await resolveReplicationFactor(admin, args.replicationFactor);
    const plan = await provisionTopics(admin, desiredTopics({ ...args, replicationFactor }));
    for (const action of plan.actions) {
      switch (action.kind) {
        case 'create':
          console.log(`created ${action.topic.name}`);
          break;
        case 'alter-config':
          console.log(
            `updated ${action.topic.name}: ${action.changes.map((change) => `${change.name} ${change.from ?? '(unset)'} -> ${change.to}`).join(', ')}`,
          );
          break;
        case 'unchanged':
          console.log(`unchanged ${action.name}`);
          break;
        default:
          assertNever(action);
      }
    }
    for (const drift of plan.drift) {
      console.error(
        `DRIFT ${drift.topic}: ${drift.setting} is ${drift.actual}, catalogue says ${drift.desired} (${drift.why})`,
      );
    }
    return plan.drift.length === 0 ? 0 : 1;
  } finally {
    await admin.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);

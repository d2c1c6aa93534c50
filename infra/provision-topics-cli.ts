/**
 * Creates or updates the catalogue's topics on a broker (idempotent):
 *
 *   npm run topics:provision -- [--brokers host:9092[,host:9093]] [--replication-factor N|auto]
 *   (auto, the default: the cluster's default.replication.factor, see contracts/provision.ts)
 *   (without --brokers: KAFKA_BROKERS, else the native local stack's)
 *                                     [--dead-letter-groups inventory,production]
 *   (as KAFKA_SASL_USERNAME, else the secure native stack's admin; `npm run kafka:provision` also
 *   grants the ACLs)
 *
 * Exits 1 when the broker's topics drift from the catalogue in ways it will not change by itself
 * (partitions, replication factor); see contracts/provision.ts.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import {
  desiredTopics,
  parseReplicationSetting,
  provisionTopics,
  resolveReplicationFactor,
  type ProvisionOptions,
  type ReplicationSetting,
} from '@contracts/provision';
import { assertNever } from '@contracts/schema-model';
import { readToolKafkaSecurity } from '@platform/config';
import { kafkaClientSecurity } from '@runtime/kafka-security';
import { defaultKafkaBrokers } from './stack/config';

interface Arguments extends Omit<ProvisionOptions, 'replicationFactor'> {
  readonly brokers: readonly string[];
  readonly replicationFactor: ReplicationSetting;
}

function readArguments(argv: string[]): Arguments | string {
  let values: { brokers?: string; 'replication-factor'?: string; 'dead-letter-groups'?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        brokers: { type: 'string' },
        'replication-factor': { type: 'string' },
        'dead-letter-groups': { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const given = values.brokers;
  const brokers =
    given === undefined ? defaultKafkaBrokers() : given.split(',').filter((broker) => broker !== '');
  if (brokers.length === 0) return '--brokers names no broker';
  const replicationFactor = parseReplicationSetting(values['replication-factor'] ?? 'auto');
  if (replicationFactor === undefined) return '--replication-factor must be a positive integer or auto';
  const deadLetterGroups = (values['dead-letter-groups'] ?? '').split(',').filter((group) => group !== '');
  return { brokers, replicationFactor, deadLetterGroups };
}

async function main(argv: string[]): Promise<number> {
  const args = readArguments(argv);
  if (typeof args === 'string') {
    console.error(
      `${args}\nusage: npm run topics:provision -- [--brokers host:port[,...]] [--replication-factor N|auto] [--dead-letter-groups g1,g2]`,
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

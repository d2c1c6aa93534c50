/**
 * `npm run kafka:provision [-- --namespace NS] [--replication-factor N|auto]`: what an admin does for a
 * deployment whose contexts may not create topics (KAFKA_PROVISION=false): the catalogue's
 * topics, every context's dead-letter topic, and the ACLs of every principal (platform/kafka-acls.ts).
 * Runs as KAFKA_SASL_USERNAME (the broker's admin) against KAFKA_BROKERS, else the native stack's
 * broker as its admin. The replication factor is the cluster's default unless given (`auto`, see
 * contracts/provision.ts).
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { defaultKafkaBrokers } from '@infra/stack/config';
import { describeKafkaSecurity, kafkaClientSecurity } from '@runtime/kafka-security';
import { ConfigError, readToolKafkaSecurity } from './config';
import { deploymentGrants, provisionDeployment } from './kafka-acls';
import { parseReplicationSetting } from '@contracts/provision';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string', default: '' },
      'replication-factor': { type: 'string', default: 'auto' },
    },
  });
  const namespace = values.namespace;
  const replicationFactor = parseReplicationSetting(values['replication-factor']);
  if (replicationFactor === undefined)
    throw new ConfigError('--replication-factor must be a positive integer or auto');
  const security = readToolKafkaSecurity();
  const brokers = defaultKafkaBrokers();
  console.log(
    `provisioning ${namespace || '(no namespace)'} on ${brokers.join(',')} (${describeKafkaSecurity(security)})`,
  );
  const admin = new Kafka({
    clientId: 'kafka-provision',
    brokers,
    logLevel: logLevel.WARN,
    ...kafkaClientSecurity(security),
  }).admin();
  await admin.connect();
  try {
    const plan = await provisionDeployment(admin, { namespace, replicationFactor });
    const created = plan.actions.filter((action) => action.kind === 'create').length;
    console.log(`topics: ${created} created, ${plan.actions.length - created} present`);
    console.log(`ACLs: ${deploymentGrants(namespace).length} granted`);
    for (const drift of plan.drift)
      console.error(
        `DRIFT ${drift.topic}: ${drift.setting} is ${drift.actual}, catalogue says ${drift.desired}`,
      );
    return plan.drift.length === 0 ? 0 : 1;
  } finally {
    await admin.disconnect();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`[kafka:provision] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);

/**
 * `npm start`: the platform's main job. For now (foundation) it brings the native local
 * stack up, unless endpoints are given in the environment, and sends one Avro event through
 * registry, broker, consumer group and document store, printing each step. The bounded
 * contexts replace this flow as they arrive.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { resolveEndpoints } from './config';

async function main(): Promise<void> {
  const say = (line: string): void => console.log(`[platform] ${line}`);
  const endpoints = await resolveEndpoints(say);

  const kafka = new Kafka({
    clientId: 'platform-main',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.WARN,
  });
  const registry = new SchemaRegistry({ host: endpoints.schemaRegistryUrl });
  const mongo = new MongoClient(endpoints.mongoUrl);
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: 'platform-smoke' });
  const topic = 'platform.smoke';

  try {
    await Promise.all([admin.connect(), producer.connect(), consumer.connect(), mongo.connect()]);
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    say(created ? `created topic ${topic}` : `topic ${topic} exists`);

    const schema = {
      type: 'record',
      name: 'SmokeTested',
      namespace: 'com.scmplatform.smoke',
      fields: [
        { name: 'runId', type: 'string' },
        { name: 'at', type: 'long', doc: 'epoch milliseconds' },
      ],
    };
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: `${topic}-value` },
    );
    say(`registered schema com.scmplatform.smoke.SmokeTested as id ${id}`);

    const runId = randomUUID();
    const value = await registry.encode(id, { runId, at: Date.now() });
    const [sent] = await producer.send({ topic, acks: -1, messages: [{ key: runId, value }] });
    say(`produced run ${runId} (${value.length} bytes, Confluent wire format) at offset ${sent?.baseOffset}`);

    const runs = mongo.db('platform').collection<{ _id: string; at: number; offset: string }>('smoke_runs');
    const stored = new Promise<void>((resolve, reject) => {
      void consumer.subscribe({ topic, fromBeginning: true }).then(() =>
        consumer.run({
          eachMessage: async ({ message }) => {
            if (!message.value) return;
            const event: unknown = await registry.decode(message.value);
            if (!isSmokeEvent(event)) return reject(new Error('decoded an unexpected shape'));
            await runs.updateOne(
              { _id: event.runId },
              { $set: { at: event.at, offset: message.offset } },
              { upsert: true },
            );
            if (event.runId === runId) resolve();
          },
        }),
      );
    });
    await stored;
    const document = await runs.findOne({ _id: runId });
    say(`consumed it in group platform-smoke and stored ${JSON.stringify(document)}`);
    say(`runs stored so far: ${await runs.countDocuments()}`);
  } finally {
    await consumer.disconnect();
    await Promise.all([producer.disconnect(), admin.disconnect(), mongo.close()]);
  }
}

function isSmokeEvent(value: unknown): value is { runId: string; at: number } {
  return typeof value === 'object' && value !== null && 'runId' in value && typeof value.runId === 'string';
}

main().catch((error: unknown) => {
  console.error(`[platform] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

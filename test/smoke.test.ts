/**
 * The whole chain of real components, with nothing of ours in between: an Avro schema in
 * the registry, an encoded event through the broker and a consumer group, a document in
 * the store, and the group's committed offset as the broker reports it.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';
import { createTopicsWithLeaders } from '@contracts/provision';

const endpoints = testEndpoints();

describe('smoke: registry, broker, consumer group and document store together', () => {
  const topic = uniqueName('smoke');
  const groupId = uniqueName('smoke-group');
  const database = uniqueName('smoke');
  const subject = `${topic}-value`;
  const kafka = new Kafka({
    clientId: 'smoke-test',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.WARN,
  });
  const admin = kafka.admin();
  const registry = new SchemaRegistry({ host: endpoints.schemaRegistryUrl });
  const mongo = new MongoClient(endpoints.mongoUrl);

  beforeAll(async () => {
    await Promise.all([admin.connect(), mongo.connect()]);
    await createTopicsWithLeaders(admin, { topics: [{ topic, numPartitions: 1 }] });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await mongo.db(database).dropDatabase();
    await fetch(`${endpoints.schemaRegistryUrl}/subjects/${subject}`, { method: 'DELETE' });
    await Promise.all([admin.disconnect(), mongo.close()]);
  });

  it('carries an Avro event from producer to a stored document and commits past it', async () => {
    const schema = {
      type: 'record',
      name: 'SmokeTested',
      namespace: 'com.scmplatform.smoke',
      fields: [
        { name: 'orderId', type: 'string' },
        { name: 'quantity', type: 'int' },
      ],
    };
    const { id: schemaId } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject },
    );
    const event = { orderId: uniqueName('order'), quantity: 3 };
    const value = await registry.encode(schemaId, event);
    expect(value.readUInt8(0)).toBe(0); // Confluent wire format: magic byte, then the id
    expect(value.readInt32BE(1)).toBe(schemaId);

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const [delivery] = await producer.send({ topic, messages: [{ key: event.orderId, value }] });
    await producer.disconnect();
    const producedOffset = Number(delivery?.baseOffset);

    const orders = mongo.db(database).collection<{ _id: string; quantity: number; offset: number }>('orders');
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const decoded = (await registry.decode(message.value)) as typeof event;
        await orders.updateOne(
          { _id: decoded.orderId },
          { $set: { quantity: decoded.quantity, offset: Number(message.offset) } },
          { upsert: true },
        );
      },
    });

    const stored = await waitFor('the event to be stored', () =>
      orders.findOne({ _id: event.orderId }).then((d) => d ?? undefined),
    );
    expect(stored).toEqual({ _id: event.orderId, quantity: 3, offset: producedOffset });

    // kafkajs commits after eachMessage resolves; the broker must report the next offset.
    const committed = await waitFor('the group to commit past the message', async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partition = offsets?.partitions.find((p) => p.partition === 0);
      return partition && Number(partition.offset) === producedOffset + 1 ? partition.offset : undefined;
    });
    expect(Number(committed)).toBe(producedOffset + 1);
    await consumer.disconnect();
  });
});

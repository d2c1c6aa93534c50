/**
 * The embedded outbox on the real store and broker: events written with a state change are
 * published in order by the relay and removed; a relay that dies after publishing and
 * before removing publishes them again, and a deduplicating consumer applies them once.
 */
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { applyChanges, type AggregateDocument } from '@runtime/idempotent-store';
import { createLogger } from '@runtime/log';
import { createOutboxRelay, withOutbox, type OutgoingEvent } from '@runtime/outbox';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';

const endpoints = testEndpoints();
const kafka = new Kafka({
  clientId: 'outbox-test',
  brokers: endpoints.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

describe('outbox relay', () => {
  const topic = uniqueName('outbox');
  const database = uniqueName('outbox');
  const mongo = new MongoClient(endpoints.mongoUrl);
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const seen: KafkaMessage[] = [];
  const reader = kafka.consumer({ groupId: uniqueName('outbox-reader') });

  beforeAll(async () => {
    await Promise.all([mongo.connect(), admin.connect(), producer.connect(), reader.connect()]);
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void seen.push(message) });
  });

  afterAll(async () => {
    await reader.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await mongo.db(database).dropDatabase();
    await Promise.all([mongo.close(), admin.disconnect(), producer.disconnect()]);
  });

  const event = (orderId: string, n: number): OutgoingEvent => ({
    eventId: `${orderId}-e${n}`,
    topic,
    key: orderId,
    value: Buffer.from(`step ${n} of ${orderId}`),
    headers: { 'event-type': 'Step', 'event-id': `${orderId}-e${n}` },
  });

  it('publishes what a state change wrote, in order, once the relay runs, and empties the outbox', async () => {
    const orders = mongo.db(database).collection<AggregateDocument>('orders');
    // The process that wrote these "died" before any relay ran: nothing is published yet.
    for (const n of [1, 2, 3]) {
      await applyChanges(orders, [
        {
          id: 'o1',
          eventId: `cmd-${n}`,
          update: withOutbox({ $set: { step: n } }, [event('o1', n)], Date.now()),
        },
      ]);
    }
    await applyChanges(orders, [
      {
        id: 'o2',
        eventId: 'cmd-x',
        update: withOutbox({ $set: { step: 9 } }, [event('o2', 1), event('o2', 2)], Date.now()),
      },
    ]);

    const relay = createOutboxRelay({ collections: [orders], producer, log: createLogger('error') });
    expect(await relay.drain()).toBe(5);
    await waitFor('five events on the topic', () => seen.length === 5);
    const valuesOf = (key: string) =>
      seen.filter((m) => m.key?.toString() === key).map((m) => m.value?.toString());
    expect(valuesOf('o1')).toEqual(['step 1 of o1', 'step 2 of o1', 'step 3 of o1']);
    expect(valuesOf('o2')).toEqual(['step 1 of o2', 'step 2 of o2']);
    expect(seen.every((m) => m.headers?.['event-type']?.toString() === 'Step')).toBe(true);
    expect((await orders.findOne({ _id: 'o1' }))?._outbox).toEqual({});
    expect(await relay.drain()).toBe(0);
  });

  it('publishes again after dying between publish and removal; a deduplicating consumer applies once', async () => {
    seen.length = 0;
    const orders = mongo.db(database).collection<AggregateDocument>('crashing');
    await applyChanges(orders, [
      {
        id: 'o3',
        eventId: 'cmd-1',
        update: withOutbox({ $set: { placed: true } }, [event('o3', 1), event('o3', 2)], Date.now()),
      },
    ]);
    const dying = createOutboxRelay({
      collections: [orders],
      producer,
      log: createLogger('error'),
      afterPublish: async () => {
        throw new Error('killed after publishing');
      },
    });
    await expect(dying.drain()).rejects.toThrow('killed after publishing');
    expect(Object.keys((await orders.findOne({ _id: 'o3' }))?._outbox ?? {})).toHaveLength(2);

    const restarted = createOutboxRelay({ collections: [orders], producer, log: createLogger('error') });
    expect(await restarted.drain()).toBe(2);
    await waitFor('both events twice', () => seen.length === 4);

    // Downstream, the event id is the dedup marker: four deliveries, two effects.
    const projections = mongo.db(database).collection<AggregateDocument>('projection');
    const outcome = await applyChanges(
      projections,
      seen.map((m) => ({
        id: String(m.key),
        eventId: String(m.headers?.['event-id']),
        update: { $inc: { steps: 1 } },
      })),
    );
    expect(outcome).toEqual({ applied: 2, duplicates: 2 });
    expect((await projections.findOne({ _id: 'o3' }))?.steps).toBe(2);
  });
});

/**
 * The embedded outbox on the real store and broker: events a write handed over are published at
 * once, in order, and cleared; events a crashed writer left behind are found by recovery through
 * their flag; a relay that dies after publishing and before clearing publishes them again, and
 * a deduplicating consumer (the aggregate store) applies them once.
 */
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { MongoClient, type Collection } from 'mongodb';
import { createAggregateStore } from '@runtime/aggregate-store';
import { accepted, type Decider } from '@runtime/decider';
import { createEventWriter } from '@runtime/event-writer';
import { createLogger } from '@runtime/log';
import { createOutboxRelay, storedEvents, type OutboxDocument, type OutgoingEvent } from '@runtime/outbox';
import { RegistryClient, Serde } from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';
import { createTopicsWithLeaders } from '@contracts/provision';

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
    await createTopicsWithLeaders(admin, { topics: [{ topic, numPartitions: 2 }] });
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

  /** What a writer that then died wrote: versions 1..n of one aggregate, the last one kept. */
  const crashedWrite = async (
    collection: Collection<OutboxDocument>,
    id: string,
    versions: readonly (readonly OutgoingEvent[])[],
  ): Promise<void> => {
    const outbox = Object.assign({}, ...versions.map((events, i) => storedEvents(events, i + 1)));
    await collection.insertOne({
      _id: id,
      version: versions.length,
      state: {},
      _outbox: outbox,
      _pending: true,
    });
  };

  const valuesOf = (key: string) =>
    seen.filter((m) => m.key?.toString() === key).map((m) => m.value?.toString());

  it('recovers what crashed writers left, in version order per aggregate, and clears it', async () => {
    const orders = mongo.db(database).collection<OutboxDocument>('orders');
    await crashedWrite(orders, 'o1', [[event('o1', 1)], [event('o1', 2)], [event('o1', 3)]]);
    await crashedWrite(orders, 'o2', [[event('o2', 1), event('o2', 2)]]);
    await orders.insertOne({ _id: 'quiet', version: 4, state: {} });

    const relay = createOutboxRelay({ collections: [orders], producer, log: createLogger('error') });
    expect(await relay.drain()).toBe(5);
    await waitFor('five events on the topic', () => seen.length === 5);
    expect(valuesOf('o1')).toEqual(['step 1 of o1', 'step 2 of o1', 'step 3 of o1']);
    expect(valuesOf('o2')).toEqual(['step 1 of o2', 'step 2 of o2']);
    expect(seen.every((m) => m.headers?.['event-type']?.toString() === 'Step')).toBe(true);
    const o1 = await orders.findOne({ _id: 'o1' });
    expect([o1?._outbox, o1?._pending]).toEqual([undefined, undefined]);
    expect(await relay.drain()).toBe(0);
  });

  it('publishes a handed-over write at once; a newer version keeps its own events pending', async () => {
    seen.length = 0;
    const orders = mongo.db(database).collection<OutboxDocument>('handed_over');
    const relay = createOutboxRelay({ collections: [orders], producer, log: createLogger('error') });
    relay.start();
    try {
      const first = storedEvents([event('o4', 1)], 1);
      await orders.insertOne({ _id: 'o4', version: 1, state: {}, _outbox: first, _pending: true });
      relay.enqueue({ collection: orders, id: 'o4', version: 1, events: first });
      await waitFor('the first event', () => seen.length === 1);
      await waitFor(
        'its outbox cleared',
        async () => (await orders.findOne({ _id: 'o4' }))?._pending === undefined,
      );

      // Version 2 is written while version 1's event is still pending, then version 1 is handed
      // over: clearing version 1 must leave version 2's event in place for its own hand-over.
      const second = storedEvents([event('o4', 2)], 2);
      const third = storedEvents([event('o4', 3)], 3);
      await orders.replaceOne(
        { _id: 'o4' },
        { version: 3, state: {}, _outbox: { ...second, ...third }, _pending: true },
      );
      relay.enqueue({ collection: orders, id: 'o4', version: 2, events: second });
      await waitFor('the second event', () => seen.length === 2);
      const between = await orders.findOne({ _id: 'o4' });
      expect(Object.keys(between?._outbox ?? {})).toEqual(['o4-e3']);
      expect(between?._pending).toBe(true);
      relay.enqueue({ collection: orders, id: 'o4', version: 3, events: third });
      await waitFor('the third event', () => seen.length === 3);
      expect(valuesOf('o4')).toEqual(['step 1 of o4', 'step 2 of o4', 'step 3 of o4']);
      await waitFor('all cleared', async () => (await orders.findOne({ _id: 'o4' }))?._pending === undefined);
    } finally {
      await relay.stop();
    }
  });

  it('publishes again after dying between publish and clearing; a deduplicating consumer applies once', async () => {
    seen.length = 0;
    const orders = mongo.db(database).collection<OutboxDocument>('crashing');
    await crashedWrite(orders, 'o3', [[event('o3', 1), event('o3', 2)]]);
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

    // Downstream, the event id is the cause: four deliveries, two effects.
    const steps: Decider<{ steps: number }, 'step', 'stepped'> = {
      decide: () => accepted('stepped'),
      evolve: (state) => ({ steps: (state?.steps ?? 0) + 1 }),
      publish: () => [],
    };
    const projection = await createAggregateStore({
      db: mongo.db(database),
      name: 'projection',
      decider: steps,
      writer: createEventWriter(
        new Serde({ registry: new RegistryClient({ url: endpoints.schemaRegistryUrl }) }),
        'order',
      ),
    });
    const outcomes = [];
    for (const message of seen)
      outcomes.push(
        (
          await projection.execute(String(message.key), 'step', {
            causeId: String(message.headers?.['event-id']),
            causationId: null,
            correlationId: 'o3',
            now: new Date(),
          })
        ).kind,
      );
    expect(outcomes).toEqual(['changed', 'changed', 'duplicate', 'duplicate']);
    expect((await projection.load('o3'))?.state.steps).toBe(2);
  });
});

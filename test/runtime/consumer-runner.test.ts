/**
 * The consumer runner against the real broker: per-key order, filter policy before
 * decoding, and poison messages dead-lettered with their diagnostics while the messages
 * after them are still applied and committed. Records without our headers (as any other
 * Confluent client writes them) are typed by their schema id through the real registry, and
 * those that name no event are dead-lettered, never filtered unseen.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type KafkaMessage } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { subjectName } from '@contracts/topics';
import { createEventConsumer, type PlatformServices } from '@runtime/context';
import { createConsumerRunner, type Received } from '@runtime/consumer-runner';
import { createDeadLetterPublisher, deadLetterHeaders, replayedForGroupHeader } from '@runtime/dead-letters';
import { permanent } from '@runtime/errors';
import { compilePolicy } from '@runtime/filter-policy';
import { createLogger } from '@runtime/log';
import { meteredObserver } from '@runtime/metered-observer';
import { createRuntimeMetrics } from '@runtime/metrics';
import { RegistryClient, Serde, wireHeader, type DecodedEvent } from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';
import { createTopicsWithLeaders } from '@contracts/provision';

const endpoints = testEndpoints();
const kafka = new Kafka({
  clientId: 'runner-test',
  brokers: endpoints.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

interface Step {
  orderId: string;
  seq: number;
}

/** The value of one series of a metric, as Prometheus would scrape it. */
async function valueOf(
  metric: { get(): Promise<{ values: { value: number; labels: object }[] }> },
  labels: object,
) {
  const { values } = await metric.get();
  const matching = values.filter((v) =>
    Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
  );
  return matching.reduce((sum, v) => sum + v.value, 0);
}

const decodeStep = async (message: KafkaMessage): Promise<Step> => {
  try {
    const value: unknown = JSON.parse(message.value?.toString('utf8') ?? '');
    if (typeof value === 'object' && value !== null && 'orderId' in value && 'seq' in value) {
      return { orderId: String(value.orderId), seq: Number(value.seq) };
    }
  } catch (cause) {
    throw permanent('UNDECODABLE', 'value is not JSON', cause);
  }
  throw permanent('INVALID_CONTENT', 'value lacks orderId or seq');
};

describe('consumer runner', () => {
  const topic = uniqueName('runner');
  const group = uniqueName('runner-group');
  const deadLetterTopic = `${group}.dlq`;
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopicsWithLeaders(admin, {
      topics: [
        { topic, numPartitions: 3 },
        { topic: deadLetterTopic, numPartitions: 1 },
      ],
    });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('keeps per-key order, filters before decoding, and dead-letters poison while the rest flows', async () => {
    const orders = ['a', 'b', 'c', 'd'].map((o) => `${o}-${group}`);
    const messages = orders.flatMap((orderId) =>
      Array.from({ length: 25 }, (_, seq) => ({
        key: orderId,
        value: JSON.stringify({ orderId, seq }),
        headers: { 'event-type': seq % 5 === 4 ? 'CouponRedeemed' : 'OrderStep' },
      })),
    );
    const poison = [
      {
        key: orders[0],
        value: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
        headers: { 'event-type': 'OrderStep' },
      },
      { key: orders[1], value: JSON.stringify({ unrelated: true }), headers: { 'event-type': 'OrderStep' } },
    ];
    // Poison in the middle of the stream: what comes after it must still be applied.
    await producer.send({ topic, messages: [...messages.slice(0, 50), ...poison, ...messages.slice(50)] });
    const tail = orders.map((orderId) => ({
      key: orderId,
      value: JSON.stringify({ orderId, seq: 25 }),
      headers: { 'event-type': 'OrderStep' },
    }));
    await producer.send({ topic, messages: tail });

    const applied = new Map<string, number[]>();
    const metrics = createRuntimeMetrics(new Registry());
    metrics.initialise(group, topic);
    const observer = meteredObserver(metrics, group);
    const runner = createConsumerRunner<Step>(
      {
        group,
        topics: [topic],
        accepts: compilePolicy({ 'event-type': [{ anythingBut: ['CouponRedeemed', 'OrderReviewed'] }] }),
        decode: decodeStep,
        handle: async (batch: readonly Received<Step>[]) => {
          for (const { event } of batch)
            applied.set(event.orderId, [...(applied.get(event.orderId) ?? []), event.seq]);
        },
      },
      {
        kafka,
        observer,
        log: createLogger('error'),
        permanentAttempts: 2,
        backoff: { initialMs: 10, maxMs: 50 },
        deadLetter: createDeadLetterPublisher(producer, (g) => `${g}.dlq`),
      },
    );
    await runner.start();
    try {
      const expected = Array.from({ length: 26 }, (_, seq) => seq).filter((seq) => seq % 5 !== 4);
      await waitFor('every order to reach its last step', () =>
        orders.every((o) => applied.get(o)?.at(-1) === 25),
      );
      for (const orderId of orders) expect(applied.get(orderId)).toEqual(expected);
      expect(await valueOf(metrics.messagesFiltered, { group, topic })).toBe(4 * 5);
      expect(await valueOf(metrics.messagesDeadLettered, { group, topic, category: 'permanent' })).toBe(2);
      expect(await valueOf(metrics.messagesProcessed, { group, topic })).toBe(4 * 21);

      const letters: KafkaMessage[] = [];
      const reader = kafka.consumer({ groupId: uniqueName('dlq-reader') });
      await reader.connect();
      await reader.subscribe({ topic: deadLetterTopic, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => void letters.push(message) });
      await waitFor('two dead letters', () => letters.length === 2);
      await reader.disconnect();
      const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();
      const byCode = [...letters].sort((x, y) =>
        String(header(x, deadLetterHeaders.errorCode)).localeCompare(
          String(header(y, deadLetterHeaders.errorCode)),
        ),
      );
      // The original bytes, untouched: INVALID_CONTENT was the JSON one, UNDECODABLE the raw bytes.
      expect(byCode.map((m) => m.value)).toEqual([Buffer.from(String(poison[1]?.value)), poison[0]?.value]);
      for (const letter of letters) {
        expect(header(letter, deadLetterHeaders.originalTopic)).toBe(topic);
        expect(header(letter, deadLetterHeaders.originalConsumerGroup)).toBe(group);
        expect(header(letter, deadLetterHeaders.failureCategory)).toBe('permanent');
        expect(header(letter, 'event-type')).toBe('OrderStep');
      }
      expect(letters.map((m) => header(m, deadLetterHeaders.errorCode)).sort()).toEqual([
        'INVALID_CONTENT',
        'UNDECODABLE',
      ]);

      // Everything, poison and filtered messages included, is committed to the end.
      const ends = await admin.fetchTopicOffsets(topic);
      await waitFor('offsets committed to the end of every partition', async () => {
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        // An empty partition has nothing to commit (-1); every other one is committed to its end.
        return ends.every(({ partition, offset }) => {
          const at = committed?.partitions.find((p) => p.partition === partition)?.offset;
          return offset === '0' ? at === '-1' || at === '0' : at === offset;
        });
      });
    } finally {
      await runner.stop();
    }
  });
});

describe('records without our headers (written by another client)', () => {
  const namespace = `${uniqueName('headerless')}.`;
  const topic = `${namespace}order.events`;
  const group = uniqueName('headerless-group');
  const deadLetterTopic = `${group}.dlq`;
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const registry = new RegistryClient({ url: endpoints.schemaRegistryUrl });
  const serde = new Serde({ registry });
  const subjects = (['OrderPlaced', 'OrderReviewed'] as const).map((type) =>
    subjectName(topic, `com.scmplatform.order.${type}`),
  );

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopicsWithLeaders(admin, {
      topics: [
        { topic, numPartitions: 1 },
        { topic: deadLetterTopic, numPartitions: 1 },
      ],
    });
    await serde.register({ types: ['OrderPlaced', 'OrderReviewed'], topicOf: () => topic });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => undefined);
    await Promise.all(subjects.map((subject) => registry.deleteSubject(subject, { permanent: true })));
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('types a valid record by its schema id and processes it; garbage is dead-lettered with its reason', async () => {
    const orderId = `ORD-20261201-${group.slice(-6).toUpperCase()}`;
    const metadata = (eventType: string, schemaVersion: number) => ({
      eventId: randomUUID(),
      eventType,
      occurredAt: new Date(),
      correlationId: orderId,
      causationId: null,
      producer: 'order',
      schemaVersion,
    });
    const placed = serde.encode('OrderPlaced', 2, {
      metadata: metadata('OrderPlaced', 2),
      data: {
        orderId,
        customerId: 'C-1',
        lines: [
          {
            productCode: 'PRD-BIBIMBAP',
            productName: '돌솥비빔밥',
            quantity: 1,
            unitPrice: { amount: '9500.00', currency: 'KRW' },
          },
        ],
        totalAmount: { amount: '9500.00', currency: 'KRW' },
        deliveryAddress: {
          recipientName: '김민수',
          phone: '010-1234-5678',
          postalCode: '06234',
          roadAddress: '서울특별시 강남구 테헤란로 123',
          detailAddress: null,
        },
        deliverySlot: { startsAt: new Date(), endsAt: new Date(Date.now() + 3_600_000) },
        deliveryMemo: null,
        salesChannel: 'APP',
      },
    });
    const reviewed = serde.encode('OrderReviewed', 1, {
      metadata: metadata('OrderReviewed', 1),
      data: { orderId, customerId: 'C-1', rating: 5, comment: null },
    });
    const unknownId = Buffer.concat([wireHeader(2_000_000_000), Buffer.from([0x02, 0x41])]);
    // No headers on any of these, as a Confluent client writes them.
    await producer.send({
      topic,
      messages: [
        { key: orderId, value: placed },
        { key: orderId, value: reviewed },
        { key: orderId, value: Buffer.from('{"orderId":"not Avro"}') },
        { key: orderId, value: unknownId },
        { key: orderId, value: Buffer.from([0x00, 0x00]) },
        // Another group's replay is skipped as before, without being looked at.
        { key: orderId, value: Buffer.from('garbage'), headers: { [replayedForGroupHeader]: 'another' } },
        { key: orderId, value: placed, headers: { 'event-type': 'OrderPlaced' } },
      ],
    });

    const handled: DecodedEvent[] = [];
    const metrics = createRuntimeMetrics(new Registry());
    metrics.initialise(group, topic);
    const services: PlatformServices = {
      kafka,
      serde,
      // Never connected: this consumer keeps nothing in the store.
      db: new MongoClient(endpoints.mongoUrl).db('unused'),
      log: createLogger('error'),
      metrics,
      metricsRegistry: new Registry(),
      deadLetter: createDeadLetterPublisher(producer, (g) => `${g}.dlq`),
      relayWrite: () => undefined,
      now: () => new Date(),
      topic: (name) => `${namespace}${name}`,
      group: () => group,
      runner: { permanentAttempts: 1, backoff: { initialMs: 10, maxMs: 50 } },
    };
    const runner = createEventConsumer(services, {
      group,
      topics: ['order.events'],
      eventTypes: ['OrderPlaced'],
      handle: async (event) => {
        handled.push(event);
        return 'applied';
      },
    });
    await runner.start();
    try {
      await waitFor('both orders handled', () => handled.length === 2);
      expect(handled.map((event) => [event.type, event.metadata.correlationId])).toEqual([
        ['OrderPlaced', orderId],
        ['OrderPlaced', orderId],
      ]);
      const letters = await waitFor('three dead letters', async () => {
        const found = await readAll(deadLetterTopic);
        return found.length === 3 && found;
      });
      const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString() ?? '';
      expect(letters.map((m) => header(m, deadLetterHeaders.errorCode))).toEqual([
        'WRONG_MAGIC_BYTE',
        'UNKNOWN_SCHEMA_ID',
        'UNDECODABLE',
      ]);
      for (const letter of letters) {
        expect(header(letter, deadLetterHeaders.exceptionMessage)).toMatch(
          /^no event-type header, and the value names no event: /,
        );
        expect(header(letter, deadLetterHeaders.originalTopic)).toBe(topic);
      }
      expect(header(letters[1]!, deadLetterHeaders.schemaId)).toBe('2000000000');
      // The review (typed by its schema id) and the other group's replay: filtered, nothing else.
      expect(await valueOf(metrics.messagesFiltered, { group, topic })).toBe(2);
      expect(await valueOf(metrics.messagesProcessed, { group, topic })).toBe(2);
    } finally {
      await runner.stop();
    }
  });
});

/** Every record of a topic so far, in offset order (one partition). */
async function readAll(topic: string): Promise<KafkaMessage[]> {
  const [{ high } = { high: '0' }] = await (async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect();
    }
  })();
  if (high === '0') return [];
  const found: KafkaMessage[] = [];
  const reader = kafka.consumer({ groupId: uniqueName('reader') });
  await reader.connect();
  try {
    await reader.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      reader
        .run({
          eachMessage: async ({ message }) => {
            found.push(message);
            if (Number(message.offset) + 1 >= Number(high)) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await reader.disconnect();
  }
  return found;
}

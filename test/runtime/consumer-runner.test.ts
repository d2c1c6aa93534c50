/**
 * The consumer runner against the real broker: per-key order, filter policy before
 * decoding, and poison messages dead-lettered with their diagnostics while the messages
 * after them are still applied and committed.
 */
import { Kafka, logLevel, Partitioners, type KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { createConsumerRunner, type Received } from '@runtime/consumer-runner';
import { createDeadLetterPublisher, deadLetterHeaders } from '@runtime/dead-letters';
import { permanent } from '@runtime/errors';
import { compilePolicy } from '@runtime/filter-policy';
import { createLogger } from '@runtime/log';
import { meteredObserver } from '@runtime/metered-observer';
import { createRuntimeMetrics } from '@runtime/metrics';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';

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
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 3 },
        { topic: deadLetterTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
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

/**
 * Non-blocking retry topics on the real broker: a message whose handler fails waits in a
 * retry topic while the messages behind it flow; it is applied once its cause is gone, no
 * earlier than its delay; one that keeps failing ends in the dead-letter topic with its
 * original coordinates.
 */
import { Kafka, logLevel, Partitioners, type KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { createConsumerRunner } from '@runtime/consumer-runner';
import { createDeadLetterPublisher, deadLetterHeaders } from '@runtime/dead-letters';
import { permanent } from '@runtime/errors';
import { createLogger } from '@runtime/log';
import { meteredObserver } from '@runtime/metered-observer';
import { createRuntimeMetrics } from '@runtime/metrics';
import { retryTopicNames } from '@runtime/retry-topics';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';
import { createTopicsWithLeaders } from '@contracts/provision';

const endpoints = testEndpoints();
const kafka = new Kafka({
  clientId: 'retry-test',
  brokers: endpoints.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

describe('retry topics', () => {
  const topic = uniqueName('retry');
  const group = uniqueName('retry-group');
  const delaysMs = [500, 1_000];
  const extraTopics = [...retryTopicNames(group, delaysMs), `${group}.dlq`];
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopicsWithLeaders(admin, {
      topics: [
        { topic, numPartitions: 1 },
        ...extraTopics.map((name) => ({ topic: name, numPartitions: 1 })),
      ],
    });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic, ...extraTopics] }).catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('lets the partition flow, applies a late-curable message after its delay, dead-letters a hopeless one', async () => {
    const known = new Set(['a', 'b', 'c']);
    const appliedAt = new Map<string, number>();
    const runner = createConsumerRunner<string>(
      {
        group,
        topics: [topic],
        retryDelaysMs: delaysMs,
        decode: async (message) => String(message.value),
        handle: async (batch) => {
          for (const { event } of batch) {
            if (!known.has(event)) throw permanent('INVALID_CONTENT', `unknown ${event}`);
            if (!appliedAt.has(event)) appliedAt.set(event, Date.now());
          }
        },
      },
      {
        kafka,
        observer: meteredObserver(createRuntimeMetrics(new Registry()), group),
        log: createLogger('error'),
        permanentAttempts: 1,
        retryProducer: producer,
        deadLetter: createDeadLetterPublisher(producer, (g) => `${g}.dlq`),
      },
    );
    await runner.start();
    try {
      const sentAt = Date.now();
      await producer.send({
        topic,
        messages: ['a', 'late', 'b', 'never', 'c'].map((value) => ({ key: 'k', value })),
      });
      await waitFor('the curable messages applied', () => ['a', 'b', 'c'].every((v) => appliedAt.has(v)));
      expect(appliedAt.has('late')).toBe(false);

      known.add('late'); // its cause goes away while it waits
      await waitFor('the late message applied from a retry topic', () => appliedAt.has('late'), {
        timeoutMs: 60_000,
      });
      expect(Number(appliedAt.get('late')) - sentAt).toBeGreaterThanOrEqual(delaysMs[0]!);

      const letters: KafkaMessage[] = [];
      const reader = kafka.consumer({ groupId: uniqueName('retry-dlq-reader') });
      await reader.connect();
      await reader.subscribe({ topic: `${group}.dlq`, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => void letters.push(message) });
      await waitFor('the hopeless message dead-lettered after both levels', () => letters.length === 1, {
        timeoutMs: 60_000,
      });
      await reader.disconnect();
      const [letter] = letters;
      expect(letter?.value?.toString()).toBe('never');
      expect(letter?.headers?.[deadLetterHeaders.originalTopic]?.toString()).toBe(topic);
      expect(letter?.headers?.[deadLetterHeaders.originalOffset]?.toString()).toBe('3');
      expect(letter?.headers?.[deadLetterHeaders.originalConsumerGroup]?.toString()).toBe(group);
      expect(Number(letter?.timestamp) - sentAt).toBeGreaterThanOrEqual(delaysMs[0]! + delaysMs[1]!);
    } finally {
      await runner.stop();
    }
  });
});

/**
 * The whole dead-letter round trip: a message the handler refuses goes to the DLQ, the
 * cause is fixed (here: missing reference data arrives), an operator replays it, and the
 * failing group applies it while another group on the same topic does not apply it twice.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { createConsumerRunner, type ConsumerRunner } from '@runtime/consumer-runner';
import { createDeadLetterAdmin } from '@runtime/dead-letter-admin';
import { createDeadLetterPublisher } from '@runtime/dead-letters';
import { permanent } from '@runtime/errors';
import { createLogger } from '@runtime/log';
import { meteredObserver } from '@runtime/metered-observer';
import { createRuntimeMetrics } from '@runtime/metrics';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';
import { createTopicsWithLeaders } from '@contracts/provision';

const endpoints = testEndpoints();
const kafka = new Kafka({
  clientId: 'replay-test',
  brokers: endpoints.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

describe('dead-letter replay', () => {
  const topic = uniqueName('replay');
  const failing = uniqueName('replay-strict');
  const bystander = uniqueName('replay-bystander');
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const runners: ConsumerRunner[] = [];

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopicsWithLeaders(admin, {
      topics: [{ topic, numPartitions: 1 }, { topic: `${failing}.dlq` }, { topic: `${bystander}.dlq` }],
    });
  });

  afterAll(async () => {
    await Promise.all(runners.map((runner) => runner.stop()));
    await admin
      .deleteTopics({ topics: [topic, `${failing}.dlq`, `${failing}.dlq.handled`, `${bystander}.dlq`] })
      .catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('reprocesses a fixed message in the group that failed on it, and only there', async () => {
    const knownSkus = new Set(['sku-1', 'sku-2']);
    const strict = new Map<string, string>();
    const bystanderSeen = new Map<string, string>();
    const applied = (byOffset: Map<string, string>): string[] => [...byOffset.values()];
    const metrics = createRuntimeMetrics(new Registry());
    const start = async (group: string, handle: (offset: string, sku: string) => void): Promise<void> => {
      const runner = createConsumerRunner<string>(
        {
          group,
          topics: [topic],
          decode: async (message) => String(message.value),
          // Idempotent, as every handler must be: keyed by where the message sits.
          handle: async (batch) => batch.forEach(({ event, offset }) => handle(offset, event)),
        },
        {
          kafka,
          observer: meteredObserver(metrics, group),
          log: createLogger('error'),
          permanentAttempts: 1,
          deadLetter: createDeadLetterPublisher(producer, (g) => `${g}.dlq`),
        },
      );
      runners.push(runner);
      await runner.start();
    };
    await start(failing, (offset, sku) => {
      if (!knownSkus.has(sku)) throw permanent('INVALID_CONTENT', `unknown SKU ${sku}`);
      strict.set(offset, sku);
    });
    await start(bystander, (offset, sku) => void bystanderSeen.set(offset, sku));

    await producer.send({
      topic,
      messages: ['sku-1', 'sku-new', 'sku-2'].map((value) => ({ key: 'o-1', value })),
    });
    await waitFor(
      'both groups through the three messages',
      () => strict.size === 2 && bystanderSeen.size === 3,
    );
    expect(applied(strict)).toEqual(['sku-1', 'sku-2']);

    const deadLetters = createDeadLetterAdmin({ kafka, topic: `${failing}.dlq` });
    try {
      const { letters } = await waitFor('the dead letter to be listed', async () => {
        const listing = await deadLetters.list();
        return listing.letters.length === 1 ? listing : undefined;
      });
      expect(letters[0]?.error.code).toBe('INVALID_CONTENT');
      expect(letters[0]?.error.message).toBe('unknown SKU sku-new');

      knownSkus.add('sku-new'); // the fix: the reference data arrives
      const outcome = await deadLetters.replay(letters.map((letter) => letter.id));
      expect(outcome.map((o) => o.outcome)).toEqual(['replayed']);

      await waitFor('the replayed message applied', () => strict.size === 3);
      expect(applied(strict)).toEqual(['sku-1', 'sku-2', 'sku-new']);
      expect((await deadLetters.list()).letters).toEqual([]);
      // The bystander skipped the replay: it had applied the original already.
      await waitFor('the bystander to skip the replay', async () => {
        const { values } = await metrics.messagesFiltered.get();
        return values.some((v) => v.labels.group === bystander && v.value === 1);
      });
      expect(applied(bystanderSeen)).toEqual(['sku-1', 'sku-new', 'sku-2']);
    } finally {
      await deadLetters.close();
    }
  });
});

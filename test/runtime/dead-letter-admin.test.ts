/**
 * Dead-letter administration against the real broker: letters seeded the way the runner
 * writes them are listed with their decoded diagnostics; a replay puts the original bytes back
 * on the original topic (diagnostics stripped, provenance added) and hides the letter; a drop
 * hides it without a replay; both survive a new admin instance. Plus the HTTP endpoint.
 */
import { Kafka, logLevel, Partitioners, type KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  createDeadLetterAdmin,
  createDeadLetterClients,
  deadLetterAdminCodes,
  handledTopicOf,
  replayHeaders,
  type DeadLetterAdmin,
} from '@runtime/dead-letter-admin';
import { createDeadLetterRouter } from '@runtime/dead-letter-router';
import { createDeadLetterPublisher } from '@runtime/dead-letters';
import { errorCodes, permanent } from '@runtime/errors';
import { createHttpApp, startHttpServer } from '@runtime/http';
import { bearer, testHttpAuth } from '@test/harness/credentials';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';
import { createTopicsWithLeaders } from '@contracts/provision';

const endpoints = testEndpoints();
const kafka = new Kafka({
  clientId: 'dead-letter-admin-test',
  brokers: endpoints.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
const created: string[] = [];
const admins: DeadLetterAdmin[] = [];

beforeAll(async () => {
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  await Promise.all(admins.map((a) => a.close()));
  await admin.deleteTopics({ topics: created }).catch(() => undefined);
  await Promise.all([admin.disconnect(), producer.disconnect()]);
});

const poison = {
  wire: Buffer.from([0, 0, 0, 0, 42, 0xde, 0xad]),
  bytes: Buffer.from([0xff, 0xfe, 0x00, 0x01]),
  json: Buffer.from(JSON.stringify({ unrelated: true })),
};

/** A DLQ seeded through the runtime's own publisher, as the runner does it. */
async function seed() {
  const group = uniqueName('dla-group');
  const original = uniqueName('dla-orders');
  const dlq = `${group}.dlq`;
  created.push(original, dlq, handledTopicOf(dlq));
  await createTopicsWithLeaders(admin, {
    topics: [
      { topic: original, numPartitions: 2 },
      { topic: dlq, numPartitions: 1 },
    ],
  });
  const publish = createDeadLetterPublisher(producer, (g) => `${g}.dlq`);
  const message = (offset: string, key: Buffer | null, value: Buffer): KafkaMessage => ({
    key,
    value,
    offset,
    timestamp: '1700000000000',
    attributes: 0,
    headers: { 'event-type': Buffer.from('OrderStep'), source: Buffer.from('storefront') },
  });
  const letters = [
    {
      message: message('41', Buffer.from('order-1'), poison.wire),
      error: permanent(errorCodes.UNKNOWN_SCHEMA_ID, 'schema id 42 is unknown to the registry'),
    },
    {
      message: message('57', null, poison.bytes),
      error: permanent(errorCodes.WRONG_MAGIC_BYTE, 'value does not start with magic byte 0'),
    },
    {
      message: message('58', Buffer.from('order-3'), poison.json),
      error: permanent(errorCodes.INVALID_CONTENT, 'value lacks orderId'),
    },
  ];
  for (const { message: m, error } of letters)
    await publish({ topic: original, partition: 1, message: m, group, error, attempts: 3 });
  const dlAdmin = createDeadLetterAdmin({ kafka, topic: dlq });
  admins.push(dlAdmin);
  return { group, original, dlq, dlAdmin };
}

/** Every record of `topic`, read through a fresh group. */
async function readAll(topic: string, count: number) {
  const seen: { partition: number; message: KafkaMessage }[] = [];
  const groupId = uniqueName('dla-reader');
  const reader = kafka.consumer({ groupId });
  await reader.connect();
  try {
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ partition, message }) => void seen.push({ partition, message }),
    });
    await waitFor(`${count} record(s) on ${topic}`, () => seen.length >= count);
  } finally {
    await reader.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return seen;
}

async function recordCount(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

describe('dead-letter admin', () => {
  it('lists dead letters with their decoded diagnostics', async () => {
    const { group, original, dlq, dlAdmin } = await seed();
    const { topic, letters, more } = await dlAdmin.list();
    expect(topic).toBe(dlq);
    expect(more).toBe(false);
    expect(letters.map((l) => l.id)).toEqual(['0:0', '0:1', '0:2']);
    const [first, second] = letters;
    expect(first).toMatchObject({
      deadLetter: { topic: dlq, partition: 0, offset: '0' },
      original: { topic: original, partition: 1, offset: '41', timestamp: '2023-11-14T22:13:20.000Z' },
      group,
      error: {
        code: 'UNKNOWN_SCHEMA_ID',
        category: 'permanent',
        class: 'PlatformError',
        message: 'schema id 42 is unknown to the registry',
      },
      schemaId: 42,
      attempts: 3,
      key: 'order-1',
      keyEncoding: 'utf8',
      valueSize: poison.wire.length,
      headers: { 'event-type': 'OrderStep', source: 'storefront' },
      handled: null,
    });
    expect(Date.parse(first?.deadLetteredAt ?? '')).not.toBeNaN();
    expect(second).toMatchObject({ key: null, schemaId: null, error: { code: 'WRONG_MAGIC_BYTE' } });

    const page = await dlAdmin.list({ limit: 2 });
    expect(page.letters.map((l) => l.id)).toEqual(['0:0', '0:1']);
    expect(page.more).toBe(true);
    expect((await dlAdmin.list({ fromOffset: 2 })).letters.map((l) => l.id)).toEqual(['0:2']);
  });

  it('replays the original bytes to the original topic and hides them; drops without replay; state survives', async () => {
    const { group, original, dlq, dlAdmin } = await seed();

    const replayed = await dlAdmin.replay(['0:0', '0:1']);
    expect(replayed.map((r) => [r.id, r.outcome])).toEqual([
      ['0:0', 'replayed'],
      ['0:1', 'replayed'],
    ]);
    expect(replayed[0]?.replayedTo).toEqual({ topic: original, partition: 1, offset: '0' });

    const back = await readAll(original, 2);
    expect(back).toHaveLength(2);
    const byFrom = new Map(back.map((r) => [r.message.headers?.[replayHeaders.replayedFrom]?.toString(), r]));
    const firstBack = byFrom.get(`${dlq}:0:0`);
    const secondBack = byFrom.get(`${dlq}:0:1`);
    expect(firstBack?.partition).toBe(1);
    expect(firstBack?.message.key).toEqual(Buffer.from('order-1'));
    expect(firstBack?.message.value).toEqual(poison.wire);
    expect(secondBack?.message.key).toBeNull();
    expect(secondBack?.message.value).toEqual(poison.bytes);
    for (const { message } of back) {
      const names = Object.keys(message.headers ?? {}).sort();
      expect(names).toEqual(
        ['event-type', replayHeaders.replayedForGroup, replayHeaders.replayedFrom, 'source'].sort(),
      );
      expect(message.headers?.['event-type']?.toString()).toBe('OrderStep');
      expect(message.headers?.[replayHeaders.replayedForGroup]?.toString()).toBe(group);
    }

    expect((await dlAdmin.list()).letters.map((l) => l.id)).toEqual(['0:2']);

    const dropped = await dlAdmin.drop(['0:2']);
    expect(dropped).toEqual([{ id: '0:2', outcome: 'dropped' }]);
    expect((await dlAdmin.list()).letters).toEqual([]);
    expect(await recordCount(original)).toBe(2);

    // A new admin (a restarted process) sees the same state, and repeats are harmless.
    const later = createDeadLetterAdmin({ kafka, topic: dlq });
    admins.push(later);
    expect((await later.list()).letters).toEqual([]);
    const everything = await later.list({ includeHandled: true });
    expect(everything.letters.map((l) => [l.id, l.handled?.action])).toEqual([
      ['0:0', 'replayed'],
      ['0:1', 'replayed'],
      ['0:2', 'dropped'],
    ]);
    expect(everything.letters[0]?.handled?.replayedTo).toEqual({
      topic: original,
      partition: 1,
      offset: '0',
    });
    const again = await later.replay(['0:0', '0:2']);
    expect(again.map((r) => [r.id, r.outcome, r.handled?.action])).toEqual([
      ['0:0', 'already-handled', 'replayed'],
      ['0:2', 'already-handled', 'dropped'],
    ]);
    expect(await recordCount(original)).toBe(2);
    // The dead letters themselves are still there.
    expect(await recordCount(dlq)).toBe(3);
  });

  it('refuses ids that do not exist, and touches nothing', async () => {
    const { original, dlAdmin } = await seed();
    await expect(dlAdmin.replay(['0:1', '0:99'])).rejects.toMatchObject({
      code: deadLetterAdminCodes.NOT_FOUND,
      details: { ids: ['0:99'] },
    });
    await expect(dlAdmin.drop(['x'])).rejects.toMatchObject({ code: deadLetterAdminCodes.INVALID_ID });
    expect(await recordCount(original)).toBe(0);
    expect((await dlAdmin.list()).letters).toHaveLength(3);
    const missing = createDeadLetterAdmin({ kafka, topic: `${uniqueName('no-such-group')}.dlq` });
    admins.push(missing);
    await expect(missing.list()).rejects.toMatchObject({ code: deadLetterAdminCodes.TOPIC_NOT_FOUND });
  });
});

describe('dead-letter HTTP endpoint', () => {
  it('lists, drops, and answers 400 naming the field of a bad body', async () => {
    const { group, dlq } = await seed();
    const clients = createDeadLetterClients(kafka);
    const app = createHttpApp({
      metricsRegistry: new Registry(),
      health: () => ({ status: 'up' }),
      readiness: async () => ({ ready: true, reasons: [] }),
      routers: [createDeadLetterRouter({ clients, topicFor: (g) => `${g}.dlq` })],
      bodyLimitBytes: 64 * 1024,
      auth: testHttpAuth(),
    });
    const server = await startHttpServer(app, 0);
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer('admin') },
        body: JSON.stringify(body),
      });
    const get = (path: string) => fetch(`${server.url}${path}`, { headers: bearer('admin') });
    try {
      const listed = await get(`/admin/dead-letters/${group}?limit=2`);
      expect(listed.status).toBe(200);
      const body = (await listed.json()) as { topic: string; more: boolean; letters: { id: string }[] };
      expect(body.topic).toBe(dlq);
      expect(body.more).toBe(true);
      expect(body.letters.map((l) => l.id)).toEqual(['0:0', '0:1']);

      const bad = await post(`/admin/dead-letters/${group}/replay`, { ids: ['0:0', 'zero:1'], force: true });
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await bad.json()) as { code: string; errors: { field: string }[] };
      expect(problem.code).toBe('VALIDATION_FAILED');
      expect(problem.errors.map((e) => e.field).sort()).toEqual(['/force', '/ids/1']);

      const badQuery = await get(`/admin/dead-letters/${group}?limit=0`);
      expect(badQuery.status).toBe(400);
      expect(((await badQuery.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('limit');

      const notFound = await post(`/admin/dead-letters/${group}/drop`, { ids: ['0:99'] });
      expect(notFound.status).toBe(404);

      const dropped = await post(`/admin/dead-letters/${group}/drop`, { ids: ['0:1'] });
      expect(dropped.status).toBe(200);
      expect(await dropped.json()).toMatchObject({ results: [{ id: '0:1', outcome: 'dropped' }] });
      const after = (await (await get(`/admin/dead-letters/${group}`)).json()) as {
        letters: { id: string }[];
      };
      expect(after.letters.map((l) => l.id)).toEqual(['0:0', '0:2']);

      const noTopic = await get(`/admin/dead-letters/${uniqueName('nobody')}`);
      expect(noTopic.status).toBe(404);
    } finally {
      await server.close();
      await clients.close();
    }
  });
});

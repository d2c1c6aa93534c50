/**
 * The warehouse context (픽업·포장) alone on the real stack: pick lists from
 * `scm.fulfilment-requests` (v1 and v2) and the kitchen's hand-overs from `scm.production-events`
 * open tasks; staff pick and pack them over HTTP, which writes OrderPicked and OrderPacked to
 * `scm.warehouse-events`; refusals and bad requests are problems naming the reason or the field;
 * and, with auto-advance on, a task is picked and packed by itself.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { placementOf } from '@contracts/topics';
import type { RunningPlatform } from '@platform/host';
import { toOutgoing } from '@runtime/event-writer';
import { RegistryClient, Serde } from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { call, createTestDeployment, type Json, type TestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';
import { Kafka, logLevel, type Producer } from 'kafkajs';

type Publication = Parameters<typeof toOutgoing>[1];

const manual = createTestDeployment('warehouse');
const automatic = createTestDeployment('warehouse-auto');
let platform: RunningPlatform;
let autoPlatform: RunningPlatform;
let producer: Producer;

beforeAll(async () => {
  const kafka = new Kafka({
    clientId: 'warehouse-upstream-stand-in',
    brokers: testEndpoints().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  producer = kafka.producer();
  [platform, autoPlatform] = await Promise.all([
    manual.start(['warehouse']),
    automatic.start(['warehouse'], { AUTO_ADVANCE_MS: '200' }),
    producer.connect(),
  ]);
});

afterAll(async () => {
  await producer.disconnect();
  await Promise.all([manual.stop(), automatic.stop()]);
});

const upstreamTypes = [
  'FulfilmentRequested',
  'FulfilmentCancelled',
  'CookingCompleted',
  'CookingSkipped',
] as const;
const serdes = new Map<TestDeployment, Promise<Serde>>();

/** A serde with the upstream events registered under the deployment's topics, as their writers do. */
function serdeFor(deployment: TestDeployment): Promise<Serde> {
  let serde = serdes.get(deployment);
  if (serde === undefined) {
    const created = new Serde({ registry: new RegistryClient({ url: testEndpoints().schemaRegistryUrl }) });
    serde = created
      .register({
        types: [...upstreamTypes],
        topicOf: (type) => `${deployment.namespace}${placementOf(type).topic}`,
      })
      .then(() => created);
    serdes.set(deployment, serde);
  }
  return serde;
}

/** Writes an upstream event to the deployment's namespaced topic as its writer would. */
async function publish(
  deployment: TestDeployment,
  publication: Publication,
  fulfilmentId: string,
  options: { producer?: string; occurredAt?: Date } = {},
): Promise<void> {
  const outgoing = toOutgoing(
    await serdeFor(deployment),
    publication,
    {
      eventId: randomUUID(),
      eventType: publication.type,
      occurredAt: options.occurredAt ?? new Date(),
      correlationId: fulfilmentId,
      causationId: null,
      producer:
        options.producer ?? (publication.type.startsWith('Cooking') ? 'production' : 'order-scm-adapter'),
      schemaVersion: publication.version,
    },
    (name) => `${deployment.namespace}${name}`,
  );
  await producer.send({
    topic: outgoing.topic,
    messages: [{ key: outgoing.key, value: outgoing.value, headers: outgoing.headers }],
  });
}

const lines = [
  { sku: 'SKU-BULGOGI-300G', quantity: 1 },
  { sku: 'SKU-RICE-210G', quantity: 2 },
];
const destination = {
  contactName: '김민지',
  contactPhone: '010-1234-5678',
  postalCode: '13487',
  addressLine: '경기도 성남시 분당구 판교역로 235',
  addressDetail: null,
  courierNote: null,
};
const deliveryWindow = {
  earliest: new Date('2030-01-02T20:00:00.000Z'),
  latest: new Date('2030-01-02T23:00:00.000Z'),
};

let sequence = 0;
/** A fulfilment id of its own per test, so tests never see each other's tasks. */
const newFulfilmentId = (): string =>
  `ORD-20300102-${Date.now().toString(36).toUpperCase()}${(sequence += 1)}`;
/** A wave of its own per test, so the list filter shows only this test's tasks. */
const newWave = (): string => `WAVE-${Date.now().toString(36).toUpperCase()}-${(sequence += 1)}-DAWN`;

const requestedV2 = (fulfilmentId: string, dispatchWave: string): Publication => ({
  type: 'FulfilmentRequested',
  version: 2,
  data: {
    fulfilmentId,
    lines,
    destination,
    deliveryWindow,
    dispatchWave,
    deliveryZone: 'GYEONGGI-PANGYO',
    cookedToOrderSkus: ['SKU-BULGOGI-300G'],
  },
});
const requestedV1 = (fulfilmentId: string): Publication => ({
  type: 'FulfilmentRequested',
  version: 1,
  data: { fulfilmentId, lines, destination, deliveryWindow },
});
const cookingCompleted = (fulfilmentId: string): Publication => ({
  type: 'CookingCompleted',
  version: 1,
  data: { fulfilmentId, taskId: `KT-${fulfilmentId}` },
});
const cookingSkipped = (fulfilmentId: string): Publication => ({
  type: 'CookingSkipped',
  version: 1,
  data: { fulfilmentId },
});
const cancelled = (fulfilmentId: string): Publication => ({
  type: 'FulfilmentCancelled',
  version: 1,
  data: { fulfilmentId, reason: '고객 요청' },
});

/** Polls the task until its fields are `expected` (the consumer applies events asynchronously). */
async function taskWhen(url: string, taskId: string, expected: Json): Promise<Json> {
  return waitFor(`${taskId} to be ${JSON.stringify(expected)}`, async () => {
    const answer = await call(url, 'GET', `/warehouse/tasks/${taskId}`);
    const matches = Object.entries(expected).every(([field, value]) =>
      isDeepStrictEqual(answer.body[field], value),
    );
    return answer.status === 200 && matches && answer.body;
  });
}

async function warehouseEventsFor(deployment: TestDeployment, fulfilmentId: string) {
  return (await deployment.events('scm.warehouse-events')).filter(
    (event) => 'fulfilmentId' in event.data && event.data.fulfilmentId === fulfilmentId,
  );
}

describe('warehouse tasks from upstream events', () => {
  it('a v2 pick list and the kitchen hand-over open a task to pick, in its wave', async () => {
    const fulfilmentId = newFulfilmentId();
    const wave = newWave();
    const taskId = `WH-${fulfilmentId}`;
    const readyAt = new Date(Date.now() - 5_000);
    await publish(manual, requestedV2(fulfilmentId, wave), fulfilmentId);
    await taskWhen(platform.url, taskId, { status: 'awaiting-kitchen', dispatchWave: wave, lines });
    await publish(manual, cookingCompleted(fulfilmentId), fulfilmentId, { occurredAt: readyAt });
    const task = await taskWhen(platform.url, taskId, { status: 'to-pick' });
    expect(task).toMatchObject({
      fulfilmentId,
      taskId,
      cooked: true,
      readyAt: readyAt.toISOString(),
      pickerId: null,
    });

    const open = await call(platform.url, 'GET', `/warehouse/tasks?wave=${wave}`);
    expect(open.status).toBe(200);
    expect(open.body.tasks).toEqual([expect.objectContaining({ taskId, status: 'to-pick' })]);
    const waiting = await call(platform.url, 'GET', `/warehouse/tasks?wave=${wave}&status=awaiting-kitchen`);
    expect(waiting.body.tasks).toEqual([]);
  });

  it('a v1 pick list has no wave, and cannot be picked before the kitchen hands it over', async () => {
    const fulfilmentId = newFulfilmentId();
    const taskId = `WH-${fulfilmentId}`;
    await publish(manual, requestedV1(fulfilmentId), fulfilmentId);
    await taskWhen(platform.url, taskId, { status: 'awaiting-kitchen', dispatchWave: null, lines });

    // Not an open task yet: the default list leaves it out.
    const open = await call(platform.url, 'GET', '/warehouse/tasks');
    expect((open.body.tasks as Json[]).map((task) => task.taskId)).not.toContain(taskId);

    const early = await call(platform.url, 'POST', `/warehouse/tasks/${taskId}/pick`, {
      pickerId: 'PICKER-7',
    });
    expect(early.status).toBe(409);
    expect(early.headers.get('content-type')).toContain('application/problem+json');
    expect(early.body.detail).toBe(`${taskId} cannot be picked yet: the kitchen has not finished the order.`);

    await publish(manual, cookingSkipped(fulfilmentId), fulfilmentId);
    await taskWhen(platform.url, taskId, { status: 'to-pick', cooked: false });
  });

  it('a cancelled fulfilment cannot be picked, and says why', async () => {
    const fulfilmentId = newFulfilmentId();
    const taskId = `WH-${fulfilmentId}`;
    await publish(manual, requestedV2(fulfilmentId, newWave()), fulfilmentId);
    await publish(manual, cookingCompleted(fulfilmentId), fulfilmentId);
    await publish(manual, cancelled(fulfilmentId), fulfilmentId);
    await taskWhen(platform.url, taskId, { status: 'cancelled', cancellationReason: '고객 요청' });
    const pick = await call(platform.url, 'POST', `/warehouse/tasks/${taskId}/pick`, {
      pickerId: 'PICKER-7',
    });
    expect(pick.status).toBe(409);
    expect(pick.body.detail).toBe(`${taskId} cannot be picked: the fulfilment was cancelled (고객 요청).`);
    const listed = await call(platform.url, 'GET', '/warehouse/tasks?status=cancelled');
    expect((listed.body.tasks as Json[]).map((task) => task.taskId)).toContain(taskId);
  });
});

describe('pick and pack over HTTP', () => {
  it('picking then packing writes OrderPicked and OrderPacked; a retry is the same answer', async () => {
    const fulfilmentId = newFulfilmentId();
    const taskId = `WH-${fulfilmentId}`;
    await publish(manual, cookingCompleted(fulfilmentId), fulfilmentId);
    await taskWhen(platform.url, taskId, { status: 'to-pick' });

    const packEarly = await call(platform.url, 'POST', `/warehouse/tasks/${taskId}/pack`, {
      packerId: 'PACKER-3',
      parcelCount: 1,
    });
    expect(packEarly.status).toBe(409);
    expect(packEarly.body).toMatchObject({
      code: 'CONFLICT',
      detail: `${taskId} cannot be packed before it is picked.`,
    });

    const picked = await call(
      platform.url,
      'POST',
      `/warehouse/tasks/${taskId}/pick`,
      { pickerId: 'PICKER-7' },
      { 'Idempotency-Key': `pick-${fulfilmentId}` },
    );
    expect(picked.status).toBe(200);
    expect(picked.body).toMatchObject({ taskId, status: 'to-pack', pickerId: 'PICKER-7', version: 2 });
    // The same request again (same key) changes nothing; another picker is refused.
    const retried = await call(
      platform.url,
      'POST',
      `/warehouse/tasks/${taskId}/pick`,
      { pickerId: 'PICKER-7' },
      { 'Idempotency-Key': `pick-${fulfilmentId}` },
    );
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'to-pack', version: 2 });
    const other = await call(platform.url, 'POST', `/warehouse/tasks/${taskId}/pick`, {
      pickerId: 'PICKER-8',
    });
    expect(other.status).toBe(409);
    expect(other.body.detail).toBe(`${taskId} was already picked by PICKER-7.`);

    const toPack = await call(platform.url, 'GET', '/warehouse/tasks?status=to-pack');
    expect((toPack.body.tasks as Json[]).map((task) => task.taskId)).toContain(taskId);

    const packed = await call(platform.url, 'POST', `/warehouse/tasks/${taskId}/pack`, {
      packerId: 'PACKER-3',
      parcelCount: 2,
    });
    expect(packed.status).toBe(200);
    expect(packed.body).toMatchObject({ status: 'packed', packerId: 'PACKER-3', parcelCount: 2 });

    const events = await waitFor('OrderPicked and OrderPacked', async () => {
      const found = await warehouseEventsFor(manual, fulfilmentId);
      return found.length >= 2 && found;
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'OrderPicked',
        data: { fulfilmentId, pickerId: 'PICKER-7' },
        metadata: expect.objectContaining({ producer: 'warehouse', correlationId: fulfilmentId }),
      }),
      expect.objectContaining({
        type: 'OrderPacked',
        data: { fulfilmentId, packerId: 'PACKER-3', parcelCount: 2 },
        metadata: expect.objectContaining({ producer: 'warehouse', correlationId: fulfilmentId }),
      }),
    ]);
  });

  it.each<[string, string, unknown, string]>([
    ['a missing picker', 'pick', {}, '/pickerId'],
    ['an unknown field', 'pick', { pickerId: 'PICKER-7', station: 'A' }, '/station'],
    ['a picker id with spaces', 'pick', { pickerId: 'PICKER 7' }, '/pickerId'],
    ['zero parcels', 'pack', { packerId: 'PACKER-3', parcelCount: 0 }, '/parcelCount'],
    ['21 parcels', 'pack', { packerId: 'PACKER-3', parcelCount: 21 }, '/parcelCount'],
    ['a fractional parcel count', 'pack', { packerId: 'PACKER-3', parcelCount: 1.5 }, '/parcelCount'],
    ['a missing packer', 'pack', { parcelCount: 1 }, '/packerId'],
  ])('%s: 400 naming the field', async (_case, command, body, field) => {
    const answer = await call(platform.url, 'POST', `/warehouse/tasks/WH-ORD-ANY/${command}`, body);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('an unknown status filter is a 400 naming the query parameter', async () => {
    const answer = await call(platform.url, 'GET', '/warehouse/tasks?status=lost');
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([expect.objectContaining({ field: 'status' })]);
  });

  it('an unknown or malformed task id is a 404 problem', async () => {
    for (const taskId of ['WH-ORD-20990101-NOPE', 'ORD-20990101-NOPE']) {
      const read = await call(platform.url, 'GET', `/warehouse/tasks/${taskId}`);
      expect(read.status).toBe(404);
      expect(read.body).toMatchObject({ status: 404, title: 'Warehouse task not found' });
      const pick = await call(platform.url, 'POST', `/warehouse/tasks/${taskId}/pick`, {
        pickerId: 'PICKER-7',
      });
      expect(pick.status).toBe(404);
    }
  });
});

describe('auto-advance', () => {
  it('picks and packs a handed-over task by itself, and leaves one waiting for the kitchen alone', async () => {
    const fulfilmentId = newFulfilmentId();
    const taskId = `WH-${fulfilmentId}`;
    const waitingId = newFulfilmentId();
    await publish(automatic, requestedV1(waitingId), waitingId);
    await taskWhen(autoPlatform.url, `WH-${waitingId}`, { status: 'awaiting-kitchen' });
    await publish(automatic, requestedV2(fulfilmentId, newWave()), fulfilmentId);
    await publish(automatic, cookingCompleted(fulfilmentId), fulfilmentId);
    const task = await taskWhen(autoPlatform.url, taskId, { status: 'packed' });
    expect(task).toMatchObject({ pickerId: 'AUTO-PICKER', packerId: 'AUTO-PACKER', parcelCount: 1 });
    // Each step waited its delay: picked at least 200 ms after the hand-over, packed after picking.
    const at = (field: string): number => Date.parse(String(task[field]));
    expect(at('pickedAt') - at('readyAt')).toBeGreaterThanOrEqual(200);
    expect(at('packedAt') - at('pickedAt')).toBeGreaterThanOrEqual(200);

    const events = await waitFor('OrderPicked and OrderPacked', async () => {
      const found = await warehouseEventsFor(automatic, fulfilmentId);
      return found.length >= 2 && found;
    });
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['OrderPicked', { fulfilmentId, pickerId: 'AUTO-PICKER' }],
      ['OrderPacked', { fulfilmentId, packerId: 'AUTO-PACKER', parcelCount: 1 }],
    ]);

    // There before the other task went through both steps, and still untouched.
    const waiting = await call(autoPlatform.url, 'GET', `/warehouse/tasks/WH-${waitingId}`);
    expect(waiting.body).toMatchObject({ status: 'awaiting-kitchen', pickerId: null, version: 1 });
  });
});

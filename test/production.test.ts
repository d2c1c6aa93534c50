/**
 * The kitchen (production) on the real stack, hosted alone: fulfilment requests and stock
 * reservations, written onto their topics as their writers would and in either order, open a
 * kitchen task; cooks start and complete it over HTTP, and CookingStarted / CookingCompleted
 * (or CookingSkipped, when nothing is cooked to order) appear on scm.production-events. Refusals
 * and bad requests write nothing; with AUTO_ADVANCE_MS the kitchen cooks by itself.
 */
import { randomBytes } from 'node:crypto';
import type { RunningPlatform } from '@platform/host';
import type { Publication } from '@runtime/decider';
import { call, createTestDeployment, type Json, type TestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

const deployment = createTestDeployment('production');
const automatic = createTestDeployment('production-auto');
let kitchen: RunningPlatform;
let autoKitchen: RunningPlatform;

const wave = `WAVE-20250102-DAWN-${randomBytes(3).toString('hex')}`;
const bulgogi = { sku: 'SKU-BULGOGI-300G', quantity: 1 };
const rice = { sku: 'SKU-RICE-210G', quantity: 2 };
const soup = { sku: 'SKU-DOENJANG-SOUP', quantity: 1 };

const newFulfilmentId = (): string => `ORD-20250102-${randomBytes(4).toString('hex').toUpperCase()}`;
const taskOf = (fulfilmentId: string): string => `/kitchen/tasks/KT-${fulfilmentId}`;

const destination = {
  contactName: '김민지',
  contactPhone: '010-1234-5678',
  postalCode: '13487',
  addressLine: '경기도 성남시 분당구 판교역로 235',
  addressDetail: null,
  courierNote: null,
};
const deliveryWindow = {
  earliest: new Date('2025-01-02T21:00:00.000Z'),
  latest: new Date('2025-01-02T23:00:00.000Z'),
};

/** FulfilmentRequested v2 as the order->scm adapter writes it: bulgogi and soup are cooked. */
const requested = (fulfilmentId: string): Publication => ({
  type: 'FulfilmentRequested',
  version: 2,
  data: {
    fulfilmentId,
    lines: [bulgogi, rice, soup],
    destination,
    deliveryWindow,
    dispatchWave: wave,
    deliveryZone: 'GYEONGGI-PANGYO',
    cookedToOrderSkus: [bulgogi.sku, soup.sku],
  },
});
/** FulfilmentRequested v1, from an adapter not yet upgraded: it knows nothing of the kitchen. */
const requestedV1 = (fulfilmentId: string): Publication => ({
  type: 'FulfilmentRequested',
  version: 1,
  data: { fulfilmentId, lines: [bulgogi, rice], destination, deliveryWindow },
});
const reserved = (fulfilmentId: string): Publication => ({
  type: 'StockReserved',
  version: 1,
  data: { fulfilmentId, lines: [bulgogi, rice, soup] },
});
const cancelled = (fulfilmentId: string): Publication => ({
  type: 'FulfilmentCancelled',
  version: 1,
  data: { fulfilmentId, reason: '고객 요청' },
});

async function kitchenEvents(fulfilmentId: string, from: TestDeployment = deployment) {
  return (await from.events('scm.production-events')).filter(
    (event) => 'fulfilmentId' in event.data && event.data.fulfilmentId === fulfilmentId,
  );
}

/** Waits until the task of `fulfilmentId` is in `status` (the consumer applied the events). */
async function taskIn(fulfilmentId: string, status: string, platform: RunningPlatform = kitchen) {
  return waitFor(`KT-${fulfilmentId} to be ${status}`, async () => {
    const answer = await call(platform.url, 'GET', taskOf(fulfilmentId));
    return answer.status === 200 && answer.body.status === status && answer.body;
  });
}

/** A task opened the usual way: requested, then reserved. */
async function waitingTask(): Promise<string> {
  const fulfilmentId = newFulfilmentId();
  await deployment.publish('order-scm-adapter', requested(fulfilmentId));
  await deployment.publish('inventory', reserved(fulfilmentId));
  await taskIn(fulfilmentId, 'waiting');
  return fulfilmentId;
}

beforeAll(async () => {
  kitchen = await deployment.start(['production']);
  autoKitchen = await automatic.start(['production'], { AUTO_ADVANCE_MS: '200' });
});

afterAll(() => Promise.all([deployment.stop(), automatic.stop()]));

describe('opening a task', () => {
  it('a request then its reservation open a waiting task with the cooked-to-order lines only', async () => {
    const fulfilmentId = await waitingTask();
    const task = await call(kitchen.url, 'GET', taskOf(fulfilmentId));
    expect(task.status).toBe(200);
    expect(task.body).toMatchObject({
      taskId: `KT-${fulfilmentId}`,
      fulfilmentId,
      status: 'waiting',
      dispatchWave: wave,
      items: [bulgogi, soup],
      station: null,
      startedAt: null,
    });
    expect(task.body.openedAt).toBe(task.body.reservedAt);
    // Opening a task is the kitchen's own business: nothing is published yet.
    expect(await kitchenEvents(fulfilmentId)).toEqual([]);
  });

  it('a reservation before a v1 request: nothing is cooked to order, so CookingSkipped', async () => {
    const fulfilmentId = newFulfilmentId();
    await deployment.publish('inventory', reserved(fulfilmentId));
    await taskIn(fulfilmentId, 'awaiting-request');
    await deployment.publish('order-scm-adapter', requestedV1(fulfilmentId));
    const task = await taskIn(fulfilmentId, 'skipped');
    expect(task).toMatchObject({ items: [], dispatchWave: null });
    const events = await waitFor('CookingSkipped', async () => {
      const found = await kitchenEvents(fulfilmentId);
      return found.length > 0 && found;
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'CookingSkipped',
        data: { fulfilmentId },
        metadata: expect.objectContaining({ producer: 'production', correlationId: fulfilmentId }),
      }),
    ]);
    const start = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/start`);
    expect(start.status).toBe(409);
    expect(start.body.detail).toBe(
      `${fulfilmentId} has nothing cooked to order: it went straight to picking`,
    );
  });

  it('a cancelled fulfilment is not cooked, and nothing is published for it', async () => {
    const fulfilmentId = await waitingTask();
    await deployment.publish('order-scm-adapter', cancelled(fulfilmentId));
    await taskIn(fulfilmentId, 'cancelled');
    const start = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/start`);
    expect(start.status).toBe(409);
    expect(start.body).toMatchObject({ code: 'CONFLICT' });
    expect(start.body.detail).toContain('was cancelled (고객 요청)');
    expect(await kitchenEvents(fulfilmentId)).toEqual([]);
  });
});

describe('cooking', () => {
  it('start then complete publish CookingStarted and CookingCompleted; repeating either is a 409', async () => {
    const fulfilmentId = await waitingTask();
    const early = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/complete`);
    expect(early.status).toBe(409);
    expect(early.body.detail).toBe(`KT-${fulfilmentId} has not been started: start cooking first`);

    const start = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/start`, {
      station: 'wok-2',
      expectedReadyAt: '2025-01-02T14:30:00+09:00',
    });
    expect(start.status).toBe(200);
    expect(start.body).toMatchObject({
      status: 'cooking',
      station: 'wok-2',
      expectedReadyAt: '2025-01-02T05:30:00.000Z',
      version: expect.any(Number),
    });
    const again = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/start`, { station: 'wok-3' });
    expect(again.status).toBe(409);
    expect(again.body.detail).toBe(`KT-${fulfilmentId} is already being cooked`);

    const complete = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/complete`);
    expect(complete.status).toBe(200);
    expect(complete.body).toMatchObject({ status: 'completed', station: 'wok-2' });
    expect((await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/complete`)).status).toBe(409);

    const events = await waitFor('both kitchen events', async () => {
      const found = await kitchenEvents(fulfilmentId);
      return found.length >= 2 && found;
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'CookingStarted',
        data: {
          fulfilmentId,
          taskId: `KT-${fulfilmentId}`,
          station: 'wok-2',
          expectedReadyAt: new Date('2025-01-02T05:30:00.000Z'),
        },
        metadata: expect.objectContaining({ producer: 'production', correlationId: fulfilmentId }),
      }),
      expect.objectContaining({
        type: 'CookingCompleted',
        data: { fulfilmentId, taskId: `KT-${fulfilmentId}` },
      }),
    ]);
  });

  it('a start retried with the same Idempotency-Key is applied once', async () => {
    const fulfilmentId = await waitingTask();
    const headers = { 'Idempotency-Key': `start-${fulfilmentId}` };
    const first = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/start`, undefined, headers);
    const retry = await call(kitchen.url, 'POST', `${taskOf(fulfilmentId)}/start`, undefined, headers);
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(retry.body).toMatchObject({ status: 'cooking', station: null, version: first.body.version });
    // The same version: the retry wrote nothing, so there is nothing more to publish.
    const events = await waitFor('CookingStarted', async () => {
      const found = await kitchenEvents(fulfilmentId);
      return found.length > 0 && found;
    });
    expect(events.map((event) => event.type)).toEqual(['CookingStarted']);
  });
});

describe('the task list', () => {
  it('shows open tasks oldest first by default, and filters by status and wave', async () => {
    const older = await waitingTask();
    const newer = await waitingTask();
    await call(kitchen.url, 'POST', `${taskOf(newer)}/start`, { station: 'grill-1' });
    const fulfilmentIds = (body: Json): unknown[] =>
      Array.isArray(body.tasks)
        ? body.tasks.map((task: unknown) =>
            typeof task === 'object' && task !== null && 'fulfilmentId' in task ? task.fulfilmentId : null,
          )
        : [];

    const open = await call(kitchen.url, 'GET', `/kitchen/tasks?wave=${wave}`);
    expect(open.status).toBe(200);
    const ids = fulfilmentIds(open.body);
    expect(ids).toEqual(expect.arrayContaining([older, newer]));
    expect(ids.indexOf(older)).toBeLessThan(ids.indexOf(newer));

    const cooking = fulfilmentIds((await call(kitchen.url, 'GET', '/kitchen/tasks?status=cooking')).body);
    expect(cooking).toContain(newer);
    expect(cooking).not.toContain(older);
    const waiting = fulfilmentIds((await call(kitchen.url, 'GET', '/kitchen/tasks?status=waiting')).body);
    expect(waiting).toContain(older);
    expect(waiting).not.toContain(newer);
    const elsewhere = await call(kitchen.url, 'GET', '/kitchen/tasks?wave=WAVE-20990101-DAY');
    expect(elsewhere.body).toEqual({ tasks: [] });
  });
});

describe('bad requests', () => {
  it.each<[string, string, unknown, string]>([
    ['an unknown status', '/kitchen/tasks?status=burnt', undefined, 'status'],
    ['a malformed wave', '/kitchen/tasks?wave=not%20a%20wave', undefined, 'wave'],
    ['a date without a zone', 'start', { expectedReadyAt: '2025-01-02T14:30:00' }, '/expectedReadyAt'],
    ['a date that does not exist', 'start', { expectedReadyAt: '2025-02-30T10:00:00Z' }, '/expectedReadyAt'],
    ['an unknown field', 'start', { chef: '백종원' }, '/chef'],
    ['an empty station', 'start', { station: ' ' }, '/station'],
    ['a body on complete', 'complete', { station: 'wok-2' }, '/station'],
  ])('%s: 400 naming the field, nothing written', async (_case, target, body, field) => {
    const fulfilmentId = await waitingTask();
    const path = target.startsWith('/') ? target : `${taskOf(fulfilmentId)}/${target}`;
    const answer = await call(kitchen.url, target.startsWith('/') ? 'GET' : 'POST', path, body);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body.errors).toEqual([expect.objectContaining({ field })]);
    expect((await call(kitchen.url, 'GET', taskOf(fulfilmentId))).body).toMatchObject({
      status: 'waiting',
      version: 2,
    });
  });

  it.each(['/kitchen/tasks/KT-ORD-20990101-NOPE', '/kitchen/tasks/ORD-20990101-NOPE'])(
    '%s is a 404 problem, for reads and commands',
    async (path) => {
      const read = await call(kitchen.url, 'GET', path);
      expect(read.status).toBe(404);
      expect(read.body).toMatchObject({ status: 404, title: 'Kitchen task not found' });
      expect((await call(kitchen.url, 'POST', `${path}/start`)).status).toBe(404);
    },
  );
});

describe('auto-advance (AUTO_ADVANCE_MS=200)', () => {
  it('a task is started at the AUTO station and completed, each after the delay; a cancelled one is left alone', async () => {
    const dropped = newFulfilmentId();
    await automatic.publish('order-scm-adapter', requested(dropped), cancelled(dropped));
    await taskIn(dropped, 'cancelled', autoKitchen);
    await automatic.publish('inventory', reserved(dropped));
    const fulfilmentId = newFulfilmentId();
    await automatic.publish('inventory', reserved(fulfilmentId));
    await automatic.publish('order-scm-adapter', requested(fulfilmentId));

    const task = await taskIn(fulfilmentId, 'completed', autoKitchen);
    expect(task).toMatchObject({ station: 'AUTO' });
    const startedAt = Date.parse(String(task.startedAt));
    expect(startedAt - Date.parse(String(task.openedAt))).toBeGreaterThanOrEqual(200);
    expect(Date.parse(String(task.completedAt)) - startedAt).toBeGreaterThanOrEqual(200);
    expect(Date.parse(String(task.expectedReadyAt))).toBe(startedAt + 200);
    const events = await waitFor('both kitchen events', async () => {
      const found = await kitchenEvents(fulfilmentId, automatic);
      return found.length >= 2 && found;
    });
    expect(events.map((event) => event.type)).toEqual(['CookingStarted', 'CookingCompleted']);
    expect(events[0]?.data).toMatchObject({ station: 'AUTO' });

    // Published before the other one, so auto-advance has had its chances at it.
    expect((await call(autoKitchen.url, 'GET', taskOf(dropped))).body).toMatchObject({ status: 'cancelled' });
    expect(await kitchenEvents(dropped, automatic)).toEqual([]);
  });
});

/**
 * The whole platform in one process (the main command's mode), end to end over HTTP on the real
 * stack: the journey, cancellation before and after dispatch, a shortage that resolves when stock
 * arrives, and the last units of a SKU under concurrent orders.
 */
import { platformContexts } from '@contracts/principals';
import type { RunningPlatform } from '@platform/host';
import { call, createTestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';
import { act, appearsIn, fullJourney, placeOrder, receiveStock, statusReaches, type UrlOf } from './journey';

const deployment = createTestDeployment('e2e-one');
let platform: RunningPlatform;
const urlOf: UrlOf = () => platform.url;

beforeAll(async () => {
  platform = await deployment.start([...platformContexts]);
});

afterAll(() => deployment.stop());

it('an order goes 주문 → 요리 → 픽업 → 포장 → 배송 → 전달완료, and the timeline shows every hop', async () => {
  const { seen, timeline } = await fullJourney(urlOf);
  expect(seen).toEqual(['주문접수', '조리중', '픽업완료', '포장완료', '배송중', '배송완료']);

  const hops = timeline.hops as { type: string; at: string; sincePreviousMs: number; context: string }[];
  expect(
    hops.filter((hop) => hop.type !== 'OrderStatusChanged').map((hop) => `${hop.context}:${hop.type}`),
  ).toEqual([
    'order:OrderPlaced',
    'order-scm-adapter:FulfilmentRequested',
    'inventory:StockReserved',
    'production:CookingStarted',
    'production:CookingCompleted',
    'warehouse:OrderPicked',
    'warehouse:OrderPacked',
    'delivery:ShipmentDispatched',
    'delivery:ShipmentDelivered',
  ]);
  const times = hops.map((hop) => Date.parse(hop.at));
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(hops.every((hop) => hop.sincePreviousMs >= 0)).toBe(true);
  expect(
    (timeline.stages as { stage: string; reachedAt: string | null }[]).map((stage) => stage.stage),
  ).toEqual(['주문', '요리', '픽업', '포장', '배송', '전달완료']);
  expect((timeline.stages as { reachedAt: string | null }[]).every((stage) => stage.reachedAt !== null)).toBe(
    true,
  );
  expect(timeline).toMatchObject({ status: 'DELIVERED' });
});

it('a cancel before shipping stops the work and releases the stock; after dispatch it is refused', async () => {
  await receiveStock(urlOf, 'SKU-BULGOGI-300G', 2);
  const before = await stock('SKU-BULGOGI-300G');
  const orderId = await placeOrder(urlOf, [{ productCode: 'PRD-BULGOGI', quantity: 1, unitPrice: 15000 }]);
  await statusReaches(urlOf, orderId, 'RECEIVED');
  expect(await stock('SKU-BULGOGI-300G')).toMatchObject({ reserved: before.reserved + 1 });
  await appearsIn(urlOf, 'production', '/kitchen/tasks?status=waiting', orderId);

  const cancel = await call(platform.url, 'POST', `/orders/${orderId}/cancel`, {
    comment: '일정이 바뀌었어요',
  });
  expect(cancel.status).toBe(202);
  const cancelled = await statusReaches(urlOf, orderId, 'CANCELLED');
  expect(cancelled).toMatchObject({ statusLabel: '취소', statusReason: '주문 취소' });
  expect(await stock('SKU-BULGOGI-300G')).toMatchObject({ reserved: before.reserved });
  // The kitchen stopped: the task can no longer be started.
  const start = await waitFor('the kitchen to learn of the cancellation', async () => {
    const answer = await act(urlOf, 'production', `/kitchen/tasks/KT-${orderId}/start`, {});
    return answer.status === 409 && answer;
  });
  expect(String(start.body.detail)).toContain('cancel');

  // After dispatch: refused, with the reason the customer reads.
  const late = await placeOrder(urlOf, [{ productCode: 'PRD-KIMCHI', quantity: 1, unitPrice: 12000 }]);
  await receiveStock(urlOf, 'SKU-KIMCHI-500G', 1);
  await statusReaches(urlOf, late, 'RECEIVED');
  await appearsIn(urlOf, 'warehouse', '/warehouse/tasks?status=to-pick', late);
  await act(urlOf, 'warehouse', `/warehouse/tasks/WH-${late}/pick`, { pickerId: 'P-1' });
  await act(urlOf, 'warehouse', `/warehouse/tasks/WH-${late}/pack`, { packerId: 'P-2', parcelCount: 1 });
  await appearsIn(urlOf, 'delivery', '/delivery/shipments?status=ready', late);
  await act(urlOf, 'delivery', `/delivery/shipments/SHP-${late}/dispatch`, { courierId: 'C-1' });
  await statusReaches(urlOf, late, 'SHIPPING');
  const refused = await call(platform.url, 'POST', `/orders/${late}/cancel`, {});
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toBe(
    '이미 배송이 시작되어 취소할 수 없습니다 (the order has left with the courier)',
  );
});

it('a shortage is visible to the customer (입고대기) and resolves when stock arrives', async () => {
  const available = Number((await stock('SKU-SOYMILK-190ML')).available);
  const orderId = await placeOrder(urlOf, [{ productCode: 'PRD-SOYMILK-24', quantity: 1, unitPrice: 18000 }]);
  const waiting = await statusReaches(urlOf, orderId, 'WAITING_FOR_STOCK');
  expect(waiting).toMatchObject({
    statusLabel: '입고대기',
    statusReason: '재고 부족: 입고되면 주문이 진행됩니다',
  });

  await receiveStock(urlOf, 'SKU-SOYMILK-190ML', 24 - available);
  const received = await statusReaches(urlOf, orderId, 'RECEIVED');
  expect(received).toMatchObject({ statusLabel: '주문접수' });
  expect(await stock('SKU-SOYMILK-190ML')).toMatchObject({ available: 0 });
});

it('concurrent orders for the last units of a SKU never over-reserve', async () => {
  await receiveStock(urlOf, 'SKU-DOENJANG-SOUP', 3);
  const orders = await Promise.all(
    Array.from({ length: 8 }, () =>
      placeOrder(urlOf, [{ productCode: 'PRD-BULGOGI-SET', quantity: 1, unitPrice: 15900 }], {
        customerId: 'RUSH',
      }),
    ),
  );
  await receiveStock(urlOf, 'SKU-BULGOGI-300G', 20);
  await receiveStock(urlOf, 'SKU-RICE-210G', 20);
  const outcomes = await waitFor(
    'every order decided',
    async () => {
      const statuses = await Promise.all(
        orders.map(async (orderId) =>
          String((await call(platform.url, 'GET', `/orders/${orderId}`)).body.status),
        ),
      );
      return statuses.every((status) => status === 'RECEIVED' || status === 'WAITING_FOR_STOCK') && statuses;
    },
    { timeoutMs: 60_000 },
  );
  // Receipts of the other SKUs may have served some before the soup was counted: whatever the
  // order of events, exactly three get the last three soups.
  await waitFor(
    'the soup to be fully reserved',
    async () => (await stock('SKU-DOENJANG-SOUP')).reserved === 3,
  );
  const settled = await Promise.all(
    orders.map(async (orderId) =>
      String((await call(platform.url, 'GET', `/orders/${orderId}`)).body.status),
    ),
  );
  expect(settled.filter((status) => status === 'RECEIVED')).toHaveLength(3);
  expect(settled.filter((status) => status === 'WAITING_FOR_STOCK')).toHaveLength(5);
  expect(outcomes).toHaveLength(8);
  expect(await stock('SKU-DOENJANG-SOUP')).toMatchObject({ onHand: 3, reserved: 3, available: 0 });
});

async function stock(sku: string): Promise<{ onHand: number; reserved: number; available: number }> {
  const answer = await call(platform.url, 'GET', `/inventory/stock/${sku}`);
  return answer.body as unknown as { onHand: number; reserved: number; available: number };
}

/**
 * The customer's and the crew's side of the platform, over HTTP only, written once and run
 * against every run mode: where each context's API lives is the only thing that differs.
 */
import { call, type Json } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

export type ContextName =
  | 'order'
  | 'order-scm-adapter'
  | 'scm-order-adapter'
  | 'inventory'
  | 'production'
  | 'warehouse'
  | 'delivery'
  | 'tracking';

/** Base URL of the process that serves a context's API. */
export type UrlOf = (context: ContextName) => string;

const tomorrow = (): string => new Date(Date.now() + 9 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);

export const orderRequest = (lines: Json[], overrides: Json = {}): Json => ({
  customerId: 'CUST-E2E',
  lines,
  deliveryAddress: {
    recipientName: '김민지',
    phone: '010-1234-5678',
    postalCode: '06236',
    roadAddress: '서울특별시 강남구 테헤란로 123',
    detailAddress: '5층',
  },
  delivery: { date: tomorrow(), slot: 'DAWN' },
  deliveryMemo: '문 앞에 놓아주세요',
  payment: { method: 'CARD' },
  ...overrides,
});

export async function receiveStock(urlOf: UrlOf, sku: string, quantity: number): Promise<void> {
  const answer = await call(urlOf('inventory'), 'POST', `/inventory/stock/${sku}/receipts`, { quantity });
  if (answer.status !== 201)
    throw new Error(`receipt of ${sku} failed: ${answer.status} ${JSON.stringify(answer.body)}`);
}

export async function placeOrder(urlOf: UrlOf, lines: Json[], overrides: Json = {}): Promise<string> {
  const answer = await call(urlOf('order'), 'POST', '/orders', orderRequest(lines, overrides), {
    'Idempotency-Key': `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  });
  if (answer.status !== 201)
    throw new Error(`placing failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return String(answer.body.orderId);
}

/** Long-polls the order until it shows `status` (what a customer's app does), and returns it. */
export async function statusReaches(
  urlOf: UrlOf,
  orderId: string,
  status: string,
  timeoutMs = 45_000,
): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await call(urlOf('order'), 'GET', `/orders/${orderId}`);
    if (current.body.status === status) return current.body;
    if (Date.now() > deadline)
      throw new Error(
        `order ${orderId} is ${String(current.body.status)}, never ${status} (${timeoutMs} ms)`,
      );
    await call(urlOf('order'), 'GET', `/orders/${orderId}?wait=5&status=${String(current.body.status)}`);
  }
}

/** A crew member's command, once the task has reached their screen (their list shows it). */
export async function act(
  urlOf: UrlOf,
  context: 'production' | 'warehouse' | 'delivery',
  path: string,
  body: Json = {},
): Promise<{ status: number; body: Json }> {
  return call(urlOf(context), 'POST', path, body);
}

export async function appearsIn(urlOf: UrlOf, context: ContextName, path: string, id: string): Promise<void> {
  await waitFor(`${id} in ${path}`, async () => {
    const answer = await call(urlOf(context), 'GET', path);
    return JSON.stringify(answer.body).includes(id);
  });
}

/**
 * The whole journey, 주문 → 요리 → 픽업 → 포장 → 배송 → 전달완료, every status as the customer
 * sees it, and the timeline that tracking builds from every hop.
 */
export async function fullJourney(
  urlOf: UrlOf,
): Promise<{ orderId: string; seen: string[]; timeline: Json }> {
  await receiveStock(urlOf, 'SKU-BIBIMBAP-REG', 5);
  await receiveStock(urlOf, 'SKU-KIMCHI-500G', 5);
  const orderId = await placeOrder(urlOf, [
    { productCode: 'PRD-BIBIMBAP', quantity: 2, unitPrice: 9500 },
    { productCode: 'PRD-KIMCHI', quantity: 1, unitPrice: 12000 },
  ]);
  const seen: string[] = [];
  const see = async (status: string): Promise<void> => {
    const order = await statusReaches(urlOf, orderId, status);
    seen.push(String(order.statusLabel));
  };

  await see('RECEIVED');
  const kitchen = `/kitchen/tasks/KT-${orderId}`;
  await appearsIn(urlOf, 'production', '/kitchen/tasks?status=waiting', orderId);
  expectOk(await act(urlOf, 'production', `${kitchen}/start`, { station: 'WOK-1' }));
  await see('COOKING');
  expectOk(await act(urlOf, 'production', `${kitchen}/complete`));

  const task = `/warehouse/tasks/WH-${orderId}`;
  await appearsIn(urlOf, 'warehouse', '/warehouse/tasks?status=to-pick', orderId);
  expectOk(await act(urlOf, 'warehouse', `${task}/pick`, { pickerId: 'PICKER-7' }));
  await see('PICKED');
  expectOk(await act(urlOf, 'warehouse', `${task}/pack`, { packerId: 'PACKER-3', parcelCount: 1 }));
  await see('PACKED');

  const shipment = `/delivery/shipments/SHP-${orderId}`;
  await appearsIn(urlOf, 'delivery', '/delivery/shipments?status=ready', orderId);
  expectOk(await act(urlOf, 'delivery', `${shipment}/dispatch`, { courierId: 'COURIER-12' }));
  await see('SHIPPING');
  expectOk(await act(urlOf, 'delivery', `${shipment}/deliver`, { proofOfDelivery: 'photo://door' }));
  await see('DELIVERED');

  const timeline = await waitFor('every hop in the timeline', async () => {
    const answer = await call(urlOf('tracking'), 'GET', `/orders/${orderId}/timeline`);
    const hops = (answer.body.hops as Json[] | undefined) ?? [];
    return hops.some((hop) => hop.type === 'OrderStatusChanged' && hop.status === 'DELIVERED') && answer.body;
  });
  return { orderId, seen, timeline };
}

function expectOk(answer: { status: number; body: Json }): void {
  if (answer.status !== 200)
    throw new Error(`expected 200, got ${answer.status}: ${JSON.stringify(answer.body)}`);
}

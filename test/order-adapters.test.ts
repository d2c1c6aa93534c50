/**
 * The order context and the two anti-corruption adapters on the real stack: orders placed over
 * HTTP arrive translated on the SCM request topic (v1 and v2 writers alike), storefront-only
 * events are filtered and counted, an untranslatable order is dead-lettered with its reason and
 * shown as 주문보류, SCM progress reaches the order's long-poll, and bad requests write nothing.
 */
import type { RunningPlatform } from '@platform/host';
import { testEndpoints } from '@test/harness/endpoints';
import { call, createTestDeployment, type Json } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';
import { MongoClient } from 'mongodb';

const deployment = createTestDeployment('adapters');
let v2: RunningPlatform;
let v1: RunningPlatform;

const tomorrow = (): string => new Date(Date.now() + 9 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
const orderBody = (overrides: Json = {}): Json => ({
  customerId: 'CUST-1',
  lines: [
    { productCode: 'PRD-BULGOGI-SET', productName: '불고기 정식', quantity: 1, unitPrice: 15900 },
    { productCode: 'PRD-RICE-3PACK', quantity: 2, unitPrice: 4500 },
  ],
  deliveryAddress: {
    recipientName: '김민지',
    phone: '010-1234-5678',
    postalCode: '13487',
    roadAddress: '경기도 성남시 분당구 판교역로 235',
  },
  delivery: { date: tomorrow(), slot: 'DAWN' },
  deliveryMemo: '문 앞에 놓아주세요',
  payment: { method: 'CARD' },
  ...overrides,
});

async function requestsFor(orderId: string) {
  return (await deployment.events('scm.fulfilment-requests')).filter(
    (event) => 'fulfilmentId' in event.data && event.data.fulfilmentId === orderId,
  );
}

beforeAll(async () => {
  // Two storefront instances during a rollout: the old one writes OrderPlaced v1, the new one v2.
  v2 = await deployment.start(['order', 'order-scm-adapter', 'scm-order-adapter'], {
    ORDER_PLACED_VERSION: '2',
  });
  v1 = await deployment.start(['order'], { ORDER_PLACED_VERSION: '1' });
});

afterAll(() => deployment.stop());

describe('order -> SCM', () => {
  it('a v2 order placed over HTTP appears translated on scm.fulfilment-requests', async () => {
    const placed = await call(v2.url, 'POST', '/orders', orderBody(), { 'Idempotency-Key': 'order-v2-0001' });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: 'PLACED', statusLabel: '주문완료', totalAmount: '24900.00' });
    const orderId = String(placed.body.orderId);

    const [requested] = await waitFor('the fulfilment request', async () => {
      const found = await requestsFor(orderId);
      return found.length > 0 && found;
    });
    expect(requested).toMatchObject({
      type: 'FulfilmentRequested',
      version: 2,
      data: {
        fulfilmentId: orderId,
        // Lines merged per SKU: the set's rice and the two 3-packs.
        lines: [
          { sku: 'SKU-BULGOGI-300G', quantity: 1 },
          { sku: 'SKU-RICE-210G', quantity: 7 },
          { sku: 'SKU-DOENJANG-SOUP', quantity: 1 },
        ],
        destination: { postalCode: '13487', courierNote: '문 앞에 놓아주세요' },
        dispatchWave: `WAVE-${tomorrow().replaceAll('-', '')}-DAWN`,
        deliveryZone: 'GYEONGGI-PANGYO',
        cookedToOrderSkus: ['SKU-BULGOGI-300G', 'SKU-DOENJANG-SOUP'],
      },
      metadata: { producer: 'order-scm-adapter', correlationId: orderId },
    });
  });

  it('a v1 order (from the instance not yet upgraded) translates the same way, without a courier note', async () => {
    const placed = await call(v1.url, 'POST', '/orders', orderBody(), { 'Idempotency-Key': 'order-v1-0001' });
    expect(placed.status).toBe(201);
    const orderId = String(placed.body.orderId);
    const source = await waitFor('OrderPlaced on order.events', async () =>
      (await deployment.records(`${deployment.namespace}order.events`)).find(
        (record) => record.key === orderId && record.headers['event-type'] === 'OrderPlaced',
      ),
    );
    expect(source.headers['event-version']).toBe('1');
    const [requested] = await waitFor('the fulfilment request', async () => {
      const found = await requestsFor(orderId);
      return found.length > 0 && found;
    });
    expect(requested).toMatchObject({
      type: 'FulfilmentRequested',
      data: { fulfilmentId: orderId, destination: { courierNote: null }, deliveryZone: 'GYEONGGI-PANGYO' },
    });
  });

  it('storefront-only events (coupons) are filtered before SCM and counted', async () => {
    const placed = await call(v2.url, 'POST', '/orders', orderBody({ couponCode: 'WELCOME3000' }), {
      'Idempotency-Key': 'order-coupon-0001',
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ totalAmount: '21900.00', discount: '3000.00' });
    const orderId = String(placed.body.orderId);
    await waitFor('CouponRedeemed on order.events', async () =>
      (await deployment.events('order.events')).some(
        (event) => event.type === 'CouponRedeemed' && event.data.orderId === orderId,
      ),
    );
    const filtered = await waitFor('the adapter to count a filtered message', async () => {
      const metrics = await (await fetch(`${v2.metricsUrl}/metrics`)).text();
      const line = metrics
        .split('\n')
        .find(
          (entry) =>
            entry.startsWith('scm_messages_filtered_total') &&
            entry.includes(`group="${deployment.namespace}order-scm-adapter"`),
        );
      return line !== undefined && Number(line.split(' ').pop()) >= 1 && line;
    });
    expect(filtered).toContain(`topic="${deployment.namespace}order.events"`);
    await waitFor('the order to be translated', async () => (await requestsFor(orderId)).length > 0);
    // Nothing but the fulfilment request ever reached SCM for this order.
    expect((await requestsFor(orderId)).map((event) => event.type)).toEqual(['FulfilmentRequested']);
  });

  it('an unknown product code lands in the DLQ with its reason, and the order shows 주문보류', async () => {
    const placed = await call(
      v2.url,
      'POST',
      '/orders',
      orderBody({ lines: [{ productCode: 'PRD-PIZZA', quantity: 1, unitPrice: 20000 }] }),
      { 'Idempotency-Key': 'order-pizza-0001' },
    );
    expect(placed.status).toBe(201);
    const orderId = String(placed.body.orderId);

    const rejected = await call(v2.url, 'GET', `/orders/${orderId}?wait=20&status=PLACED`);
    expect(rejected.body).toMatchObject({ status: 'REJECTED', statusLabel: '주문보류' });

    const letters = await waitFor('the dead letter', async () => {
      const found = (await deployment.records(`${deployment.namespace}order-scm-adapter.dlq`)).filter(
        (record) => record.key === orderId,
      );
      return found.length > 0 && found;
    });
    const headers = letters[0]?.headers ?? {};
    expect(Object.values(headers).join(' ')).toContain(
      'UNKNOWN_PRODUCT_CODE at data.lines[0].productCode: PRD-PIZZA',
    );
    expect(await requestsFor(orderId)).toEqual([
      expect.objectContaining({
        type: 'FulfilmentRejected',
        data: {
          fulfilmentId: orderId,
          reason: 'UNKNOWN_PRODUCT_CODE',
          field: 'data.lines[0].productCode',
          detail: 'PRD-PIZZA',
        },
      }),
    ]);
  });
});

describe('the adapter’s map, changed at run time', () => {
  it('an order rejected for an unknown product translates once the map knows it and its letter is replayed', async () => {
    const placed = await call(
      v2.url,
      'POST',
      '/orders',
      orderBody({ lines: [{ productCode: 'PRD-TTEOKBOKKI', quantity: 2, unitPrice: 6000 }] }),
      { 'Idempotency-Key': 'order-tteok-0001' },
    );
    const orderId = String(placed.body.orderId);
    expect((await call(v2.url, 'GET', `/orders/${orderId}?wait=20&status=PLACED`)).body.status).toBe(
      'REJECTED',
    );

    // The source event waits in the adapter's dead-letter topic, with its reason.
    const group = `${deployment.namespace}order-scm-adapter`;
    const letter = await waitFor('the letter in the DLQ', async () => {
      const listed = await call(v2.url, 'GET', `/admin/dead-letters/${group}`);
      return ((listed.body.letters ?? []) as Json[]).find((entry) => entry.key === orderId);
    });
    // An operator teaches the adapter the new product; a broken update is refused.
    const refusedUpdate = await call(v2.url, 'POST', '/adapters/order-scm/mapping/updates', {
      type: 'ProductMapped',
      productCode: 'PRD-TTEOKBOKKI',
      components: [{ sku: 'SKU-TTEOKBOKKI', quantity: 1 }],
    });
    expect(refusedUpdate.status).toBe(409);
    expect(refusedUpdate.body.detail).toBe('SKU SKU-TTEOKBOKKI is not defined');
    const invalid = await call(v2.url, 'POST', '/adapters/order-scm/mapping/updates', {
      type: 'SkuDefined',
      sku: 'x',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: '/definition' })]),
    );
    for (const update of [
      { type: 'SkuDefined', sku: 'SKU-TTEOKBOKKI', definition: { name: '떡볶이', cookedToOrder: true } },
      {
        type: 'ProductMapped',
        productCode: 'PRD-TTEOKBOKKI',
        components: [{ sku: 'SKU-TTEOKBOKKI', quantity: 1 }],
      },
    ]) {
      expect((await call(v2.url, 'POST', '/adapters/order-scm/mapping/updates', update)).status).toBe(200);
    }

    const replayed = await call(v2.url, 'POST', `/admin/dead-letters/${group}/replay`, { ids: [letter.id] });
    expect(replayed.status).toBe(200);

    const requested = await waitFor('the translated request', async () =>
      (await requestsFor(orderId)).find((event) => event.type === 'FulfilmentRequested'),
    );
    expect(requested.data).toMatchObject({
      fulfilmentId: orderId,
      lines: [{ sku: 'SKU-TTEOKBOKKI', quantity: 2 }],
      cookedToOrderSkus: ['SKU-TTEOKBOKKI'],
    });
  });
});

describe('SCM -> order status', () => {
  it('a status event from SCM reaches the order, and the long-poll returns on the change', async () => {
    const placed = await call(v2.url, 'POST', '/orders', orderBody(), {
      'Idempotency-Key': 'order-status-0001',
    });
    const orderId = String(placed.body.orderId);
    await waitFor('the fulfilment request', async () => (await requestsFor(orderId)).length > 0);

    // Clients wait for news of the order on both storefront instances while inventory reserves
    // its stock. Only one of them consumes the order's update; the other sees it by re-reading.
    const started = Date.now();
    const polled = [v2, v1].map((instance) => call(instance.url, 'GET', `/orders/${orderId}?wait=25`));
    await publishAsInventory(orderId);
    for (const answer of await Promise.all(polled)) {
      expect(answer.headers.get('status-changed')).toBe('true');
      expect(answer.body).toMatchObject({ status: 'RECEIVED', statusLabel: '주문접수' });
    }
    expect(Date.now() - started).toBeLessThan(20_000);

    // The courier leaves; then a late StockReserved arrives: it never moves the order back.
    await publishAsDelivery(orderId);
    await call(v2.url, 'GET', `/orders/${orderId}?wait=20&status=RECEIVED`);
    await publishAsInventory(orderId);
    await waitFor('the late update to reach the storefront', async () => {
      const updates = (await deployment.events('order.status-updates')).filter(
        (event) => event.type === 'OrderStatusChanged' && event.data.orderId === orderId,
      );
      return updates.length === 3;
    });
    // Were it applied, this long-poll would return the change within its wait.
    const again = await call(v2.url, 'GET', `/orders/${orderId}?wait=3&status=SHIPPING`);
    expect(again.body).toMatchObject({
      status: 'SHIPPING',
      history: [{ status: 'PLACED' }, { status: 'RECEIVED' }, { status: 'SHIPPING' }],
    });
  });

  it('a long-poll with no change returns the unchanged order when the wait is over', async () => {
    // Placed by the v1 instance's storefront only; no SCM context runs here to move it on.
    const placed = await call(
      v2.url,
      'POST',
      '/orders',
      orderBody({ lines: [{ productCode: 'PRD-NOPE', quantity: 1, unitPrice: 1 }] }),
      {
        'Idempotency-Key': 'order-quiet-0001',
      },
    );
    const orderId = String(placed.body.orderId);
    const rejected = await call(v2.url, 'GET', `/orders/${orderId}?wait=20&status=PLACED`);
    expect(rejected.body.status).toBe('REJECTED');
    const started = Date.now();
    const answer = await call(v2.url, 'GET', `/orders/${orderId}?wait=1`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('status-changed')).toBe('false');
    expect(answer.body).toMatchObject({ orderId, status: 'REJECTED' });
  });
});

describe('the storefront API', () => {
  it('a duplicate POST with the same Idempotency-Key returns the first order', async () => {
    const first = await call(v2.url, 'POST', '/orders', orderBody(), { 'Idempotency-Key': 'order-dup-0001' });
    const second = await call(v2.url, 'POST', '/orders', orderBody(), {
      'Idempotency-Key': 'order-dup-0001',
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.orderId).toBe(first.body.orderId);
    const reused = await call(v2.url, 'POST', '/orders', orderBody({ customerId: 'CUST-2' }), {
      'Idempotency-Key': 'order-dup-0001',
    });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ errors: [{ field: 'Idempotency-Key' }] });
    await waitFor(
      'the order to be translated once',
      async () => (await requestsFor(String(first.body.orderId))).length > 0,
    );
    // One order placed. (The outbox publishes at least once: both storefront instances' relays
    // may send the same pending event, with the same id, which every consumer drops.)
    const placedEvents = (await deployment.events('order.events')).filter(
      (event) => event.type === 'OrderPlaced' && event.data.orderId === first.body.orderId,
    );
    expect(new Set(placedEvents.map((event) => event.metadata.eventId)).size).toBe(1);
    const orders = await call(v2.url, 'GET', '/orders?customerId=CUST-1');
    expect(
      (orders.body.orders as Json[]).filter((order) => order.orderId === first.body.orderId),
    ).toHaveLength(1);
    const requests = await requestsFor(String(first.body.orderId));
    expect(new Set(requests.map((event) => event.metadata.eventId)).size).toBe(1);
  });

  it.each<[string, unknown, string]>([
    ['an unknown field', orderBody({ giftWrap: true }), '/giftWrap'],
    ['empty lines', orderBody({ lines: [] }), '/lines'],
    [
      'a zero quantity',
      orderBody({ lines: [{ productCode: 'PRD-KIMCHI', quantity: 0, unitPrice: 1 }] }),
      '/lines/0/quantity',
    ],
    [
      'a negative quantity',
      orderBody({ lines: [{ productCode: 'PRD-KIMCHI', quantity: -2, unitPrice: 1 }] }),
      '/lines/0/quantity',
    ],
    [
      'a quantity of the wrong type',
      orderBody({ lines: [{ productCode: 'PRD-KIMCHI', quantity: '2', unitPrice: 1 }] }),
      '/lines/0/quantity',
    ],
    ['an unknown slot', orderBody({ delivery: { date: tomorrow(), slot: 'LUNCH' } }), '/delivery/slot'],
    ['a date in the past', orderBody({ delivery: { date: '2020-01-01', slot: 'DAY' } }), '/delivery/date'],
    [
      'a malformed postal code',
      orderBody({
        deliveryAddress: { recipientName: 'a', phone: '010-1234-5678', postalCode: '1234', roadAddress: 'x' },
      }),
      '/deliveryAddress/postalCode',
    ],
    ['a missing payment', { ...orderBody(), payment: undefined }, '/payment'],
  ])('%s: 400 naming the field, nothing written', async (_case, body, field) => {
    const before = await storedOrders();
    const answer = await call(v2.url, 'POST', '/orders', body);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(await storedOrders()).toBe(before);
  });

  it('malformed JSON and oversized bodies are refused and write nothing', async () => {
    const before = await storedOrders();
    expect((await call(v2.url, 'POST', '/orders', '{"customerId": ')).status).toBe(400);
    const huge = orderBody({ deliveryMemo: 'x'.repeat(100 * 1024) });
    expect((await call(v2.url, 'POST', '/orders', huge)).status).toBe(413);
    expect(await storedOrders()).toBe(before);
  });

  it('an unknown order is a 404 problem', async () => {
    const answer = await call(v2.url, 'GET', '/orders/ORD-20990101-NOPE');
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ status: 404, title: 'Order not found' });
  });

  it('cancel after dispatch and address changes after dispatch are refused with the reason', async () => {
    const placed = await call(v2.url, 'POST', '/orders', orderBody(), {
      'Idempotency-Key': 'order-late-0001',
    });
    const orderId = String(placed.body.orderId);
    await publishAsDelivery(orderId);
    await call(v2.url, 'GET', `/orders/${orderId}?wait=20&status=PLACED`);
    const cancel = await call(v2.url, 'POST', `/orders/${orderId}/cancel`, { comment: '너무 늦어요' });
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toBe(
      '이미 배송이 시작되어 취소할 수 없습니다 (the order has left with the courier)',
    );
    const readdress = await call(v2.url, 'PUT', `/orders/${orderId}/delivery-address`, {
      recipientName: '김민지',
      phone: '010-1234-5678',
      postalCode: '06236',
      roadAddress: '서울특별시 강남구 테헤란로 123',
    });
    expect(readdress.status).toBe(409);
  });

  it('a cancel before shipping is accepted and reaches SCM as FulfilmentCancelled', async () => {
    const placed = await call(v2.url, 'POST', '/orders', orderBody(), {
      'Idempotency-Key': 'order-cancel-0001',
    });
    const orderId = String(placed.body.orderId);
    const cancel = await call(v2.url, 'POST', `/orders/${orderId}/cancel`, { comment: '다음에 살게요' });
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({
      cancellation: { reason: 'CUSTOMER_REQUEST', comment: '다음에 살게요' },
    });
    const types = await waitFor('the cancellation in SCM', async () => {
      const found = (await requestsFor(orderId)).map((event) => event.type);
      return found.includes('FulfilmentCancelled') && found;
    });
    expect(types).toEqual(['FulfilmentRequested', 'FulfilmentCancelled']);
  });
});

async function storedOrders(): Promise<number> {
  const mongo = await new MongoClient(testEndpoints().mongoUrl).connect();
  try {
    return await mongo.db(deployment.database).collection('order_orders').countDocuments();
  } finally {
    await mongo.close();
  }
}

const publishAsInventory = (orderId: string) =>
  deployment.publish('inventory', {
    type: 'StockReserved',
    version: 1,
    data: { fulfilmentId: orderId, lines: [{ sku: 'SKU-BULGOGI-300G', quantity: 1 }] },
  });

const publishAsDelivery = (orderId: string) =>
  deployment.publish('delivery', {
    type: 'ShipmentDispatched',
    version: 1,
    data: {
      fulfilmentId: orderId,
      shipmentId: `SHP-${orderId}`,
      courierId: 'COURIER-1',
      estimatedArrivalAt: null,
    },
  });

/**
 * Inventory on the real stack, with two instances sharing the group's partitions: all-or-none
 * reservations, shortages resolved by goods received, releases when delivery cancels, stock leaving
 * on dispatch, and concurrent requests for the last units never over-reserving.
 */
import type { Publication } from '@runtime/decider';
import type { RunningPlatform } from '@platform/host';
import { call, createTestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

const deployment = createTestDeployment('inventory');
let first: RunningPlatform;
let second: RunningPlatform;

const destination = {
  contactName: '김민지',
  contactPhone: '010-1234-5678',
  postalCode: '06236',
  addressLine: '서울특별시 강남구 테헤란로 123',
  addressDetail: null,
  courierNote: null,
};

const requested = (fulfilmentId: string, lines: { sku: string; quantity: number }[]): Publication => ({
  type: 'FulfilmentRequested',
  version: 2,
  data: {
    fulfilmentId,
    lines,
    destination,
    deliveryWindow: { earliest: new Date('2030-01-01T15:00:00Z'), latest: new Date('2030-01-01T22:00:00Z') },
    dispatchWave: 'WAVE-20300102-DAWN',
    deliveryZone: 'SEOUL-SOUTHEAST',
    cookedToOrderSkus: [],
  },
});

async function inventoryEventsFor(fulfilmentId: string) {
  return (await deployment.events('scm.inventory-events')).filter(
    (event) => 'fulfilmentId' in event.data && event.data.fulfilmentId === fulfilmentId,
  );
}

const receive = (platform: RunningPlatform, sku: string, quantity: number, key?: string) =>
  call(
    platform.url,
    'POST',
    `/inventory/stock/${sku}/receipts`,
    { quantity },
    key ? { 'Idempotency-Key': key } : {},
  );

const stockOf = async (sku: string) => (await call(first.url, 'GET', `/inventory/stock/${sku}`)).body;

beforeAll(async () => {
  first = await deployment.start(['inventory']);
  second = await deployment.start(['inventory']);
});

afterAll(() => deployment.stop());

it('reserves every line or none: a shortage names what is missing and resolves when stock arrives', async () => {
  expect((await receive(first, 'SKU-A', 5)).status).toBe(201);
  expect((await receive(first, 'SKU-B', 1)).status).toBe(201);

  await deployment.publish(
    'order-scm-adapter',
    requested('F-SHORT', [
      { sku: 'SKU-A', quantity: 2 },
      { sku: 'SKU-B', quantity: 3 },
    ]),
  );
  const [shortage] = await waitFor('the shortage', async () => {
    const found = await inventoryEventsFor('F-SHORT');
    return found.length > 0 && found;
  });
  expect(shortage).toMatchObject({
    type: 'StockShortage',
    data: { fulfilmentId: 'F-SHORT', shortages: [{ sku: 'SKU-B', requested: 3, available: 1 }] },
  });
  // None of it is held while it waits.
  expect(await stockOf('SKU-A')).toMatchObject({ onHand: 5, reserved: 0, available: 5 });

  // Goods arrive (through the other instance): the waiting request is served at once.
  const receipt = await receive(second, 'SKU-B', 2, 'receipt-b-0001');
  expect(receipt.body).toMatchObject({ sku: 'SKU-B', onHand: 3, reservedNow: ['F-SHORT'] });
  const types = await waitFor('the reservation', async () => {
    const found = (await inventoryEventsFor('F-SHORT')).map((event) => event.type);
    return found.includes('StockReserved') && found;
  });
  expect(types).toEqual(['StockShortage', 'StockReserved']);
  expect(await stockOf('SKU-A')).toMatchObject({ onHand: 5, reserved: 2, available: 3 });
  expect(await stockOf('SKU-B')).toMatchObject({ onHand: 3, reserved: 3, available: 0 });

  // The same receipt retried is counted once.
  const retried = await receive(second, 'SKU-B', 2, 'receipt-b-0001');
  expect(retried.status).toBe(200);
  expect(await stockOf('SKU-B')).toMatchObject({ onHand: 3 });
  const received = (await deployment.events('scm.inventory-events')).filter(
    (event) => event.type === 'StockReceived',
  );
  expect(received.map((event) => event.data)).toEqual(
    expect.arrayContaining([expect.objectContaining({ sku: 'SKU-B', quantity: 2, onHand: 3 })]),
  );
});

it('releases the stock when delivery cancels the shipment, not on the request, which it may refuse', async () => {
  await receive(first, 'SKU-C', 10);
  await deployment.publish('order-scm-adapter', requested('F-CANCEL', [{ sku: 'SKU-C', quantity: 4 }]));
  await deployment.publish('order-scm-adapter', requested('F-SHIP', [{ sku: 'SKU-C', quantity: 3 }]));
  await waitFor('both reserved', async () => (await stockOf('SKU-C')).reserved === 7);

  // The customer asks to cancel both; delivery accepts one, and the other's courier had left.
  const cancelRequest = (fulfilmentId: string): Publication => ({
    type: 'FulfilmentCancelled',
    version: 1,
    data: { fulfilmentId, reason: 'CUSTOMER_REQUEST' },
  });
  await deployment.publish('order-scm-adapter', cancelRequest('F-CANCEL'), cancelRequest('F-SHIP'));
  await deployment.publish(
    'delivery',
    { type: 'ShipmentCancelled', version: 1, data: { fulfilmentId: 'F-CANCEL', reason: 'CUSTOMER_REQUEST' } },
    {
      type: 'ShipmentDispatched',
      version: 1,
      data: { fulfilmentId: 'F-SHIP', shipmentId: 'SHP-F-SHIP', courierId: 'C-1', estimatedArrivalAt: null },
    },
  );
  const released = await waitFor('the release', async () =>
    (await inventoryEventsFor('F-CANCEL')).find((event) => event.type === 'StockReleased'),
  );
  expect(released.data).toEqual({
    fulfilmentId: 'F-CANCEL',
    lines: [{ sku: 'SKU-C', quantity: 4 }],
    reason: 'FULFILMENT_CANCELLED',
  });
  // The dispatched goods left the shelf, though their cancellation was asked for first.
  await waitFor('the goods gone', async () => (await stockOf('SKU-C')).onHand === 7);
  await waitFor('the cancelled stock back', async () => (await stockOf('SKU-C')).reserved === 0);
  expect(await stockOf('SKU-C')).toMatchObject({ onHand: 7, reserved: 0, available: 7 });
  const reservation = await call(first.url, 'GET', '/inventory/reservations/F-SHIP');
  expect(reservation.body).toMatchObject({ status: 'shipped' });
  expect((await inventoryEventsFor('F-SHIP')).map((event) => event.type)).toEqual(['StockReserved']);
});

it('concurrent requests for the last units, across partitions and both instances, never over-reserve', async () => {
  await receive(first, 'SKU-LAST', 5);
  const ids = Array.from({ length: 12 }, (_, i) => `F-LAST-${String(i).padStart(2, '0')}`);
  // Each wants 1 of the last 5 (and 1 of a plentiful SKU, so holds really are all-or-none).
  await receive(first, 'SKU-PLENTY', 100);
  await deployment.publish(
    'order-scm-adapter',
    ...ids.map((id) =>
      requested(id, [
        { sku: 'SKU-PLENTY', quantity: 1 },
        { sku: 'SKU-LAST', quantity: 1 },
      ]),
    ),
  );
  const outcomes = await waitFor(
    'an outcome for every request',
    async () => {
      const events = await deployment.events('scm.inventory-events');
      const outcome = new Map<string, string>();
      for (const event of events) {
        if (
          (event.type === 'StockReserved' || event.type === 'StockShortage') &&
          ids.includes(event.data.fulfilmentId)
        )
          outcome.set(event.data.fulfilmentId, outcome.get(event.data.fulfilmentId) ?? event.type);
      }
      return outcome.size === ids.length && outcome;
    },
    { timeoutMs: 60_000 },
  );
  const reserved = [...outcomes.values()].filter((type) => type === 'StockReserved');
  expect(reserved).toHaveLength(5);
  expect(await stockOf('SKU-LAST')).toMatchObject({ onHand: 5, reserved: 5, available: 0 });
  expect(await stockOf('SKU-PLENTY')).toMatchObject({ onHand: 100, reserved: 5, available: 95 });
  const waiting = await call(second.url, 'GET', '/inventory/reservations?status=waiting');
  expect(waiting.body.reservations).toHaveLength(7);
  // Both instances took part: the group shares the request topic's partitions between them.
  for (const instance of [first, second]) expect(await requestsProcessedBy(instance)).toBeGreaterThan(0);
});

it('refuses bad input with problems naming the field', async () => {
  const negative = await call(first.url, 'POST', '/inventory/stock/SKU-A/receipts', { quantity: -1 });
  expect(negative.status).toBe(400);
  expect(negative.body).toMatchObject({ errors: [{ field: '/quantity' }] });
  const unknown = await call(first.url, 'POST', '/inventory/stock/SKU-A/receipts', {
    quantity: 1,
    colour: 'red',
  });
  expect(unknown.body).toMatchObject({ errors: [{ field: '/colour' }] });
  const belowReserved = await call(first.url, 'PUT', '/inventory/stock/SKU-LAST/count', { onHand: 1 });
  expect(belowReserved.status).toBe(409);
  expect((await call(first.url, 'GET', '/inventory/reservations?status=lost')).body).toMatchObject({
    errors: [{ field: 'status' }],
  });
});

async function requestsProcessedBy(instance: RunningPlatform): Promise<number> {
  const metrics = await (await fetch(`${instance.metricsUrl}/metrics`)).text();
  return metrics
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('scm_messages_processed_total') &&
        line.includes(`topic="${deployment.namespace}scm.fulfilment-requests"`),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

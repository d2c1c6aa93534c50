/**
 * The delivery context alone on the real stack: fulfilment requests (v1 and v2) and packed
 * parcels, written as the order->scm adapter and the warehouse write them, open shipments that
 * dispatchers list by wave and zone, dispatch, deliver and fail over HTTP; what they do reaches
 * `scm.delivery-events`, refusals and bad requests are answered and write nothing, and with
 * auto-advance on, shipments are dispatched and delivered without anyone.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Destination } from '@contracts/generated';
import { placementOf } from '@contracts/topics';
import type { RunningPlatform } from '@platform/host';
import type { Publication } from '@runtime/decider';
import { toOutgoing } from '@runtime/event-writer';
import { RegistryClient, Serde, type DecodedEvent } from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { call, createTestDeployment, type TestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

const deployment = createTestDeployment('delivery');
const automatic = createTestDeployment('delivery-auto');
let platform: RunningPlatform;
let autoPlatform: RunningPlatform;
let upstream: Upstream;
let autoUpstream: Upstream;

const home: Destination = {
  contactName: '김민지',
  contactPhone: '010-1234-5678',
  postalCode: '06236',
  addressLine: '서울특별시 강남구 테헤란로 123',
  addressDetail: '5층',
  courierNote: '문 앞에 놓아주세요',
};
const office: Destination = { ...home, postalCode: '04524', addressLine: '서울특별시 중구 세종대로 110' };
const deliveryWindow = {
  earliest: new Date('2025-01-01T21:00:00.000Z'),
  latest: new Date('2025-01-01T23:00:00.000Z'),
};
const lines = [{ sku: 'SKU-BULGOGI-300G', quantity: 1 }];

/** The upstream contexts' writers for one deployment: its namespaced topics, their subjects. */
interface Upstream {
  requested(fulfilmentId: string, wave?: { dispatchWave: string; deliveryZone: string }): Promise<void>;
  /** A request from an adapter not yet upgraded: no wave, no zone. */
  requestedV1(fulfilmentId: string): Promise<void>;
  destinationChanged(fulfilmentId: string, destination: Destination, deliveryZone: string): Promise<void>;
  cancelled(fulfilmentId: string): Promise<void>;
  packed(fulfilmentId: string): Promise<void>;
  close(): Promise<void>;
}

async function upstreamOf(target: TestDeployment): Promise<Upstream> {
  const endpoints = testEndpoints();
  const serde = new Serde({ registry: new RegistryClient({ url: endpoints.schemaRegistryUrl }) });
  const namespaced = (name: string): string => `${target.namespace}${name}`;
  await serde.register({
    types: ['FulfilmentRequested', 'FulfilmentDestinationChanged', 'FulfilmentCancelled', 'OrderPacked'],
    topicOf: (type) => namespaced(placementOf(type).topic),
  });
  const producer: Producer = new Kafka({
    clientId: 'delivery-upstream-stand-in',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  }).producer();
  await producer.connect();

  async function publish(fulfilmentId: string, publication: Publication): Promise<void> {
    const outgoing = toOutgoing(
      serde,
      publication,
      {
        eventId: randomUUID(),
        eventType: publication.type,
        occurredAt: new Date(),
        correlationId: fulfilmentId,
        causationId: null,
        producer: publication.type === 'OrderPacked' ? 'warehouse' : 'order-scm-adapter',
        schemaVersion: publication.version,
      },
      namespaced,
    );
    await producer.send({
      topic: outgoing.topic,
      messages: [{ key: outgoing.key, value: outgoing.value, headers: outgoing.headers }],
    });
  }

  return {
    requested: (fulfilmentId, wave = { dispatchWave: 'WAVE-20250102-DAWN', deliveryZone: 'SEOUL-GANGNAM' }) =>
      publish(fulfilmentId, {
        type: 'FulfilmentRequested',
        version: 2,
        data: { fulfilmentId, lines, destination: home, deliveryWindow, ...wave, cookedToOrderSkus: [] },
      }),
    requestedV1: (fulfilmentId) =>
      publish(fulfilmentId, {
        type: 'FulfilmentRequested',
        version: 1,
        data: { fulfilmentId, lines, destination: home, deliveryWindow },
      }),
    destinationChanged: (fulfilmentId, destination, deliveryZone) =>
      publish(fulfilmentId, {
        type: 'FulfilmentDestinationChanged',
        version: 2,
        data: { fulfilmentId, destination, deliveryZone },
      }),
    cancelled: (fulfilmentId) =>
      publish(fulfilmentId, {
        type: 'FulfilmentCancelled',
        version: 1,
        data: { fulfilmentId, reason: 'CUSTOMER_REQUEST' },
      }),
    packed: (fulfilmentId) =>
      publish(fulfilmentId, {
        type: 'OrderPacked',
        version: 1,
        data: { fulfilmentId, packerId: 'PACKER-3', parcelCount: 2 },
      }),
    close: () => producer.disconnect(),
  };
}

beforeAll(async () => {
  // One after the other: provisioning two namespaces' topics at once trips up a single broker.
  platform = await deployment.start(['delivery']);
  // A deployment of its own: its couriers must not touch the shipments the other tests drive.
  autoPlatform = await automatic.start(['delivery'], { AUTO_ADVANCE_MS: '200' });
  [upstream, autoUpstream] = await Promise.all([upstreamOf(deployment), upstreamOf(automatic)]);
});

afterAll(async () => {
  await Promise.all([upstream?.close(), autoUpstream?.close()]);
  await Promise.all([deployment.stop(), automatic.stop()]);
});

const shipment = (base: string, fulfilmentId: string) =>
  call(base, 'GET', `/delivery/shipments/SHP-${fulfilmentId}`);

async function untilStatus(fulfilmentId: string, status: string, base = platform.url) {
  return waitFor(`shipment ${fulfilmentId} ${status}`, async () => {
    const answer = await shipment(base, fulfilmentId);
    return answer.status === 200 && answer.body.status === status && answer.body;
  });
}

async function deliveryEvents(
  fulfilmentId: string,
  count: number,
  from = deployment,
): Promise<DecodedEvent[]> {
  return waitFor(`${count} delivery event(s) for ${fulfilmentId}`, async () => {
    const found = (await from.events('scm.delivery-events')).filter(
      (event) => 'fulfilmentId' in event.data && event.data.fulfilmentId === fulfilmentId,
    );
    return found.length >= count && found;
  });
}

describe('a shipment from packed parcel to the customer', () => {
  it('a v2 request and its parcel make a ready shipment; dispatch and delivery are published once', async () => {
    const id = 'ORD-20250102-DLV00001';
    await upstream.requested(id);
    await upstream.packed(id);
    const ready = await untilStatus(id, 'ready');
    expect(ready).toMatchObject({
      shipmentId: `SHP-${id}`,
      dispatchWave: 'WAVE-20250102-DAWN',
      deliveryZone: 'SEOUL-GANGNAM',
      parcelCount: 2,
      destination: { postalCode: '06236', courierNote: '문 앞에 놓아주세요' },
      deliveryWindow: { earliest: '2025-01-01T21:00:00.000Z', latest: '2025-01-01T23:00:00.000Z' },
    });

    const listed = await call(
      platform.url,
      'GET',
      '/delivery/shipments?wave=WAVE-20250102-DAWN&zone=SEOUL-GANGNAM',
    );
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({
      groups: [
        {
          dispatchWave: 'WAVE-20250102-DAWN',
          deliveryZone: 'SEOUL-GANGNAM',
          shipments: [expect.objectContaining({ fulfilmentId: id, status: 'ready' })],
        },
      ],
    });

    const dispatched = await call(platform.url, 'POST', `/delivery/shipments/SHP-${id}/dispatch`, {
      courierId: 'COURIER-7',
      estimatedArrivalAt: '2025-01-02T07:30:00+09:00',
    });
    expect(dispatched.status).toBe(200);
    expect(dispatched.body).toMatchObject({
      status: 'dispatched',
      courierId: 'COURIER-7',
      estimatedArrivalAt: '2025-01-01T22:30:00.000Z',
    });

    // Another courier for a shipment already on the road: refused with the reason.
    const again = await call(platform.url, 'POST', `/delivery/shipments/SHP-${id}/dispatch`, {
      courierId: 'COURIER-8',
    });
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('already dispatched with courier COURIER-7');

    const key = { 'Idempotency-Key': 'deliver-DLV00001' };
    const body = { proofOfDelivery: 'photo://pod/DLV00001.jpg' };
    const delivered = await call(platform.url, 'POST', `/delivery/shipments/SHP-${id}/deliver`, body, key);
    expect(delivered.status).toBe(200);
    expect(delivered.body).toMatchObject({
      status: 'delivered',
      proofOfDelivery: 'photo://pod/DLV00001.jpg',
    });
    const retried = await call(platform.url, 'POST', `/delivery/shipments/SHP-${id}/deliver`, body, key);
    expect(retried.status).toBe(200);
    expect(retried.body.version).toBe(delivered.body.version);

    const events = await deliveryEvents(id, 2);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'ShipmentDispatched',
        data: {
          fulfilmentId: id,
          shipmentId: `SHP-${id}`,
          courierId: 'COURIER-7',
          estimatedArrivalAt: new Date('2025-01-01T22:30:00.000Z'),
        },
        metadata: expect.objectContaining({ producer: 'delivery', correlationId: id }),
      }),
      expect.objectContaining({
        type: 'ShipmentDelivered',
        data: {
          fulfilmentId: id,
          shipmentId: `SHP-${id}`,
          courierId: 'COURIER-7',
          proofOfDelivery: 'photo://pod/DLV00001.jpg',
        },
      }),
    ]);
  });

  it('parcel first, then a v1 request: ready without wave or zone; failing before dispatch names no shipment', async () => {
    const id = 'ORD-20250102-DLV00002';
    await upstream.packed(id);
    await untilStatus(id, 'awaiting-request');
    await upstream.requestedV1(id);
    const ready = await untilStatus(id, 'ready');
    expect(ready).toMatchObject({ dispatchWave: null, deliveryZone: null, parcelCount: 2 });

    const listed = await call(platform.url, 'GET', '/delivery/shipments?status=ready');
    expect(listed.status).toBe(200);
    const groups = listed.body.groups as { dispatchWave: unknown; shipments: { fulfilmentId: string }[] }[];
    // Shipments without a wave come last, in a group of their own.
    expect(groups.at(-1)).toMatchObject({ dispatchWave: null, deliveryZone: null });
    expect(groups.at(-1)?.shipments.map((entry) => entry.fulfilmentId)).toContain(id);

    const failed = await call(platform.url, 'POST', `/delivery/shipments/SHP-${id}/fail`, {
      reason: 'NO_COURIER_AVAILABLE',
      detail: '폭설로 배송 불가',
    });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ status: 'failed', failure: { reason: 'NO_COURIER_AVAILABLE' } });
    const [event] = await deliveryEvents(id, 1);
    expect(event).toMatchObject({
      type: 'DeliveryFailed',
      data: {
        fulfilmentId: id,
        shipmentId: null,
        reason: 'NO_COURIER_AVAILABLE',
        detail: '폭설로 배송 불가',
      },
    });
  });

  it('a new destination moves the shipment to its zone; after a cancellation dispatch is refused', async () => {
    const id = 'ORD-20250102-DLV00003';
    await upstream.requested(id, { dispatchWave: 'WAVE-20250102-DAY', deliveryZone: 'SEOUL-GANGNAM' });
    await untilStatus(id, 'awaiting-parcel');
    await upstream.destinationChanged(id, office, 'SEOUL-CENTRAL');
    await waitFor(
      'the new zone',
      async () => (await shipment(platform.url, id)).body.deliveryZone === 'SEOUL-CENTRAL',
    );
    await upstream.cancelled(id);
    await upstream.packed(id);
    // The parcel is still recorded (the warehouse must unpack it), but the shipment stays cancelled.
    const cancelled = await waitFor('the parcel of the cancelled shipment', async () => {
      const answer = await shipment(platform.url, id);
      return answer.body.parcelCount === 2 && answer.body;
    });
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      cancellationReason: 'CUSTOMER_REQUEST',
      destination: { postalCode: '04524' },
    });

    const dispatch = await call(platform.url, 'POST', `/delivery/shipments/SHP-${id}/dispatch`, {
      courierId: 'COURIER-7',
    });
    expect(dispatch.status).toBe(409);
    expect(dispatch.body).toMatchObject({ code: 'CONFLICT' });
    expect(dispatch.body.detail).toContain('the fulfilment was cancelled (CUSTOMER_REQUEST)');

    // Not open work, so not in the default list; asked for, it is there in its new zone.
    const open = await call(platform.url, 'GET', '/delivery/shipments?wave=WAVE-20250102-DAY');
    expect(open.body).toMatchObject({ total: 0, groups: [] });
    const asked = await call(
      platform.url,
      'GET',
      '/delivery/shipments?wave=WAVE-20250102-DAY&status=cancelled,failed',
    );
    expect(asked.body).toMatchObject({
      total: 1,
      groups: [{ deliveryZone: 'SEOUL-CENTRAL', shipments: [expect.objectContaining({ fulfilmentId: id })] }],
    });
    // The one event it wrote: inventory puts the stock back on the shelf on it.
    const written = await deliveryEvents(id, 1);
    expect(written.map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'ShipmentCancelled', data: { fulfilmentId: id, reason: 'CUSTOMER_REQUEST' } },
    ]);
  });

  it('the wave summary counts shipments by status per wave and zone', async () => {
    await upstream.requested('ORD-20250103-DLV00004', {
      dispatchWave: 'WAVE-20250103-DAWN',
      deliveryZone: 'BUSAN',
    });
    await upstream.requested('ORD-20250103-DLV00005', {
      dispatchWave: 'WAVE-20250103-DAWN',
      deliveryZone: 'BUSAN',
    });
    await upstream.packed('ORD-20250103-DLV00005');
    await untilStatus('ORD-20250103-DLV00004', 'awaiting-parcel');
    await untilStatus('ORD-20250103-DLV00005', 'ready');
    const summary = await call(platform.url, 'GET', '/delivery/waves?wave=WAVE-20250103-DAWN');
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({
      truncated: false,
      waves: [
        {
          dispatchWave: 'WAVE-20250103-DAWN',
          deliveryZone: 'BUSAN',
          total: 2,
          byStatus: {
            'awaiting-parcel': 1,
            'awaiting-request': 0,
            ready: 1,
            dispatched: 0,
            delivered: 0,
            failed: 0,
            cancelled: 0,
          },
        },
      ],
    });
  });
});

describe('bad requests', () => {
  const id = 'ORD-20250102-DLV00006';
  const path = `/delivery/shipments/SHP-${id}`;

  beforeAll(async () => {
    await upstream.requested(id);
    await upstream.packed(id);
    await untilStatus(id, 'ready');
  });

  it.each<[string, string, unknown, string]>([
    ['an unknown field', 'dispatch', { courierId: 'COURIER-1', giftWrap: true }, '/giftWrap'],
    ['no courier', 'dispatch', { estimatedArrivalAt: '2025-01-02T06:00:00Z' }, '/courierId'],
    ['a courier id with spaces', 'dispatch', { courierId: 'COURIER 1' }, '/courierId'],
    [
      'an arrival without a zone',
      'dispatch',
      { courierId: 'COURIER-1', estimatedArrivalAt: '2025-01-02 06:00' },
      '/estimatedArrivalAt',
    ],
    ['an UNKNOWN failure reason', 'fail', { reason: 'UNKNOWN' }, '/reason'],
    ['no failure reason', 'fail', { detail: '?' }, '/reason'],
    ['a proof that is not text', 'deliver', { proofOfDelivery: 42 }, '/proofOfDelivery'],
  ])('%s: 400 naming the field, nothing written', async (_case, command, body, field) => {
    const before = await shipment(platform.url, id);
    const answer = await call(platform.url, 'POST', `${path}/${command}`, body);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect((await shipment(platform.url, id)).body).toEqual(before.body);
  });

  it('an unknown status filter is a 400 naming the query parameter', async () => {
    const answer = await call(platform.url, 'GET', '/delivery/shipments?status=ready,lost');
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([expect.objectContaining({ field: 'status' })]);
  });

  it('delivering a shipment not yet dispatched is refused with the reason', async () => {
    const answer = await call(platform.url, 'POST', `${path}/deliver`);
    expect(answer.status).toBe(409);
    expect(answer.body.detail).toContain('it has not been dispatched yet');
  });

  it('unknown shipments are 404 problems, to reads and commands alike', async () => {
    for (const [method, target] of [
      ['GET', '/delivery/shipments/SHP-ORD-20990101-NOPE'],
      ['GET', '/delivery/shipments/ORD-20990101-NOPE'],
      ['POST', '/delivery/shipments/SHP-ORD-20990101-NOPE/deliver'],
    ] as const) {
      const answer = await call(platform.url, method, target);
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ title: 'Shipment not found' });
    }
  });
});

describe('auto-advance', () => {
  it('dispatches a ready shipment and delivers it, each after the delay, once', async () => {
    const id = 'ORD-20250102-DLV00007';
    await autoUpstream.requested(id);
    await autoUpstream.packed(id);
    const delivered = await untilStatus(id, 'delivered', autoPlatform.url);
    expect(delivered).toMatchObject({ courierId: 'AUTO-COURIER', proofOfDelivery: 'auto: left at the door' });
    const readyAt = Math.max(
      Date.parse(String(delivered.requestedAt)),
      Date.parse(String(delivered.packedAt)),
    );
    expect(Date.parse(String(delivered.dispatchedAt)) - readyAt).toBeGreaterThanOrEqual(200);
    expect(
      Date.parse(String(delivered.deliveredAt)) - Date.parse(String(delivered.dispatchedAt)),
    ).toBeGreaterThanOrEqual(200);

    const events = await deliveryEvents(id, 2, automatic);
    expect(events.map((event) => event.type)).toEqual(['ShipmentDispatched', 'ShipmentDelivered']);
    expect(events[1]).toMatchObject({
      data: { courierId: 'AUTO-COURIER', proofOfDelivery: 'auto: left at the door' },
    });
  });
});

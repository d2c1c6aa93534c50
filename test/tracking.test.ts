/**
 * The tracking read model on the real stack: events of one order, written onto the seven topics
 * as their writers would (out of order, one of them twice, and goods received that belong to no
 * order), come back as one timeline in the order things happened, with durations and stages.
 */
import { randomUUID } from 'node:crypto';
import { placementOf } from '@contracts/topics';
import type { RunningPlatform } from '@platform/host';
import type { Publication } from '@runtime/decider';
import { toOutgoing } from '@runtime/event-writer';
import type { OutgoingEvent } from '@runtime/outbox';
import { RegistryClient, Serde } from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { call, createTestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';
import { Kafka, logLevel, type Producer } from 'kafkajs';

const deployment = createTestDeployment('tracking');
const serde = new Serde({ registry: new RegistryClient({ url: testEndpoints().schemaRegistryUrl }) });
const kafka = new Kafka({
  clientId: 'tracking-writers',
  brokers: testEndpoints().kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
let producer: Producer;
let platform: RunningPlatform;

const orderId = 'ORD-20250102-TRACK001';
const fulfilmentId = orderId;
const start = Date.parse('2025-01-02T03:00:00.000Z');
const at = (minutes: number): Date => new Date(start + minutes * 60_000);
const iso = (minutes: number): string => at(minutes).toISOString();

const producers: Record<string, string> = {
  'order.events': 'order',
  'scm.fulfilment-requests': 'order-scm-adapter',
  'scm.inventory-events': 'inventory',
  'scm.production-events': 'production',
  'scm.warehouse-events': 'warehouse',
  'scm.delivery-events': 'delivery',
  'order.status-updates': 'scm-order-adapter',
};

/** What a writer publishes, `minutes` after the order was placed. */
interface Planned {
  readonly eventId: string;
  readonly publication: Publication;
  readonly minutes: number;
}
const written = (publication: Publication, minutes: number): Planned => ({
  eventId: randomUUID(),
  publication,
  minutes,
});

/** A planned event as its writer would put it on its (namespaced) topic; needs its schema registered. */
function outgoing({ eventId, publication, minutes }: Planned): OutgoingEvent {
  const { topic } = placementOf(publication.type);
  return toOutgoing(
    serde,
    publication,
    {
      eventId,
      eventType: publication.type,
      occurredAt: at(minutes),
      correlationId: orderId,
      causationId: null,
      producer: producers[topic] ?? 'unknown',
      schemaVersion: publication.version,
    },
    (name) => `${deployment.namespace}${name}`,
  );
}

async function send(...planned: Planned[]): Promise<void> {
  for (const event of planned.map(outgoing))
    await producer.send({
      topic: event.topic,
      messages: [{ key: event.key, value: event.value, headers: event.headers }],
    });
}

const stock = [
  { sku: 'SKU-BIBIMBAP-REG', quantity: 2 },
  { sku: 'SKU-COLA-355', quantity: 1 },
];
const shipment = { fulfilmentId, shipmentId: 'SHP-1', courierId: 'COURIER-9' };
const status = (value: 'RECEIVED' | 'SHIPPING' | 'DELIVERED', minutes: number): Planned =>
  written(
    { type: 'OrderStatusChanged', version: 2, data: { orderId, status: value, reason: null } },
    minutes,
  );

/** The journey, in the order it happened. */
const journey = {
  placed: written(
    {
      type: 'OrderPlaced',
      version: 2,
      data: {
        orderId,
        customerId: 'CUST-1',
        lines: [
          {
            productCode: 'PRD-BIBIMBAP',
            productName: '돌솥비빔밥',
            quantity: 2,
            unitPrice: { amount: '9000.00', currency: 'KRW' },
          },
          {
            productCode: 'PRD-COLA',
            productName: '콜라',
            quantity: 1,
            unitPrice: { amount: '2000.00', currency: 'KRW' },
          },
        ],
        totalAmount: { amount: '20000.00', currency: 'KRW' },
        deliveryAddress: {
          recipientName: '김민지',
          phone: '010-1234-5678',
          postalCode: '06236',
          roadAddress: '서울특별시 강남구 테헤란로 123',
          detailAddress: '5층',
        },
        deliverySlot: { startsAt: at(60), endsAt: at(120) },
        deliveryMemo: null,
        salesChannel: 'APP',
      },
    },
    0,
  ),
  requested: written(
    {
      type: 'FulfilmentRequested',
      version: 2,
      data: {
        fulfilmentId,
        lines: stock,
        destination: {
          contactName: '김민지',
          contactPhone: '010-1234-5678',
          postalCode: '06236',
          addressLine: '서울특별시 강남구 테헤란로 123',
          addressDetail: '5층',
          courierNote: null,
        },
        deliveryWindow: { earliest: at(60), latest: at(120) },
        dispatchWave: 'WAVE-20250102-LUNCH',
        deliveryZone: 'SEOUL-CENTRAL',
        cookedToOrderSkus: ['SKU-BIBIMBAP-REG'],
      },
    },
    1,
  ),
  reserved: written({ type: 'StockReserved', version: 1, data: { fulfilmentId, lines: stock } }, 2),
  // Stamped in the same millisecond as the reservation it translates: it still sorts after it.
  receivedStatus: status('RECEIVED', 2),
  cookingStarted: written(
    {
      type: 'CookingStarted',
      version: 1,
      data: { fulfilmentId, taskId: 'TASK-1', station: 'GRILL-1', expectedReadyAt: null },
    },
    5,
  ),
  cookingCompleted: written(
    { type: 'CookingCompleted', version: 1, data: { fulfilmentId, taskId: 'TASK-1' } },
    15,
  ),
  picked: written({ type: 'OrderPicked', version: 1, data: { fulfilmentId, pickerId: 'PICKER-7' } }, 18),
  packed: written(
    { type: 'OrderPacked', version: 1, data: { fulfilmentId, packerId: 'PACKER-3', parcelCount: 1 } },
    22,
  ),
  dispatched: written(
    { type: 'ShipmentDispatched', version: 1, data: { ...shipment, estimatedArrivalAt: null } },
    30,
  ),
  shippingStatus: status('SHIPPING', 31),
  delivered: written(
    { type: 'ShipmentDelivered', version: 1, data: { ...shipment, proofOfDelivery: 'POD-1' } },
    55,
  ),
  deliveredStatus: status('DELIVERED', 56),
};

/** Goods arriving at the warehouse, in the middle of the journey: no order's business. */
const goodsReceived = written(
  {
    type: 'StockReceived',
    version: 1,
    data: { sku: 'SKU-COLA-355', quantity: 100, onHand: 100, supplierReference: null },
  },
  10,
);

async function metric(name: string, topic: string): Promise<number> {
  const text = await (await fetch(`${platform.metricsUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (entry) =>
        entry.startsWith(name) &&
        entry.includes(`group="${deployment.namespace}tracking"`) &&
        entry.includes(`topic="${deployment.namespace}${topic}"`),
    );
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

beforeAll(async () => {
  await serde.register({
    types: [...Object.values(journey), goodsReceived].map(({ publication }) => publication.type),
    topicOf: (type) => `${deployment.namespace}${placementOf(type).topic}`,
  });
  platform = await deployment.start(['tracking']);
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await deployment.stop();
});

describe('tracking', () => {
  it('shows every hop of an order in the order it happened, once, with durations and stages', async () => {
    // given the journey's events arriving out of order across topics, one of them twice
    const { placed, requested, reserved, receivedStatus, cookingStarted, cookingCompleted } = journey;
    const { picked, packed, dispatched, shippingStatus, delivered, deliveredStatus } = journey;
    await send(deliveredStatus, delivered, packed, reserved, placed, goodsReceived);
    await send(shippingStatus, cookingCompleted, requested, dispatched, receivedStatus);
    await send(picked, cookingStarted, reserved);

    // when the timeline has all of them
    await waitFor('every hop in the timeline', async () => {
      const found = await call(platform.url, 'GET', `/orders/${orderId}/timeline`);
      return found.status === 200 && Array.isArray(found.body.hops) && found.body.hops.length === 12 && found;
    });
    // and the duplicate and the goods received have been consumed too
    await waitFor('the duplicate to be counted', async () =>
      (await metric('scm_messages_duplicate_total', 'scm.inventory-events')) >= 1 ? true : undefined,
    );
    await waitFor('the goods received to be filtered', async () =>
      (await metric('scm_messages_filtered_total', 'scm.inventory-events')) >= 1 ? true : undefined,
    );
    const timeline = (await call(platform.url, 'GET', `/orders/${orderId}/timeline`)).body;

    // then every hop is there once, in the order it happened, measured
    const hop = (
      { eventId, publication, minutes }: Planned,
      topic: string,
      sincePreviousMinutes: number,
      summary: string,
    ) => ({
      eventId,
      orderId,
      type: publication.type,
      context: producers[topic],
      topic,
      at: iso(minutes),
      summary,
      status: publication.type === 'OrderStatusChanged' ? publication.data.status : null,
      sinceStartMs: minutes * 60_000,
      sincePreviousMs: sincePreviousMinutes * 60_000,
    });
    expect(timeline.hops).toEqual([
      hop(placed, 'order.events', 0, 'order placed via APP: 3 items, 20000.00 KRW'),
      hop(
        requested,
        'scm.fulfilment-requests',
        1,
        'fulfilment requested: 2 SKUs, wave WAVE-20250102-LUNCH, zone SEOUL-CENTRAL, 1 SKU cooked to order',
      ),
      hop(reserved, 'scm.inventory-events', 1, '2 SKUs reserved'),
      hop(receivedStatus, 'order.status-updates', 0, 'status 주문접수 (RECEIVED)'),
      hop(cookingStarted, 'scm.production-events', 3, 'cooking started at station GRILL-1'),
      hop(cookingCompleted, 'scm.production-events', 10, 'cooking completed'),
      hop(picked, 'scm.warehouse-events', 3, 'picked by PICKER-7'),
      hop(packed, 'scm.warehouse-events', 4, 'packed by PACKER-3: 1 parcel'),
      hop(dispatched, 'scm.delivery-events', 8, 'shipment SHP-1 dispatched with courier COURIER-9'),
      hop(shippingStatus, 'order.status-updates', 1, 'status 배송중 (SHIPPING)'),
      hop(delivered, 'scm.delivery-events', 24, 'delivered by courier COURIER-9'),
      hop(deliveredStatus, 'order.status-updates', 1, 'status 배송완료 (DELIVERED)'),
    ]);
    expect(timeline).toMatchObject({
      orderId,
      startedAt: iso(0),
      lastAt: iso(56),
      elapsedMs: 56 * 60_000,
      stages: [
        { stage: '주문', reachedAt: iso(0) },
        { stage: '요리', reachedAt: iso(5) },
        { stage: '픽업', reachedAt: iso(18) },
        { stage: '포장', reachedAt: iso(22) },
        { stage: '배송', reachedAt: iso(30) },
        { stage: '전달완료', reachedAt: iso(55) },
      ],
      status: 'DELIVERED',
    });
    // and goods received, which belong to no order, never show up
    expect(JSON.stringify(timeline)).not.toContain('StockReceived');
  });

  it('an order tracking has heard nothing of is a 404 problem', async () => {
    const answer = await call(platform.url, 'GET', '/orders/ORD-20990101-NOPE/timeline');
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body).toMatchObject({ status: 404, title: 'Order not found' });
  });
});

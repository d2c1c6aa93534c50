import type { AnyEvent, OrderStatus } from '@contracts/generated';
import { hopOf, labelOf, timeline, type Hop, type Stage } from './domain';

const orderId = 'ORD-20250101-000123';
const fulfilmentId = orderId;
const start = Date.parse('2025-01-02T03:00:00.000Z');
const at = (minutes: number): Date => new Date(start + minutes * 60_000);
const iso = (minutes: number): string => at(minutes).toISOString();

let sequence = 0;
/** Envelope of an event that happened `minutes` after the order was placed. */
const metadata = (eventType: string, producer: string, minutes: number, schemaVersion = 1) => ({
  eventId: `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`,
  eventType,
  occurredAt: at(minutes),
  correlationId: orderId,
  causationId: null,
  producer,
  schemaVersion,
});

const address = {
  recipientName: '김민지',
  phone: '010-1234-5678',
  postalCode: '06236',
  roadAddress: '서울특별시 강남구 테헤란로 123',
  detailAddress: '5층',
};
const destination = {
  contactName: '김민지',
  contactPhone: '010-1234-5678',
  postalCode: '06236',
  addressLine: '서울특별시 강남구 테헤란로 124',
  addressDetail: null,
  courierNote: null,
};
const slot = { startsAt: at(60), endsAt: at(120) };
const window = { earliest: at(60), latest: at(120) };
const lines = [
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
];
const stock = [
  { sku: 'SKU-BIBIMBAP-REG', quantity: 2 },
  { sku: 'SKU-COLA-355', quantity: 1 },
];
const total = { amount: '20000.00', currency: 'KRW' };

const ev = {
  placedV1: (m: number): AnyEvent => ({
    type: 'OrderPlaced',
    version: 1,
    metadata: metadata('OrderPlaced', 'order', m),
    data: {
      orderId,
      customerId: 'CUST-1',
      lines,
      totalAmount: total,
      deliveryAddress: address,
      deliverySlot: slot,
    },
  }),
  placedV2: (m: number, salesChannel: 'APP' | 'UNKNOWN' = 'APP'): AnyEvent => ({
    type: 'OrderPlaced',
    version: 2,
    metadata: metadata('OrderPlaced', 'order', m, 2),
    data: {
      orderId,
      customerId: 'CUST-1',
      lines,
      totalAmount: total,
      deliveryAddress: address,
      deliverySlot: slot,
      deliveryMemo: '문 앞에 놓아주세요',
      salesChannel,
    },
  }),
  coupon: (m: number): AnyEvent => ({
    type: 'CouponRedeemed',
    version: 1,
    metadata: metadata('CouponRedeemed', 'order', m),
    data: {
      orderId,
      customerId: 'CUST-1',
      couponCode: 'WELCOME-3000',
      discount: { amount: '3000.00', currency: 'KRW' },
    },
  }),
  addressChanged: (m: number): AnyEvent => ({
    type: 'DeliveryAddressChanged',
    version: 1,
    metadata: metadata('DeliveryAddressChanged', 'order', m),
    data: { orderId, deliveryAddress: { ...address, roadAddress: '서울특별시 강남구 테헤란로 124' } },
  }),
  cancelled: (m: number): AnyEvent => ({
    type: 'OrderCancelled',
    version: 1,
    metadata: metadata('OrderCancelled', 'order', m),
    data: { orderId, reason: 'CUSTOMER_REQUEST', comment: '너무 늦어요' },
  }),
  reviewed: (m: number): AnyEvent => ({
    type: 'OrderReviewed',
    version: 1,
    metadata: metadata('OrderReviewed', 'order', m),
    data: { orderId, customerId: 'CUST-1', rating: 5, comment: null },
  }),
  statusV1: (
    m: number,
    status: 'RECEIVED' | 'SHIPPING' | 'DELIVERED',
    reason: string | null = null,
  ): AnyEvent => ({
    type: 'OrderStatusChanged',
    version: 1,
    metadata: metadata('OrderStatusChanged', 'scm-order-adapter', m),
    data: { orderId, status, reason },
  }),
  status: (m: number, status: OrderStatus, reason: string | null = null): AnyEvent => ({
    type: 'OrderStatusChanged',
    version: 2,
    metadata: metadata('OrderStatusChanged', 'scm-order-adapter', m, 2),
    data: { orderId, status, reason },
  }),
  requestedV1: (m: number): AnyEvent => ({
    type: 'FulfilmentRequested',
    version: 1,
    metadata: metadata('FulfilmentRequested', 'order-scm-adapter', m),
    data: { fulfilmentId, lines: stock, destination, deliveryWindow: window },
  }),
  requestedV2: (m: number): AnyEvent => ({
    type: 'FulfilmentRequested',
    version: 2,
    metadata: metadata('FulfilmentRequested', 'order-scm-adapter', m, 2),
    data: {
      fulfilmentId,
      lines: stock,
      destination,
      deliveryWindow: window,
      dispatchWave: 'WAVE-20250102-LUNCH',
      deliveryZone: 'SEOUL-CENTRAL',
      cookedToOrderSkus: ['SKU-BIBIMBAP-REG'],
    },
  }),
  fulfilmentCancelled: (m: number): AnyEvent => ({
    type: 'FulfilmentCancelled',
    version: 1,
    metadata: metadata('FulfilmentCancelled', 'order-scm-adapter', m),
    data: { fulfilmentId, reason: null },
  }),
  destinationV1: (m: number): AnyEvent => ({
    type: 'FulfilmentDestinationChanged',
    version: 1,
    metadata: metadata('FulfilmentDestinationChanged', 'order-scm-adapter', m),
    data: { fulfilmentId, destination },
  }),
  destinationV2: (m: number): AnyEvent => ({
    type: 'FulfilmentDestinationChanged',
    version: 2,
    metadata: metadata('FulfilmentDestinationChanged', 'order-scm-adapter', m, 2),
    data: { fulfilmentId, destination, deliveryZone: 'SEOUL-CENTRAL' },
  }),
  rejected: (m: number): AnyEvent => ({
    type: 'FulfilmentRejected',
    version: 1,
    metadata: metadata('FulfilmentRejected', 'order-scm-adapter', m),
    data: {
      fulfilmentId,
      reason: 'UNKNOWN_PRODUCT_CODE',
      field: 'data.lines[0].productCode',
      detail: 'PRD-NOPE',
    },
  }),
  reserved: (m: number): AnyEvent => ({
    type: 'StockReserved',
    version: 1,
    metadata: metadata('StockReserved', 'inventory', m),
    data: { fulfilmentId, lines: stock },
  }),
  shortage: (m: number): AnyEvent => ({
    type: 'StockShortage',
    version: 1,
    metadata: metadata('StockShortage', 'inventory', m),
    data: {
      fulfilmentId,
      shortages: [
        { sku: 'SKU-BIBIMBAP-REG', requested: 2, available: 1 },
        { sku: 'SKU-COLA-355', requested: 1, available: 0 },
      ],
    },
  }),
  released: (m: number): AnyEvent => ({
    type: 'StockReleased',
    version: 1,
    metadata: metadata('StockReleased', 'inventory', m),
    data: { fulfilmentId, lines: stock, reason: 'FULFILMENT_CANCELLED' },
  }),
  received: (m: number): AnyEvent => ({
    type: 'StockReceived',
    version: 1,
    metadata: metadata('StockReceived', 'inventory', m),
    data: { sku: 'SKU-COLA-355', quantity: 100, onHand: 100, supplierReference: null },
  }),
  cookingStarted: (m: number, station: string | null = 'GRILL-1'): AnyEvent => ({
    type: 'CookingStarted',
    version: 1,
    metadata: metadata('CookingStarted', 'production', m),
    data: { fulfilmentId, taskId: 'TASK-1', station, expectedReadyAt: null },
  }),
  cookingCompleted: (m: number): AnyEvent => ({
    type: 'CookingCompleted',
    version: 1,
    metadata: metadata('CookingCompleted', 'production', m),
    data: { fulfilmentId, taskId: 'TASK-1' },
  }),
  cookingSkipped: (m: number): AnyEvent => ({
    type: 'CookingSkipped',
    version: 1,
    metadata: metadata('CookingSkipped', 'production', m),
    data: { fulfilmentId },
  }),
  picked: (m: number): AnyEvent => ({
    type: 'OrderPicked',
    version: 1,
    metadata: metadata('OrderPicked', 'warehouse', m),
    data: { fulfilmentId, pickerId: 'PICKER-7' },
  }),
  packed: (m: number): AnyEvent => ({
    type: 'OrderPacked',
    version: 1,
    metadata: metadata('OrderPacked', 'warehouse', m),
    data: { fulfilmentId, packerId: 'PACKER-3', parcelCount: 1 },
  }),
  dispatched: (m: number): AnyEvent => ({
    type: 'ShipmentDispatched',
    version: 1,
    metadata: metadata('ShipmentDispatched', 'delivery', m),
    data: { fulfilmentId, shipmentId: 'SHP-1', courierId: 'COURIER-9', estimatedArrivalAt: null },
  }),
  delivered: (m: number): AnyEvent => ({
    type: 'ShipmentDelivered',
    version: 1,
    metadata: metadata('ShipmentDelivered', 'delivery', m),
    data: { fulfilmentId, shipmentId: 'SHP-1', courierId: 'COURIER-9', proofOfDelivery: 'POD-1' },
  }),
  deliveryFailed: (m: number): AnyEvent => ({
    type: 'DeliveryFailed',
    version: 1,
    metadata: metadata('DeliveryFailed', 'delivery', m),
    data: { fulfilmentId, shipmentId: 'SHP-1', reason: 'RECIPIENT_UNREACHABLE', detail: '초인종 응답 없음' },
  }),
};

const topicOf: Record<string, string> = {
  order: 'order.events',
  'order-scm-adapter': 'scm.fulfilment-requests',
  inventory: 'scm.inventory-events',
  production: 'scm.production-events',
  warehouse: 'scm.warehouse-events',
  delivery: 'scm.delivery-events',
  'scm-order-adapter': 'order.status-updates',
};

/** The hop of an event consumed from its writer's topic; fails the test for an event of no order. */
const hop = (event: AnyEvent): Hop => {
  const result = hopOf(event, topicOf[event.metadata.producer] ?? 'unknown');
  if (result === undefined) throw new Error(`${event.type} gave no hop`);
  return result;
};
const hops = (...events: AnyEvent[]): Hop[] => events.map(hop);
const stagesOf = (reached: Partial<Record<Stage, string>>) =>
  (['주문', '요리', '픽업', '포장', '배송', '전달완료'] as const).map((stage) => ({
    stage,
    reachedAt: reached[stage] ?? null,
  }));

describe('hopOf: one line of the journey per event', () => {
  it('keeps identity, order, context, topic and time of the event', () => {
    // given a StockReserved written by inventory, when it becomes a hop, then
    const event = ev.reserved(7);
    expect(hopOf(event, 'scm.inventory-events')).toEqual({
      eventId: event.metadata.eventId,
      orderId,
      type: 'StockReserved',
      context: 'inventory',
      topic: 'scm.inventory-events',
      at: '2025-01-02T03:07:00.000Z',
      summary: '2 SKUs reserved',
      status: null,
    });
  });

  it.each<[string, AnyEvent, string, string]>([
    ['OrderPlaced v1', ev.placedV1(0), 'order', 'order placed: 3 items, 20000.00 KRW'],
    ['OrderPlaced v2', ev.placedV2(0), 'order', 'order placed via APP: 3 items, 20000.00 KRW'],
    [
      'OrderPlaced v2 from an unknown channel',
      ev.placedV2(0, 'UNKNOWN'),
      'order',
      'order placed: 3 items, 20000.00 KRW',
    ],
    ['CouponRedeemed', ev.coupon(0), 'order', 'coupon WELCOME-3000 redeemed: 3000.00 KRW off'],
    [
      'DeliveryAddressChanged',
      ev.addressChanged(0),
      'order',
      'delivery address changed to 06236 서울특별시 강남구 테헤란로 124',
    ],
    ['OrderCancelled', ev.cancelled(0), 'order', 'order cancelled (CUSTOMER_REQUEST): 너무 늦어요'],
    ['OrderReviewed', ev.reviewed(0), 'order', 'rated 5/5'],
    ['OrderStatusChanged v1', ev.statusV1(0, 'SHIPPING'), 'scm-order-adapter', 'status 배송중 (SHIPPING)'],
    [
      'OrderStatusChanged v2 with a reason',
      ev.status(0, 'WAITING_FOR_STOCK', '재고 부족'),
      'scm-order-adapter',
      'status 입고대기 (WAITING_FOR_STOCK): 재고 부족',
    ],
    ['FulfilmentRequested v1', ev.requestedV1(0), 'order-scm-adapter', 'fulfilment requested: 2 SKUs'],
    [
      'FulfilmentRequested v2',
      ev.requestedV2(0),
      'order-scm-adapter',
      'fulfilment requested: 2 SKUs, wave WAVE-20250102-LUNCH, zone SEOUL-CENTRAL, 1 SKU cooked to order',
    ],
    [
      'FulfilmentCancelled',
      ev.fulfilmentCancelled(0),
      'order-scm-adapter',
      'fulfilment cancellation requested',
    ],
    [
      'FulfilmentDestinationChanged v1',
      ev.destinationV1(0),
      'order-scm-adapter',
      'destination changed to 06236 서울특별시 강남구 테헤란로 124',
    ],
    [
      'FulfilmentDestinationChanged v2',
      ev.destinationV2(0),
      'order-scm-adapter',
      'destination changed to 06236 서울특별시 강남구 테헤란로 124 (zone SEOUL-CENTRAL)',
    ],
    [
      'FulfilmentRejected',
      ev.rejected(0),
      'order-scm-adapter',
      'rejected: UNKNOWN_PRODUCT_CODE at data.lines[0].productCode',
    ],
    ['StockReserved', ev.reserved(0), 'inventory', '2 SKUs reserved'],
    [
      'StockShortage',
      ev.shortage(0),
      'inventory',
      'short of SKU-BIBIMBAP-REG: 2 requested, 1 available; short of SKU-COLA-355: 1 requested, 0 available',
    ],
    ['StockReleased', ev.released(0), 'inventory', '2 SKUs released: fulfilment cancelled'],
    ['CookingStarted', ev.cookingStarted(0), 'production', 'cooking started at station GRILL-1'],
    ['CookingStarted, no station', ev.cookingStarted(0, null), 'production', 'cooking started'],
    ['CookingCompleted', ev.cookingCompleted(0), 'production', 'cooking completed'],
    ['CookingSkipped', ev.cookingSkipped(0), 'production', 'nothing to cook: straight to picking'],
    ['OrderPicked', ev.picked(0), 'warehouse', 'picked by PICKER-7'],
    ['OrderPacked', ev.packed(0), 'warehouse', 'packed by PACKER-3: 1 parcel'],
    ['ShipmentDispatched', ev.dispatched(0), 'delivery', 'shipment SHP-1 dispatched with courier COURIER-9'],
    ['ShipmentDelivered', ev.delivered(0), 'delivery', 'delivered by courier COURIER-9'],
    [
      'DeliveryFailed',
      ev.deliveryFailed(0),
      'delivery',
      'delivery failed (RECIPIENT_UNREACHABLE): 초인종 응답 없음',
    ],
  ])('%s', (_case, event, context, summary) => {
    expect(hop(event)).toMatchObject({ orderId, type: event.type, context, summary });
  });

  it('records the status an OrderStatusChanged set, v1 and v2 alike, and null for other events', () => {
    expect(
      hops(ev.statusV1(0, 'DELIVERED'), ev.status(0, 'REJECTED'), ev.picked(0)).map((h) => h.status),
    ).toEqual(['DELIVERED', 'REJECTED', null]);
  });

  it('gives no hop for StockReceived: goods arriving belong to no order', () => {
    expect(hopOf(ev.received(0), 'scm.inventory-events')).toBeUndefined();
  });

  it("falls back to the event type's writer when the producer names no known context", () => {
    const event = ev.picked(0);
    const mislabelled = { ...event, metadata: { ...event.metadata, producer: 'warehouse-v0' } };
    expect(hopOf(mislabelled, 'scm.warehouse-events')?.context).toBe('warehouse');
  });
});

describe('labelOf: the Korean label customers see', () => {
  it.each<[OrderStatus, string]>([
    ['REJECTED', '주문보류'],
    ['WAITING_FOR_STOCK', '입고대기'],
    ['RECEIVED', '주문접수'],
    ['COOKING', '조리중'],
    ['PICKED', '픽업완료'],
    ['PACKED', '포장완료'],
    ['SHIPPING', '배송중'],
    ['DELIVERED', '배송완료'],
    ['CANCELLED', '취소'],
    ['FAILED', '실패'],
    ['UNKNOWN', '알 수 없음'],
  ])('%s is %s', (status, label) => {
    expect(labelOf(status)).toBe(label);
  });
});

describe('timeline: the journey of one order', () => {
  // given every hop of a delivered order, minutes after it was placed
  const journey = hops(
    ev.placedV2(0),
    ev.coupon(0),
    ev.requestedV2(1),
    ev.reserved(2),
    ev.status(3, 'RECEIVED'),
    ev.cookingStarted(5),
    ev.status(6, 'COOKING'),
    ev.cookingCompleted(15),
    ev.picked(18),
    ev.status(19, 'PICKED'),
    ev.packed(22),
    ev.status(23, 'PACKED'),
    ev.dispatched(30),
    ev.status(31, 'SHIPPING'),
    ev.delivered(55),
    ev.status(56, 'DELIVERED'),
    ev.reviewed(90),
  );

  it('lists every hop in time order with the time since the start and since the previous hop', () => {
    // when the timeline is built, then
    const result = timeline(orderId, journey);
    expect(
      result.hops.map(({ type, context, at, sinceStartMs, sincePreviousMs }) => [
        type,
        context,
        at,
        sinceStartMs / 60_000,
        sincePreviousMs / 60_000,
      ]),
    ).toEqual([
      ['OrderPlaced', 'order', iso(0), 0, 0],
      ['CouponRedeemed', 'order', iso(0), 0, 0],
      ['FulfilmentRequested', 'order-scm-adapter', iso(1), 1, 1],
      ['StockReserved', 'inventory', iso(2), 2, 1],
      ['OrderStatusChanged', 'scm-order-adapter', iso(3), 3, 1],
      ['CookingStarted', 'production', iso(5), 5, 2],
      ['OrderStatusChanged', 'scm-order-adapter', iso(6), 6, 1],
      ['CookingCompleted', 'production', iso(15), 15, 9],
      ['OrderPicked', 'warehouse', iso(18), 18, 3],
      ['OrderStatusChanged', 'scm-order-adapter', iso(19), 19, 1],
      ['OrderPacked', 'warehouse', iso(22), 22, 3],
      ['OrderStatusChanged', 'scm-order-adapter', iso(23), 23, 1],
      ['ShipmentDispatched', 'delivery', iso(30), 30, 7],
      ['OrderStatusChanged', 'scm-order-adapter', iso(31), 31, 1],
      ['ShipmentDelivered', 'delivery', iso(55), 55, 24],
      ['OrderStatusChanged', 'scm-order-adapter', iso(56), 56, 1],
      ['OrderReviewed', 'order', iso(90), 90, 34],
    ]);
    expect(result.hops[0]).toEqual({ ...journey[0], sinceStartMs: 0, sincePreviousMs: 0 });
  });

  it('reaches every stage, and ends delivered', () => {
    expect(timeline(orderId, journey)).toMatchObject({
      orderId,
      startedAt: iso(0),
      lastAt: iso(90),
      elapsedMs: 90 * 60_000,
      stages: stagesOf({
        주문: iso(0),
        요리: iso(5),
        픽업: iso(18),
        포장: iso(22),
        배송: iso(30),
        전달완료: iso(55),
      }),
      status: 'DELIVERED',
    });
  });

  it('does not depend on the order in which hops arrived', () => {
    // given the same hops, as seven topics may deliver them
    const reversed = [...journey].reverse();
    const interleaved = [...journey.filter((_, i) => i % 2 === 1), ...journey.filter((_, i) => i % 2 === 0)];
    // then the timeline is the same
    expect(timeline(orderId, reversed)).toEqual(timeline(orderId, journey));
    expect(timeline(orderId, interleaved)).toEqual(timeline(orderId, journey));
  });

  it('shows a redelivered event once', () => {
    const twice = [...journey, ...journey.slice(3, 9), journey[0] as Hop];
    expect(timeline(orderId, twice)).toEqual(timeline(orderId, journey));
  });

  it('orders hops of the same millisecond causally: a status right after the event it translates', () => {
    // given a coarse clock that stamped a whole stretch of the journey alike, arriving backwards
    const sameInstant = hops(
      ev.status(10, 'PICKED'),
      ev.picked(10),
      ev.status(10, 'COOKING'),
      ev.cookingStarted(10),
      ev.reserved(10),
      ev.placedV1(10),
    );
    // then cause comes before effect
    expect(timeline(orderId, sameInstant).hops.map((h) => h.summary)).toEqual([
      'order placed: 3 items, 20000.00 KRW',
      '2 SKUs reserved',
      'cooking started at station GRILL-1',
      'status 조리중 (COOKING)',
      'picked by PICKER-7',
      'status 픽업완료 (PICKED)',
    ]);
  });

  it('breaks a tie of time and type by event id, so the output is deterministic', () => {
    const [first, second] = hops(ev.cookingCompleted(8), ev.cookingCompleted(8));
    const ids = (list: Hop[]) => timeline(orderId, list).hops.map((h) => h.eventId);
    expect(ids([second as Hop, first as Hop])).toEqual([first?.eventId, second?.eventId]);
  });

  it('leaves out hops of other orders', () => {
    const other: Hop = { ...(journey[2] as Hop), eventId: 'other-event', orderId: 'ORD-20250101-000999' };
    expect(timeline(orderId, [...journey, other])).toEqual(timeline(orderId, journey));
  });

  it('is empty for an order with no hop yet', () => {
    expect(timeline(orderId, [])).toEqual({
      orderId,
      hops: [],
      startedAt: null,
      lastAt: null,
      elapsedMs: 0,
      stages: stagesOf({}),
      status: null,
    });
  });

  it('reaches 요리 when there is nothing to cook', () => {
    const result = timeline(
      orderId,
      hops(ev.placedV2(0), ev.reserved(2), ev.cookingSkipped(3), ev.picked(4)),
    );
    expect(result.stages).toEqual(stagesOf({ 주문: iso(0), 요리: iso(3), 픽업: iso(4) }));
  });

  it('leaves a stage unreached until its own event arrives, even when a later stage was seen', () => {
    // given the warehouse topic ahead of the production topic
    const result = timeline(orderId, hops(ev.placedV2(0), ev.picked(18)));
    expect(result.stages).toEqual(stagesOf({ 주문: iso(0), 픽업: iso(18) }));
  });

  it('tells a cancelled order: cancellation, stock released, 취소', () => {
    // given an order cancelled while cooking
    const result = timeline(
      orderId,
      hops(
        ev.placedV2(0),
        ev.requestedV2(1),
        ev.reserved(2),
        ev.status(3, 'RECEIVED'),
        ev.cookingStarted(5),
        ev.status(6, 'COOKING'),
        ev.cancelled(8),
        ev.fulfilmentCancelled(9),
        ev.released(10),
        ev.status(11, 'CANCELLED', '주문 취소'),
      ),
    );
    expect(result.hops.slice(-4).map((h) => [h.context, h.summary])).toEqual([
      ['order', 'order cancelled (CUSTOMER_REQUEST): 너무 늦어요'],
      ['order-scm-adapter', 'fulfilment cancellation requested'],
      ['inventory', '2 SKUs released: fulfilment cancelled'],
      ['scm-order-adapter', 'status 취소 (CANCELLED): 주문 취소'],
    ]);
    expect(result).toMatchObject({
      status: 'CANCELLED',
      elapsedMs: 11 * 60_000,
      stages: stagesOf({ 주문: iso(0), 요리: iso(5) }),
    });
  });

  it('tells a rejected order: 주문보류 until operators replay it, then the journey goes on', () => {
    // given an order the adapter could not translate
    const rejected = hops(ev.placedV2(0), ev.rejected(0), ev.status(1, 'REJECTED', '주문 확인 필요'));
    expect(timeline(orderId, rejected)).toMatchObject({
      hops: [
        { type: 'OrderPlaced' },
        {
          type: 'FulfilmentRejected',
          summary: 'rejected: UNKNOWN_PRODUCT_CODE at data.lines[0].productCode',
        },
        { type: 'OrderStatusChanged', summary: 'status 주문보류 (REJECTED): 주문 확인 필요' },
      ],
      status: 'REJECTED',
      stages: stagesOf({ 주문: iso(0) }),
    });
    // when operators fix the map and replay the dead letter
    const replayed = [...rejected, ...hops(ev.requestedV2(40), ev.reserved(41), ev.status(42, 'RECEIVED'))];
    // then the order moves on
    expect(timeline(orderId, replayed)).toMatchObject({ status: 'RECEIVED', elapsedMs: 42 * 60_000 });
  });

  it('reads v1 and v2 events alike: the same journey, stages and status', () => {
    // given the journey written by v1 producers (OrderPlaced v1, FulfilmentRequested v1, OrderStatusChanged v1)
    const v1 = hops(
      ev.placedV1(0),
      ev.requestedV1(1),
      ev.reserved(2),
      ev.statusV1(3, 'RECEIVED'),
      ev.cookingSkipped(4),
      ev.picked(5),
      ev.packed(6),
      ev.dispatched(7),
      ev.statusV1(8, 'SHIPPING'),
      ev.delivered(20),
      ev.statusV1(21, 'DELIVERED'),
    );
    const result = timeline(orderId, v1);
    expect(result.hops.slice(0, 2).map((h) => h.summary)).toEqual([
      'order placed: 3 items, 20000.00 KRW',
      'fulfilment requested: 2 SKUs',
    ]);
    expect(result).toMatchObject({
      status: 'DELIVERED',
      elapsedMs: 21 * 60_000,
      stages: stagesOf({
        주문: iso(0),
        요리: iso(4),
        픽업: iso(5),
        포장: iso(6),
        배송: iso(7),
        전달완료: iso(20),
      }),
    });
  });

  it('takes the status of the latest OrderStatusChanged by time, not by arrival', () => {
    const result = timeline(orderId, hops(ev.status(31, 'SHIPPING'), ev.status(19, 'PICKED')));
    expect(result.status).toBe('SHIPPING');
  });
});

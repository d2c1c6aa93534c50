import type {
  DeliveryAddress,
  DeliveryAddressChangedV1,
  EventMetadata,
  OrderCancelledV1,
  OrderLine,
  OrderPlacedV1,
  OrderPlacedV2,
} from '@contracts/generated';
import { topicNamed } from '@contracts/topics';
import { applyMappingUpdate, seedMapping, type Mapping } from './mapping';
import {
  producer,
  rejectionEvent,
  translateOrderEvent,
  zoneOf,
  type Translation,
  type TranslationContext,
} from './translate';

const orderId = 'ORD-20250101-000123';
const sourceEventId = '6f1c2a34-0000-4000-8000-000000000001';

function given(mapping: Mapping = seedMapping): TranslationContext {
  return { mapping };
}

const metadata = (eventType: string, schemaVersion: number): EventMetadata => ({
  eventId: sourceEventId,
  eventType,
  occurredAt: new Date('2025-01-01T09:29:58.000Z'),
  correlationId: orderId,
  causationId: null,
  producer: 'order',
  schemaVersion,
});

const address: DeliveryAddress = {
  recipientName: '김민지',
  phone: '010-1234-5678',
  postalCode: '06236',
  roadAddress: '서울특별시 강남구 테헤란로 123',
  detailAddress: '5층 501호',
};

const line = (productCode: string, quantity: number): OrderLine => ({
  productCode,
  productName: productCode,
  quantity,
  unitPrice: { amount: '9000.00', currency: 'KRW' },
});

// 새벽배송 on 2025-01-02: 00:00-07:00 KST.
const dawn = { startsAt: new Date('2025-01-01T15:00:00.000Z'), endsAt: new Date('2025-01-01T22:00:00.000Z') };
// 주간배송 on 2025-01-02: 10:00-18:00 KST.
const day = { startsAt: new Date('2025-01-02T01:00:00.000Z'), endsAt: new Date('2025-01-02T09:00:00.000Z') };

function placedV1(overrides: Partial<OrderPlacedV1['data']> = {}): OrderPlacedV1 {
  return {
    type: 'OrderPlaced',
    version: 1,
    metadata: metadata('OrderPlaced', 1),
    data: {
      orderId,
      customerId: 'CUST-42',
      lines: [line('PRD-BIBIMBAP', 2)],
      totalAmount: { amount: '18000.00', currency: 'KRW' },
      deliveryAddress: address,
      deliverySlot: dawn,
      ...overrides,
    },
  };
}

function placedV2(overrides: Partial<OrderPlacedV2['data']> = {}): OrderPlacedV2 {
  return {
    type: 'OrderPlaced',
    version: 2,
    metadata: metadata('OrderPlaced', 2),
    data: {
      ...placedV1().data,
      deliveryMemo: '문 앞에 놓아주세요',
      salesChannel: 'APP',
      ...overrides,
    },
  };
}

const expectedDestination = {
  contactName: '김민지',
  contactPhone: '010-1234-5678',
  postalCode: '06236',
  addressLine: '서울특별시 강남구 테헤란로 123',
  addressDetail: '5층 501호',
};

describe('translateOrderEvent: OrderPlaced', () => {
  it('v1: translates into a FulfilmentRequested keyed by the order id, with no courier note', () => {
    // given an OrderPlaced v1 for two bibimbap, dawn delivery to Gangnam
    // when translated
    const translation = translateOrderEvent(placedV1(), given());
    // then
    expect(translation).toEqual<Translation>({
      kind: 'requested',
      event: {
        type: 'FulfilmentRequested',
        version: 2,
        data: {
          fulfilmentId: orderId,
          lines: [{ sku: 'SKU-BIBIMBAP-REG', quantity: 2 }],
          destination: { ...expectedDestination, courierNote: null },
          deliveryWindow: { earliest: dawn.startsAt, latest: dawn.endsAt },
          dispatchWave: 'WAVE-20250102-DAWN',
          deliveryZone: 'SEOUL-SOUTHEAST',
          cookedToOrderSkus: ['SKU-BIBIMBAP-REG'],
        },
      },
    });
  });

  it('v2: the delivery memo becomes the courier note; the sales channel stays in the storefront', () => {
    const translation = translateOrderEvent(placedV2({ deliverySlot: day }), given());
    expect(translation).toEqual<Translation>({
      kind: 'requested',
      event: {
        type: 'FulfilmentRequested',
        version: 2,
        data: {
          fulfilmentId: orderId,
          lines: [{ sku: 'SKU-BIBIMBAP-REG', quantity: 2 }],
          destination: { ...expectedDestination, courierNote: '문 앞에 놓아주세요' },
          deliveryWindow: { earliest: day.startsAt, latest: day.endsAt },
          dispatchWave: 'WAVE-20250102-DAY',
          deliveryZone: 'SEOUL-SOUTHEAST',
          cookedToOrderSkus: ['SKU-BIBIMBAP-REG'],
        },
      },
    });
  });

  it('v2 read from a v1 writer (memo null, channel UNKNOWN) translates like v1', () => {
    const fromV1 = translateOrderEvent(placedV1(), given());
    const asV2 = translateOrderEvent(placedV2({ deliveryMemo: null, salesChannel: 'UNKNOWN' }), given());
    expect(asV2).toEqual(fromV1);
  });

  it('merges lines per SKU, summing quantities, in order of first appearance', () => {
    // given a jjigae (jjigae + rice) x2, a 3-pack of rice, a bulgogi set (bulgogi + rice + soup), a bulgogi
    const event = placedV1({
      lines: [
        line('PRD-KIMCHI-JJIGAE', 2),
        line('PRD-RICE-3PACK', 1),
        line('PRD-BULGOGI-SET', 1),
        line('PRD-BULGOGI', 1),
        line('PRD-KIMCHI', 1),
      ],
    });
    // when
    const translation = translateOrderEvent(event, given());
    // then one line per SKU
    if (translation.kind !== 'requested') throw new Error(`expected requested, got ${translation.kind}`);
    expect(translation.event.data.lines).toEqual([
      { sku: 'SKU-KIMCHI-JJIGAE', quantity: 2 },
      { sku: 'SKU-RICE-210G', quantity: 2 + 3 + 1 },
      { sku: 'SKU-BULGOGI-300G', quantity: 2 },
      { sku: 'SKU-DOENJANG-SOUP', quantity: 1 },
      { sku: 'SKU-KIMCHI-500G', quantity: 1 },
    ]);
    // and only the kitchen's SKUs are cooked to order
    expect(translation.event.data.cookedToOrderSkus).toEqual([
      'SKU-KIMCHI-JJIGAE',
      'SKU-BULGOGI-300G',
      'SKU-DOENJANG-SOUP',
    ]);
  });

  it('an order of packaged goods only has nothing cooked to order', () => {
    const translation = translateOrderEvent(placedV1({ lines: [line('PRD-SOYMILK-24', 2)] }), given());
    if (translation.kind !== 'requested') throw new Error(`expected requested, got ${translation.kind}`);
    expect(translation.event.data.lines).toEqual([{ sku: 'SKU-SOYMILK-190ML', quantity: 48 }]);
    expect(translation.event.data.cookedToOrderSkus).toEqual([]);
  });

  it('uses the map it is given: a product mapped at run time translates', () => {
    const updated = applyMappingUpdate(seedMapping, {
      type: 'ProductMapped',
      productCode: 'PRD-BIBIMBAP-LARGE',
      components: [{ sku: 'SKU-BIBIMBAP-REG', quantity: 2 }],
    });
    if (updated.kind !== 'applied') throw new Error(updated.reason);
    const translation = translateOrderEvent(
      placedV1({ lines: [line('PRD-BIBIMBAP-LARGE', 1)] }),
      given(updated.mapping),
    );
    if (translation.kind !== 'requested') throw new Error(`expected requested, got ${translation.kind}`);
    expect(translation.event.data.lines).toEqual([{ sku: 'SKU-BIBIMBAP-REG', quantity: 2 }]);
  });

  describe('rejections name the reason and the field', () => {
    it.each<[string, OrderPlacedV1 | OrderPlacedV2, Translation]>([
      [
        'v1: unknown product code',
        placedV1({ lines: [line('PRD-BIBIMBAP', 1), line('PRD-PIZZA', 1)] }),
        {
          kind: 'rejected',
          orderId,
          reason: 'UNKNOWN_PRODUCT_CODE',
          field: 'data.lines[1].productCode',
          detail: 'PRD-PIZZA',
        },
      ],
      [
        'v2: unknown product code',
        placedV2({ lines: [line('PRD-PIZZA', 1)] }),
        {
          kind: 'rejected',
          orderId,
          reason: 'UNKNOWN_PRODUCT_CODE',
          field: 'data.lines[0].productCode',
          detail: 'PRD-PIZZA',
        },
      ],
      [
        'a product code that is an Object.prototype key',
        placedV1({ lines: [line('constructor', 1)] }),
        {
          kind: 'rejected',
          orderId,
          reason: 'UNKNOWN_PRODUCT_CODE',
          field: 'data.lines[0].productCode',
          detail: 'constructor',
        },
      ],
      [
        'unknown slot: a window no slot starts at (09:00-17:00 KST)',
        placedV1({
          deliverySlot: {
            startsAt: new Date('2025-01-02T00:00:00.000Z'),
            endsAt: new Date('2025-01-02T08:00:00.000Z'),
          },
        }),
        {
          kind: 'rejected',
          orderId,
          reason: 'UNKNOWN_SLOT',
          field: 'data.deliverySlot',
          detail: '2025-01-02T00:00:00.000Z/2025-01-02T08:00:00.000Z',
        },
      ],
      [
        'unknown slot: the dawn start with the wrong length',
        placedV2({ deliverySlot: { startsAt: dawn.startsAt, endsAt: new Date('2025-01-01T18:00:00.000Z') } }),
        {
          kind: 'rejected',
          orderId,
          reason: 'UNKNOWN_SLOT',
          field: 'data.deliverySlot',
          detail: '2025-01-01T15:00:00.000Z/2025-01-01T18:00:00.000Z',
        },
      ],
      [
        'unknown zone: a postal code outside the delivery area (Busan)',
        placedV1({ deliveryAddress: { ...address, postalCode: '48058' } }),
        {
          kind: 'rejected',
          orderId,
          reason: 'UNKNOWN_ZONE',
          field: 'data.deliveryAddress.postalCode',
          detail: '48058',
        },
      ],
      [
        'unknown zone: a malformed postal code',
        placedV2({ deliveryAddress: { ...address, postalCode: '135-080' } }),
        {
          kind: 'rejected',
          orderId,
          reason: 'UNKNOWN_ZONE',
          field: 'data.deliveryAddress.postalCode',
          detail: '135-080',
        },
      ],
      [
        'no lines',
        placedV1({ lines: [] }),
        { kind: 'rejected', orderId, reason: 'NO_LINES', field: 'data.lines', detail: '[]' },
      ],
      [
        'a quantity below 1',
        placedV1({ lines: [line('PRD-BIBIMBAP', 1), line('PRD-KIMCHI', 0)] }),
        {
          kind: 'rejected',
          orderId,
          reason: 'INVALID_QUANTITY',
          field: 'data.lines[1].quantity',
          detail: '0',
        },
      ],
    ])('%s', (_case, event, expected) => {
      expect(translateOrderEvent(event, given())).toEqual(expected);
    });

    it('a rejection becomes a FulfilmentRejected with its reason, field and detail', () => {
      const event = placedV1({ lines: [line('PRD-PIZZA', 1)] });
      const translation = translateOrderEvent(event, given());
      if (translation.kind !== 'rejected') throw new Error(`expected rejected, got ${translation.kind}`);
      expect(rejectionEvent(translation)).toEqual({
        type: 'FulfilmentRejected',
        version: 1,
        data: {
          fulfilmentId: orderId,
          reason: 'UNKNOWN_PRODUCT_CODE',
          field: 'data.lines[0].productCode',
          detail: 'PRD-PIZZA',
        },
      });
    });
  });
});

describe('translateOrderEvent: OrderCancelled', () => {
  const cancelled = (comment: string | null): OrderCancelledV1 => ({
    type: 'OrderCancelled',
    version: 1,
    metadata: metadata('OrderCancelled', 1),
    data: { orderId, reason: 'CUSTOMER_REQUEST', comment },
  });

  it('becomes a FulfilmentCancelled with the reason and comment as operator text', () => {
    expect(translateOrderEvent(cancelled('시간이 안 맞아요'), given())).toEqual<Translation>({
      kind: 'cancelled',
      event: {
        type: 'FulfilmentCancelled',
        version: 1,
        data: { fulfilmentId: orderId, reason: 'CUSTOMER_REQUEST: 시간이 안 맞아요' },
      },
    });
  });

  it('without a comment, carries the reason code alone', () => {
    const translation = translateOrderEvent(cancelled(null), given());
    if (translation.kind !== 'cancelled') throw new Error(`expected cancelled, got ${translation.kind}`);
    expect(translation.event.data.reason).toBe('CUSTOMER_REQUEST');
  });
});

describe('translateOrderEvent: DeliveryAddressChanged', () => {
  const changed = (postalCode: string): DeliveryAddressChangedV1 => ({
    type: 'DeliveryAddressChanged',
    version: 1,
    metadata: metadata('DeliveryAddressChanged', 1),
    data: {
      orderId,
      deliveryAddress: {
        recipientName: '이서준',
        phone: '010-9876-5432',
        postalCode,
        roadAddress: '경기도 성남시 분당구 판교역로 235',
        detailAddress: null,
      },
    },
  });

  it('becomes a FulfilmentDestinationChanged, with the new zone', () => {
    expect(translateOrderEvent(changed('13487'), given())).toEqual<Translation>({
      kind: 'destination-changed',
      event: {
        type: 'FulfilmentDestinationChanged',
        version: 2,
        data: {
          fulfilmentId: orderId,
          destination: {
            contactName: '이서준',
            contactPhone: '010-9876-5432',
            postalCode: '13487',
            addressLine: '경기도 성남시 분당구 판교역로 235',
            addressDetail: null,
            courierNote: null,
          },
          deliveryZone: 'GYEONGGI-PANGYO',
        },
      },
    });
  });

  it('to an address outside every zone is rejected', () => {
    expect(translateOrderEvent(changed('63122'), given())).toEqual<Translation>({
      kind: 'rejected',
      orderId,
      reason: 'UNKNOWN_ZONE',
      field: 'data.deliveryAddress.postalCode',
      detail: '63122',
    });
  });
});

describe('zoneOf', () => {
  it.each([
    ['06236', 'SEOUL-SOUTHEAST'],
    ['13487', 'GYEONGGI-PANGYO'],
    ['13120', 'GYEONGGI-SEONGNAM'],
    ['21999', 'INCHEON'],
  ])('%s -> %s (the longest prefix wins)', (postalCode, zone) => {
    expect(zoneOf(postalCode, seedMapping)).toBe(zone);
  });
});

describe('producer', () => {
  it('is the writer of scm.fulfilment-requests in the topic catalogue', () => {
    expect(producer).toBe(topicNamed('scm.fulfilment-requests')?.writer);
  });
});

import type { EventMetadata, OrderStatus, ScmEvent } from '@contracts/generated';
import { topicNamed } from '@contracts/topics';
import { producer, translateScmEvent, type StatusTranslation } from './translate';

const orderId = 'ORD-20250101-000123';
const sourceEventId = '6f1c2a34-0000-4000-8000-0000000000aa';

const metadata = (eventType: string, producer: string): EventMetadata => ({
  eventId: sourceEventId,
  eventType,
  occurredAt: new Date('2025-01-02T04:59:00.000Z'),
  correlationId: orderId,
  causationId: '6f1c2a34-0000-4000-8000-0000000000a9',
  producer,
  schemaVersion: 1,
});

const fulfilmentId = orderId;
const line = { sku: 'SKU-BIBIMBAP-REG', quantity: 2 };

const events = {
  StockReserved: {
    type: 'StockReserved',
    version: 1,
    metadata: metadata('StockReserved', 'inventory'),
    data: { fulfilmentId, lines: [line] },
  },
  StockShortage: {
    type: 'StockShortage',
    version: 1,
    metadata: metadata('StockShortage', 'inventory'),
    data: { fulfilmentId, shortages: [{ sku: 'SKU-BIBIMBAP-REG', requested: 2, available: 1 }] },
  },
  StockReleasedCancelled: {
    type: 'StockReleased',
    version: 1,
    metadata: metadata('StockReleased', 'inventory'),
    data: { fulfilmentId, lines: [line], reason: 'FULFILMENT_CANCELLED' },
  },
  StockReleasedOperator: {
    type: 'StockReleased',
    version: 1,
    metadata: metadata('StockReleased', 'inventory'),
    data: { fulfilmentId, lines: [line], reason: 'OPERATOR' },
  },
  StockReleasedUnknown: {
    type: 'StockReleased',
    version: 1,
    metadata: metadata('StockReleased', 'inventory'),
    data: { fulfilmentId, lines: [line], reason: 'UNKNOWN' },
  },
  StockReceived: {
    type: 'StockReceived',
    version: 1,
    metadata: metadata('StockReceived', 'inventory'),
    data: { sku: 'SKU-RICE-210G', quantity: 100, onHand: 140, supplierReference: null },
  },
  CookingStarted: {
    type: 'CookingStarted',
    version: 1,
    metadata: metadata('CookingStarted', 'production'),
    data: { fulfilmentId, taskId: 'TASK-1', station: 'wok-2', expectedReadyAt: null },
  },
  CookingCompleted: {
    type: 'CookingCompleted',
    version: 1,
    metadata: metadata('CookingCompleted', 'production'),
    data: { fulfilmentId, taskId: 'TASK-1' },
  },
  OrderPicked: {
    type: 'OrderPicked',
    version: 1,
    metadata: metadata('OrderPicked', 'warehouse'),
    data: { fulfilmentId, pickerId: 'PICKER-7' },
  },
  OrderPacked: {
    type: 'OrderPacked',
    version: 1,
    metadata: metadata('OrderPacked', 'warehouse'),
    data: { fulfilmentId, packerId: 'PACKER-3', parcelCount: 1 },
  },
  ShipmentDispatched: {
    type: 'ShipmentDispatched',
    version: 1,
    metadata: metadata('ShipmentDispatched', 'delivery'),
    data: { fulfilmentId, shipmentId: 'SHP-1', courierId: 'COURIER-9', estimatedArrivalAt: null },
  },
  ShipmentDelivered: {
    type: 'ShipmentDelivered',
    version: 1,
    metadata: metadata('ShipmentDelivered', 'delivery'),
    data: { fulfilmentId, shipmentId: 'SHP-1', courierId: 'COURIER-9', proofOfDelivery: null },
  },
  FulfilmentRequested: {
    type: 'FulfilmentRequested',
    version: 1,
    metadata: metadata('FulfilmentRequested', 'order-scm-adapter'),
    data: {
      fulfilmentId,
      lines: [line],
      destination: {
        contactName: '김민지',
        contactPhone: '010-1234-5678',
        postalCode: '06236',
        addressLine: '서울특별시 강남구 테헤란로 123',
        addressDetail: null,
        courierNote: null,
      },
      deliveryWindow: {
        earliest: new Date('2025-01-01T15:00:00.000Z'),
        latest: new Date('2025-01-01T22:00:00.000Z'),
      },
    },
  },
  FulfilmentDestinationChanged: {
    type: 'FulfilmentDestinationChanged',
    version: 1,
    metadata: metadata('FulfilmentDestinationChanged', 'order-scm-adapter'),
    data: {
      fulfilmentId,
      destination: {
        contactName: '김민지',
        contactPhone: '010-1234-5678',
        postalCode: '06236',
        addressLine: '서울특별시 강남구 테헤란로 124',
        addressDetail: null,
        courierNote: null,
      },
    },
  },
  FulfilmentRejected: {
    type: 'FulfilmentRejected',
    version: 1,
    metadata: metadata('FulfilmentRejected', 'order-scm-adapter'),
    data: {
      fulfilmentId,
      reason: 'UNKNOWN_PRODUCT_CODE',
      field: 'data.lines[0].productCode',
      detail: 'PRD-NOPE',
    },
  },
  CookingSkipped: {
    type: 'CookingSkipped',
    version: 1,
    metadata: metadata('CookingSkipped', 'production'),
    data: { fulfilmentId },
  },
  FulfilmentCancelled: {
    type: 'FulfilmentCancelled',
    version: 1,
    metadata: metadata('FulfilmentCancelled', 'order-scm-adapter'),
    data: { fulfilmentId, reason: 'CUSTOMER_REQUEST' },
  },
} as const satisfies Record<string, ScmEvent>;

const deliveryFailed = (
  reason:
    | 'UNKNOWN'
    | 'NO_COURIER_AVAILABLE'
    | 'RECIPIENT_UNREACHABLE'
    | 'ADDRESS_NOT_FOUND'
    | 'PARCEL_DAMAGED',
): ScmEvent => ({
  type: 'DeliveryFailed',
  version: 1,
  metadata: metadata('DeliveryFailed', 'delivery'),
  data: { fulfilmentId, shipmentId: null, reason, detail: null },
});

const statusChanged = (status: OrderStatus, reason: string | null = null): StatusTranslation => ({
  kind: 'status',
  event: {
    type: 'OrderStatusChanged',
    version: 2,
    data: { orderId, status, reason },
  },
});

describe('translateScmEvent: progress the customer sees', () => {
  it.each<[string, ScmEvent, StatusTranslation]>([
    ['StockReserved -> 주문접수', events.StockReserved, statusChanged('RECEIVED')],
    ['CookingStarted -> 조리중', events.CookingStarted, statusChanged('COOKING')],
    ['OrderPicked -> 픽업완료', events.OrderPicked, statusChanged('PICKED')],
    ['OrderPacked -> 포장완료', events.OrderPacked, statusChanged('PACKED')],
    ['ShipmentDispatched -> 배송중', events.ShipmentDispatched, statusChanged('SHIPPING')],
    ['ShipmentDelivered -> 배송완료', events.ShipmentDelivered, statusChanged('DELIVERED')],
    [
      'StockShortage -> 입고대기 (not a failure: stock may arrive)',
      events.StockShortage,
      statusChanged('WAITING_FOR_STOCK', '재고 부족: 입고되면 주문이 진행됩니다'),
    ],
    [
      'FulfilmentRejected -> 주문보류',
      events.FulfilmentRejected,
      statusChanged('REJECTED', '주문 확인 필요: 상품 또는 배송 정보를 확인하고 있습니다'),
    ],
    [
      'StockReleased for a cancelled fulfilment -> 취소',
      events.StockReleasedCancelled,
      statusChanged('CANCELLED', '주문 취소'),
    ],
    ['DeliveryFailed (unknown) -> 실패', deliveryFailed('UNKNOWN'), statusChanged('FAILED', '배송 실패')],
    [
      'DeliveryFailed (no courier) -> 실패',
      deliveryFailed('NO_COURIER_AVAILABLE'),
      statusChanged('FAILED', '배송 기사 배정 불가'),
    ],
    [
      'DeliveryFailed (recipient unreachable) -> 실패',
      deliveryFailed('RECIPIENT_UNREACHABLE'),
      statusChanged('FAILED', '수령인 연락 불가'),
    ],
    [
      'DeliveryFailed (address not found) -> 실패',
      deliveryFailed('ADDRESS_NOT_FOUND'),
      statusChanged('FAILED', '주소 확인 불가'),
    ],
    [
      'DeliveryFailed (parcel damaged) -> 실패',
      deliveryFailed('PARCEL_DAMAGED'),
      statusChanged('FAILED', '배송 중 파손'),
    ],
  ])('%s', (_case, event, expected) => {
    // given an SCM event of order ORD-20250101-000123, when translated, then
    expect(translateScmEvent(event)).toEqual(expected);
  });

  it('writes as the writer of order.status-updates in the topic catalogue', () => {
    expect(producer).toBe(topicNamed('order.status-updates')?.writer);
  });
});

describe('translateScmEvent: events customers do not see', () => {
  it.each<[string, ScmEvent]>([
    ['CookingCompleted', events.CookingCompleted],
    ['CookingSkipped', events.CookingSkipped],
    ['StockReleased by an operator', events.StockReleasedOperator],
    ['StockReleased for an unknown reason', events.StockReleasedUnknown],
    ['StockReceived', events.StockReceived],
    ['FulfilmentRequested', events.FulfilmentRequested],
    ['FulfilmentDestinationChanged', events.FulfilmentDestinationChanged],
    ['FulfilmentCancelled (SCM may still refuse it; StockReleased confirms)', events.FulfilmentCancelled],
  ])('%s is ignored', (_case, event) => {
    expect(translateScmEvent(event)).toMatchObject({ kind: 'ignored' });
  });
});

/**
 * The scm->order anti-corruption translation: SCM progress in, the storefront's customer-facing
 * status out, as the publication the adapter writes (the event writer gives it its envelope from
 * the source event). Pure.
 *
 * | SCM event                                   | status      | label    | reason shown           |
 * |---------------------------------------------|-------------|----------|------------------------|
 * | FulfilmentRejected                          | `REJECTED`  | 주문보류 | 주문 확인 필요          |
 * | StockShortage                               | `WAITING_FOR_STOCK` | 입고대기 | 재고 부족      |
 * | StockReserved                               | `RECEIVED`  | 주문접수 | —                      |
 * | CookingStarted                              | `COOKING`   | 조리중   | —                      |
 * | CookingCompleted                            | ignored     |          | still 조리중 until picked |
 * | CookingSkipped                              | ignored     |          | still 주문접수 until picked |
 * | OrderPicked                                 | `PICKED`    | 픽업완료 | —                      |
 * | OrderPacked                                 | `PACKED`    | 포장완료 | —                      |
 * | ShipmentDispatched                          | `SHIPPING`  | 배송중   | —                      |
 * | ShipmentDelivered                           | `DELIVERED` | 배송완료 | —                      |
 * | DeliveryFailed                              | `FAILED`    | 실패     | by failure reason      |
 * | StockReleased (reason FULFILMENT_CANCELLED) | `CANCELLED` | 취소     | 주문 취소              |
 * | StockReleased (OPERATOR, UNKNOWN)           | ignored     |          | internal stock move    |
 * | FulfilmentCancelled                         | ignored     |          | a request, not an outcome |
 * | ShipmentCancelled                           | ignored     |          | StockReleased follows it |
 * | FulfilmentRequested, FulfilmentDestinationChanged, StockReceived | ignored | | not progress |
 *
 * 취소 means "cancelled and stock released", so only StockReleased(FULFILMENT_CANCELLED) confirms
 * it. A shortage is not a failure: the reservation waits for stock, and the StockReserved that
 * follows the goods' arrival moves the order on to 주문접수. Likewise a rejected order waits for
 * operators to fix the adapter's map and replay it from the dead-letter topic. FulfilmentCancelled is the adapter's own request to SCM, which SCM may still refuse when it
 * is too late (e.g. the courier has left): mapping it to 취소 would make the terminal rule of
 * the order context's monotonic rule block the later 배송완료 of an order that was in fact delivered.
 */
import type {
  DeliveryFailureReason,
  OrderStatus,
  OrderStatusChangedV2,
  ScmEvent,
} from '@contracts/generated';
import type { Topic, WriterContext } from '@contracts/topics';

/** The writer of `order.status-updates`, checked against the topic catalogue by the compiler. */
export const producer = 'scm-order-adapter' as const satisfies Extract<
  Topic,
  { name: 'order.status-updates' }
>['writer'] &
  WriterContext;

export type StatusTranslation =
  | { readonly kind: 'status'; readonly event: Omit<OrderStatusChangedV2, 'metadata'> }
  | { readonly kind: 'ignored'; readonly why: string };

/** Korean reasons shown to customers for 실패 and 취소. */
export const customerReasons = {
  shortage: '재고 부족: 입고되면 주문이 진행됩니다',
  rejected: '주문 확인 필요: 상품 또는 배송 정보를 확인하고 있습니다',
  cancelled: '주문 취소',
  delivery: {
    UNKNOWN: '배송 실패',
    NO_COURIER_AVAILABLE: '배송 기사 배정 불가',
    RECIPIENT_UNREACHABLE: '수령인 연락 불가',
    ADDRESS_NOT_FOUND: '주소 확인 불가',
    PARCEL_DAMAGED: '배송 중 파손',
  } satisfies Record<DeliveryFailureReason, string>,
} as const;

export function translateScmEvent(event: ScmEvent): StatusTranslation {
  const status = (
    fulfilmentId: string,
    next: OrderStatus,
    reason: string | null = null,
  ): StatusTranslation => ({
    kind: 'status',
    event: {
      type: 'OrderStatusChanged',
      version: 2,
      // The order->scm adapter keeps the storefront order id as the fulfilment id.
      data: { orderId: fulfilmentId, status: next, reason },
    },
  });
  switch (event.type) {
    case 'StockReserved':
      return status(event.data.fulfilmentId, 'RECEIVED');
    case 'StockShortage':
      return status(event.data.fulfilmentId, 'WAITING_FOR_STOCK', customerReasons.shortage);
    case 'FulfilmentRejected':
      return status(event.data.fulfilmentId, 'REJECTED', customerReasons.rejected);
    case 'StockReleased':
      return event.data.reason === 'FULFILMENT_CANCELLED'
        ? status(event.data.fulfilmentId, 'CANCELLED', customerReasons.cancelled)
        : { kind: 'ignored', why: `stock released for reason ${event.data.reason}, not a cancellation` };
    case 'CookingStarted':
      return status(event.data.fulfilmentId, 'COOKING');
    case 'CookingCompleted':
      return { kind: 'ignored', why: 'no customer-facing status between cooking and picked' };
    case 'CookingSkipped':
      return { kind: 'ignored', why: 'nothing to cook: the order stays 주문접수 until picked' };
    case 'OrderPicked':
      return status(event.data.fulfilmentId, 'PICKED');
    case 'OrderPacked':
      return status(event.data.fulfilmentId, 'PACKED');
    case 'ShipmentDispatched':
      return status(event.data.fulfilmentId, 'SHIPPING');
    case 'ShipmentDelivered':
      return status(event.data.fulfilmentId, 'DELIVERED');
    case 'DeliveryFailed':
      return status(event.data.fulfilmentId, 'FAILED', customerReasons.delivery[event.data.reason]);
    case 'FulfilmentRequested':
    case 'FulfilmentDestinationChanged':
    case 'FulfilmentCancelled':
      return { kind: 'ignored', why: `${event.type} is a request to SCM, not progress` };
    case 'ShipmentCancelled':
      return { kind: 'ignored', why: 'the StockReleased that follows it confirms 취소' };
    case 'StockReceived':
      return { kind: 'ignored', why: 'StockReceived belongs to no order' };
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/**
 * The storefront's order: placed by a customer, then followed through the customer-facing statuses
 * that SCM progress turns into (via the scm->order adapter). The order context knows nothing of
 * SKUs, waves or kitchens; it speaks of products, delivery slots and statuses.
 */
import type {
  DeliveryAddress,
  OrderCancellationReason,
  OrderLine,
  OrderStatus,
  SalesChannel,
} from '@contracts/generated';
import { accepted, refused, unchanged, type Decider, type Publication } from '@runtime/decider';

/** The storefront's own status before SCM has said anything: 주문완료 (payment taken). */
export type StorefrontStatus = 'PLACED' | Exclude<OrderStatus, 'UNKNOWN'>;

export const statusLabels = {
  PLACED: '주문완료',
  REJECTED: '주문보류',
  WAITING_FOR_STOCK: '입고대기',
  RECEIVED: '주문접수',
  COOKING: '조리중',
  PICKED: '픽업완료',
  PACKED: '포장완료',
  SHIPPING: '배송중',
  DELIVERED: '배송완료',
  CANCELLED: '취소',
  FAILED: '실패',
} as const satisfies Record<StorefrontStatus, string>;

/** Delivery slots the storefront sells, as local (KST) windows of the delivery date. */
export const deliverySlots = {
  /** 새벽배송: before the customer wakes up. */
  DAWN: { startHour: 0, endHour: 7 },
  /** 주간배송. */
  DAY: { startHour: 10, endHour: 18 },
  /** 저녁배송: sold by the storefront; SCM learns it through the adapter's map. */
  EVENING: { startHour: 18, endHour: 22 },
} as const;
export type SlotCode = keyof typeof deliverySlots;
export const slotCodes = Object.keys(deliverySlots) as SlotCode[];

const kstOffsetMs = 9 * 60 * 60 * 1000;

/** The UTC window of a slot on a local (KST) delivery date `YYYY-MM-DD`. */
export function slotWindow(date: string, slot: SlotCode): { startsAt: string; endsAt: string } {
  const midnight = new Date(`${date}T00:00:00Z`).getTime() - kstOffsetMs;
  const { startHour, endHour } = deliverySlots[slot];
  return {
    startsAt: new Date(midnight + startHour * 3_600_000).toISOString(),
    endsAt: new Date(midnight + endHour * 3_600_000).toISOString(),
  };
}

/** Coupons the storefront honours: a fixed discount in KRW. */
export const coupons: Readonly<Record<string, number>> = { WELCOME3000: 3000, DAWN1000: 1000 };

/**
 * The discount of a coupon this store honours, or undefined. Looked up as an own property: a
 * plain `coupons[code]` finds `constructor`, `toString` or `__proto__` on the prototype, whose
 * "discount" made the total NaN and the placement a 500.
 */
export function couponDiscount(code: string): number | undefined {
  return Object.hasOwn(coupons, code) ? coupons[code] : undefined;
}

export const paymentMethods = ['CARD', 'KAKAOPAY', 'NAVERPAY', 'BANK_TRANSFER'] as const;
export type PaymentMethod = (typeof paymentMethods)[number];

export interface PlacedLine {
  readonly productCode: string;
  readonly productName: string;
  readonly quantity: number;
  /** KRW, at most two decimals. */
  readonly unitPrice: number;
}

export interface Order {
  readonly orderId: string;
  readonly customerId: string;
  readonly lines: readonly PlacedLine[];
  /** What the customer pays: lines minus discount, KRW as a decimal string. */
  readonly totalAmount: string;
  readonly discount: string;
  readonly couponCode: string | null;
  readonly deliveryAddress: DeliveryAddress;
  readonly delivery: {
    readonly date: string;
    readonly slot: SlotCode;
    readonly startsAt: string;
    readonly endsAt: string;
  };
  readonly deliveryMemo: string | null;
  readonly salesChannel: SalesChannel;
  readonly payment: { readonly method: PaymentMethod };
  readonly placedAt: string;
  readonly status: StorefrontStatus;
  /** Shown to the customer beside 주문보류, 입고대기, 취소 and 실패. */
  readonly statusReason: string | null;
  readonly statusChangedAt: string;
  readonly history: readonly { readonly status: StorefrontStatus; readonly at: string }[];
  readonly cancellation: {
    readonly requestedAt: string;
    readonly reason: OrderCancellationReason;
    readonly comment: string | null;
  } | null;
  readonly review: { readonly rating: number; readonly comment: string | null } | null;
}

export type PlaceOrder = Omit<
  Order,
  | 'status'
  | 'statusReason'
  | 'statusChangedAt'
  | 'history'
  | 'cancellation'
  | 'review'
  | 'totalAmount'
  | 'discount'
  | 'placedAt'
>;

export type OrderInput =
  | { readonly kind: 'Place'; readonly order: PlaceOrder; readonly eventVersion: 1 | 2 }
  | { readonly kind: 'Cancel'; readonly reason: OrderCancellationReason; readonly comment: string | null }
  | { readonly kind: 'ChangeAddress'; readonly address: DeliveryAddress }
  | { readonly kind: 'Review'; readonly rating: number; readonly comment: string | null }
  /** From `order.status-updates` (OrderStatusChanged). */
  | { readonly kind: 'ApplyStatus'; readonly status: OrderStatus; readonly reason: string | null };

export type OrderFact =
  | { readonly type: 'Placed'; readonly order: Order; readonly eventVersion: 1 | 2 }
  | {
      readonly type: 'CancellationRequested';
      readonly at: string;
      readonly reason: OrderCancellationReason;
      readonly comment: string | null;
    }
  | { readonly type: 'AddressChanged'; readonly address: DeliveryAddress }
  | { readonly type: 'Reviewed'; readonly rating: number; readonly comment: string | null }
  | {
      readonly type: 'StatusChanged';
      readonly status: StorefrontStatus;
      readonly reason: string | null;
      readonly at: string;
    };

/**
 * Position of each status on the journey. Terminal statuses share the top rank; 주문보류 and
 * 입고대기 rank below 주문접수 because both resolve into it (a replayed order, arrived stock).
 */
export const statusRank = {
  PLACED: 0,
  REJECTED: 1,
  WAITING_FOR_STOCK: 2,
  RECEIVED: 3,
  COOKING: 4,
  PICKED: 5,
  PACKED: 6,
  SHIPPING: 7,
  DELIVERED: 8,
  CANCELLED: 8,
  FAILED: 8,
} as const satisfies Record<StorefrontStatus, number>;

export function isTerminal(status: StorefrontStatus): boolean {
  return status === 'DELIVERED' || status === 'CANCELLED' || status === 'FAILED';
}

/**
 * Whether a status update applies, so that a late, duplicate or reordered update never moves an
 * order backwards:
 * - `UNKNOWN` (what this reader sees for a status added after it was built) never applies;
 * - the first terminal status wins: after 배송완료, 취소 or 실패 nothing applies, not even another
 *   terminal status (a late DeliveryFailed cannot undo a delivery);
 * - a terminal status applies from any other (cancel or fail at any stage, delivery seen early);
 * - otherwise only a strictly later stage applies; skipping stages is fine.
 */
export function isForward(
  current: StorefrontStatus,
  next: OrderStatus,
): next is Exclude<OrderStatus, 'UNKNOWN'> {
  if (next === 'UNKNOWN') return false;
  if (isTerminal(current)) return false;
  return statusRank[next] > statusRank[current];
}

/** The stage from which a cancellation or a new address is too late: the courier has the parcel. */
const tooLateFrom = statusRank.SHIPPING;

export const customerMessages = {
  cancelTooLate: '이미 배송이 시작되어 취소할 수 없습니다 (the order has left with the courier)',
  addressTooLate: '이미 배송이 시작되어 주소를 바꿀 수 없습니다 (the order has left with the courier)',
  closed: (status: StorefrontStatus) =>
    `주문이 이미 ${statusLabels[status]} 상태입니다 (the order is already ${status.toLowerCase()})`,
  cancelPending: '취소 요청이 처리 중입니다 (a cancellation is in progress)',
  reviewBeforeDelivery: '배송완료 후에 리뷰를 남길 수 있습니다 (reviews open once the order is delivered)',
} as const;

const cents = (value: number): number => Math.round(value * 100);
const money = (valueInCents: number): string => (valueInCents / 100).toFixed(2);

function decide(input: OrderInput, order: Order | undefined, now: Date) {
  const at = now.toISOString();
  if (input.kind === 'Place') {
    if (order !== undefined) return unchanged;
    const gross = input.order.lines.reduce((sum, line) => sum + cents(line.unitPrice) * line.quantity, 0);
    const discount = Math.min(
      gross,
      cents(input.order.couponCode === null ? 0 : (couponDiscount(input.order.couponCode) ?? 0)),
    );
    return accepted<OrderFact>({
      type: 'Placed',
      eventVersion: input.eventVersion,
      order: {
        ...input.order,
        totalAmount: money(gross - discount),
        discount: money(discount),
        placedAt: at,
        status: 'PLACED',
        statusReason: null,
        statusChangedAt: at,
        history: [{ status: 'PLACED', at }],
        cancellation: null,
        review: null,
      },
    });
  }
  if (order === undefined) return refused('NOT_FOUND', 'no such order');
  switch (input.kind) {
    case 'Cancel':
      if (order.cancellation !== null) return unchanged;
      if (isTerminal(order.status)) return refused('CONFLICT', customerMessages.closed(order.status));
      if (statusRank[order.status] >= tooLateFrom) return refused('CONFLICT', customerMessages.cancelTooLate);
      return accepted<OrderFact>({
        type: 'CancellationRequested',
        at,
        reason: input.reason,
        comment: input.comment,
      });
    case 'ChangeAddress':
      if (isTerminal(order.status)) return refused('CONFLICT', customerMessages.closed(order.status));
      if (statusRank[order.status] >= tooLateFrom)
        return refused('CONFLICT', customerMessages.addressTooLate);
      if (order.cancellation !== null) return refused('CONFLICT', customerMessages.cancelPending);
      if (JSON.stringify(order.deliveryAddress) === JSON.stringify(input.address)) return unchanged;
      return accepted<OrderFact>({ type: 'AddressChanged', address: input.address });
    case 'Review':
      if (order.status !== 'DELIVERED') return refused('CONFLICT', customerMessages.reviewBeforeDelivery);
      return accepted<OrderFact>({ type: 'Reviewed', rating: input.rating, comment: input.comment });
    case 'ApplyStatus':
      if (!isForward(order.status, input.status)) return unchanged;
      return accepted<OrderFact>({ type: 'StatusChanged', status: input.status, reason: input.reason, at });
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function evolve(order: Order | undefined, fact: OrderFact): Order {
  if (fact.type === 'Placed') return fact.order;
  if (order === undefined) throw new Error(`${fact.type} before Placed`);
  switch (fact.type) {
    case 'CancellationRequested':
      return { ...order, cancellation: { requestedAt: fact.at, reason: fact.reason, comment: fact.comment } };
    case 'AddressChanged':
      return { ...order, deliveryAddress: fact.address };
    case 'Reviewed':
      return { ...order, review: { rating: fact.rating, comment: fact.comment } };
    case 'StatusChanged':
      return {
        ...order,
        status: fact.status,
        statusReason: fact.reason,
        statusChangedAt: fact.at,
        history: [...order.history, { status: fact.status, at: fact.at }],
      };
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

const krw = (amount: string) => ({ amount, currency: 'KRW' });

function orderLines(order: Order): OrderLine[] {
  return order.lines.map((line) => ({
    productCode: line.productCode,
    productName: line.productName,
    quantity: line.quantity,
    unitPrice: krw(money(cents(line.unitPrice))),
  }));
}

function publish(fact: OrderFact, order: Order): Publication[] {
  const { orderId, customerId } = order;
  switch (fact.type) {
    case 'Placed': {
      const common = {
        orderId,
        customerId,
        lines: orderLines(order),
        totalAmount: krw(order.totalAmount),
        deliveryAddress: order.deliveryAddress,
        deliverySlot: {
          startsAt: new Date(order.delivery.startsAt),
          endsAt: new Date(order.delivery.endsAt),
        },
      };
      const placed: Publication =
        fact.eventVersion === 1
          ? { type: 'OrderPlaced', version: 1, data: common }
          : {
              type: 'OrderPlaced',
              version: 2,
              data: { ...common, deliveryMemo: order.deliveryMemo, salesChannel: order.salesChannel },
            };
      const coupon: Publication[] =
        order.couponCode === null || order.discount === '0.00'
          ? []
          : [
              {
                type: 'CouponRedeemed',
                version: 1,
                data: { orderId, customerId, couponCode: order.couponCode, discount: krw(order.discount) },
              },
            ];
      return [placed, ...coupon];
    }
    case 'CancellationRequested':
      return [
        { type: 'OrderCancelled', version: 1, data: { orderId, reason: fact.reason, comment: fact.comment } },
      ];
    case 'AddressChanged':
      return [
        { type: 'DeliveryAddressChanged', version: 1, data: { orderId, deliveryAddress: fact.address } },
      ];
    case 'Reviewed':
      return [
        {
          type: 'OrderReviewed',
          version: 1,
          data: { orderId, customerId, rating: fact.rating, comment: fact.comment },
        },
      ];
    case 'StatusChanged':
      return [];
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

export const orderDecider: Decider<Order, OrderInput, OrderFact> = { decide, evolve, publish };

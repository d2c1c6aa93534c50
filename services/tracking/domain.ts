/**
 * The tracking read model: one order's journey across every context, as people read it. A pure
 * projection, not a decider: `hopOf` turns any decoded event into a hop (one line of the journey),
 * `timeline` orders the hops of one order and measures them. Hops are plain JSON data, so the
 * wiring can store them as they are and rebuild the timeline on each query.
 *
 * Events of one order reach tracking on seven topics, hence in any relative order and sometimes
 * twice: the timeline sorts by when each fact happened in its writer's domain (`occurredAt`),
 * never by arrival, and keeps one hop per event id.
 */
import type {
  AnyEvent,
  EventType,
  Money,
  OrderStatus,
  StockLine,
  StockReleaseReason,
} from '@contracts/generated';
import { orderStatusLabels } from '@contracts/status-labels';
import { writerContexts, type WriterContext } from '@contracts/topics';

/** The contexts that write topics, as `metadata.producer` names them: the topic catalogue's. */
export type Context = WriterContext;

const isContext = (producer: string): producer is Context =>
  (writerContexts as readonly string[]).includes(producer);

/** One event of an order's journey, as stored by the read model. */
export interface Hop {
  readonly eventId: string;
  readonly orderId: string;
  readonly type: EventType;
  readonly context: Context;
  readonly topic: string;
  /** ISO-8601 of `metadata.occurredAt`: when it happened, not when tracking heard of it. */
  readonly at: string;
  /** For people, in English, e.g. `2 SKUs reserved`. */
  readonly summary: string;
  /** The customer-facing status an OrderStatusChanged set; null for every other event. */
  readonly status: OrderStatus | null;
}

export interface TimelineHop extends Hop {
  readonly sinceStartMs: number;
  readonly sincePreviousMs: number;
}

export type Stage = '주문' | '요리' | '픽업' | '포장' | '배송' | '전달완료';

export interface Timeline {
  readonly orderId: string;
  readonly hops: readonly TimelineHop[];
  /** Null when no hop of the order is known yet. */
  readonly startedAt: string | null;
  readonly lastAt: string | null;
  readonly elapsedMs: number;
  readonly stages: readonly { readonly stage: Stage; readonly reachedAt: string | null }[];
  /** The latest status the storefront was told (OrderStatusChanged); null when none yet. */
  readonly status: OrderStatus | null;
}

// The storefront's labels, from the contracts; UNKNOWN (a status newer than this reader) is ours.
const labels = {
  UNKNOWN: '알 수 없음',
  ...orderStatusLabels,
} as const satisfies Record<OrderStatus, string>;

/** The Korean label customers see for a status (contracts: the OrderStatus documentation). */
export function labelOf(status: OrderStatus): string {
  return labels[status];
}

const releaseReasons = {
  UNKNOWN: 'reason unknown',
  FULFILMENT_CANCELLED: 'fulfilment cancelled',
  OPERATOR: 'by an operator',
} as const satisfies Record<StockReleaseReason, string>;

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
const skus = (lines: readonly StockLine[]): string => plural(lines.length, 'SKU');
const money = ({ amount, currency }: Money): string => `${amount} ${currency}`;
const withText = (text: string, extra: string | null): string => (extra ? `${text}: ${extra}` : text);

interface Described {
  readonly orderId: string;
  /** The topic catalogue's writer of this event type: the context when `producer` names none. */
  readonly writer: Context;
  readonly summary: string;
}

const by = (writer: Context, orderId: string, summary: string): Described => ({ writer, orderId, summary });

function describe(event: AnyEvent): Described | undefined {
  switch (event.type) {
    case 'OrderPlaced': {
      const { orderId, lines, totalAmount } = event.data;
      const channel =
        event.version === 2 && event.data.salesChannel !== 'UNKNOWN' ? event.data.salesChannel : null;
      const items = plural(
        lines.reduce((sum, line) => sum + line.quantity, 0),
        'item',
      );
      return by(
        'order',
        orderId,
        `order placed${channel ? ` via ${channel}` : ''}: ${items}, ${money(totalAmount)}`,
      );
    }
    case 'CouponRedeemed':
      return by(
        'order',
        event.data.orderId,
        `coupon ${event.data.couponCode} redeemed: ${money(event.data.discount)} off`,
      );
    case 'DeliveryAddressChanged': {
      const { postalCode, roadAddress } = event.data.deliveryAddress;
      return by('order', event.data.orderId, `delivery address changed to ${postalCode} ${roadAddress}`);
    }
    case 'OrderCancelled':
      return by(
        'order',
        event.data.orderId,
        withText(`order cancelled (${event.data.reason})`, event.data.comment),
      );
    case 'OrderReviewed':
      return by('order', event.data.orderId, withText(`rated ${event.data.rating}/5`, event.data.comment));
    case 'OrderStatusChanged': {
      const { orderId, status, reason } = event.data;
      return by('scm-order-adapter', orderId, withText(`status ${labelOf(status)} (${status})`, reason));
    }
    case 'FulfilmentRequested': {
      const { fulfilmentId, lines } = event.data;
      // v2 adds the adapter's routing decisions; v1 events (and v2 events written by v1 producers) lack them.
      const details =
        event.version === 2
          ? [
              event.data.dispatchWave && `wave ${event.data.dispatchWave}`,
              event.data.deliveryZone && `zone ${event.data.deliveryZone}`,
              event.data.cookedToOrderSkus.length > 0 &&
                `${plural(event.data.cookedToOrderSkus.length, 'SKU')} cooked to order`,
            ].filter((detail): detail is string => typeof detail === 'string' && detail !== '')
          : [];
      return by(
        'order-scm-adapter',
        fulfilmentId,
        [`fulfilment requested: ${skus(lines)}`, ...details].join(', '),
      );
    }
    case 'FulfilmentCancelled':
      return by(
        'order-scm-adapter',
        event.data.fulfilmentId,
        withText('fulfilment cancellation requested', event.data.reason),
      );
    case 'FulfilmentDestinationChanged': {
      const { postalCode, addressLine } = event.data.destination;
      const zone = event.version === 2 && event.data.deliveryZone ? ` (zone ${event.data.deliveryZone})` : '';
      return by(
        'order-scm-adapter',
        event.data.fulfilmentId,
        `destination changed to ${postalCode} ${addressLine}${zone}`,
      );
    }
    case 'FulfilmentRejected':
      return by(
        'order-scm-adapter',
        event.data.fulfilmentId,
        `rejected: ${event.data.reason} at ${event.data.field}`,
      );
    case 'StockReserved':
      return by('inventory', event.data.fulfilmentId, `${skus(event.data.lines)} reserved`);
    case 'StockShortage':
      return by(
        'inventory',
        event.data.fulfilmentId,
        event.data.shortages
          .map(
            ({ sku, requested, available }) =>
              `short of ${sku}: ${requested} requested, ${available} available`,
          )
          .join('; '),
      );
    case 'StockReleased':
      return by(
        'inventory',
        event.data.fulfilmentId,
        `${skus(event.data.lines)} released: ${releaseReasons[event.data.reason]}`,
      );
    case 'StockReceived':
      // Keyed by SKU: goods arriving belong to no order's journey.
      return undefined;
    case 'CookingStarted':
      return by(
        'production',
        event.data.fulfilmentId,
        event.data.station ? `cooking started at station ${event.data.station}` : 'cooking started',
      );
    case 'CookingCompleted':
      return by('production', event.data.fulfilmentId, 'cooking completed');
    case 'CookingSkipped':
      return by('production', event.data.fulfilmentId, 'nothing to cook: straight to picking');
    case 'OrderPicked':
      return by('warehouse', event.data.fulfilmentId, `picked by ${event.data.pickerId}`);
    case 'OrderPacked':
      return by(
        'warehouse',
        event.data.fulfilmentId,
        `packed by ${event.data.packerId}: ${plural(event.data.parcelCount, 'parcel')}`,
      );
    case 'ShipmentDispatched':
      return by(
        'delivery',
        event.data.fulfilmentId,
        `shipment ${event.data.shipmentId} dispatched with courier ${event.data.courierId}`,
      );
    case 'ShipmentDelivered':
      return by('delivery', event.data.fulfilmentId, `delivered by courier ${event.data.courierId}`);
    case 'DeliveryFailed':
      return by(
        'delivery',
        event.data.fulfilmentId,
        withText(`delivery failed (${event.data.reason})`, event.data.detail),
      );
    case 'ShipmentCancelled':
      return by(
        'delivery',
        event.data.fulfilmentId,
        withText('shipment cancelled before dispatch', event.data.reason),
      );
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** The hop an event adds to its order's journey; undefined for events of no order (StockReceived). */
export function hopOf(event: AnyEvent, topic: string): Hop | undefined {
  const described = describe(event);
  if (described === undefined) return undefined;
  const { eventId, producer, occurredAt } = event.metadata;
  return {
    eventId,
    orderId: described.orderId,
    type: event.type,
    context: isContext(producer) ? producer : described.writer,
    topic,
    at: occurredAt.toISOString(),
    summary: described.summary,
    status: event.type === 'OrderStatusChanged' ? event.data.status : null,
  };
}

/**
 * Tie-break for hops of the same millisecond: the journey's causal order, so that a coarse
 * clock never shows a cause after its effect, and the output never depends on arrival order.
 */
const causalRank = {
  OrderPlaced: 0,
  CouponRedeemed: 1,
  FulfilmentRejected: 2,
  FulfilmentRequested: 3,
  StockShortage: 4,
  StockReserved: 5,
  CookingSkipped: 6,
  CookingStarted: 7,
  CookingCompleted: 8,
  DeliveryAddressChanged: 9,
  FulfilmentDestinationChanged: 10,
  OrderPicked: 11,
  OrderPacked: 12,
  ShipmentDispatched: 13,
  DeliveryFailed: 14,
  ShipmentDelivered: 15,
  OrderCancelled: 16,
  FulfilmentCancelled: 17,
  ShipmentCancelled: 18,
  StockReleased: 19,
  OrderReviewed: 20,
  StockReceived: 21,
  OrderStatusChanged: 22,
} as const satisfies Record<EventType, number>;

/** The SCM event each status is translated from (streams/scm-to-order), so it sorts right after it. */
const statusCause = {
  UNKNOWN: 'OrderStatusChanged',
  REJECTED: 'FulfilmentRejected',
  WAITING_FOR_STOCK: 'StockShortage',
  RECEIVED: 'StockReserved',
  COOKING: 'CookingStarted',
  PICKED: 'OrderPicked',
  PACKED: 'OrderPacked',
  SHIPPING: 'ShipmentDispatched',
  DELIVERED: 'ShipmentDelivered',
  CANCELLED: 'StockReleased',
  FAILED: 'DeliveryFailed',
} as const satisfies Record<OrderStatus, EventType>;

const tieRank = (hop: Hop): number =>
  hop.status === null ? causalRank[hop.type] : causalRank[statusCause[hop.status]] + 0.5;

const chronologically = (a: Hop, b: Hop): number =>
  Date.parse(a.at) - Date.parse(b.at) ||
  tieRank(a) - tieRank(b) ||
  (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

const stageTypes: readonly { readonly stage: Stage; readonly types: readonly EventType[] }[] = [
  { stage: '주문', types: ['OrderPlaced'] },
  // Skipped cooking still reaches 요리: there was nothing to cook, and the order moved on.
  { stage: '요리', types: ['CookingStarted', 'CookingSkipped'] },
  { stage: '픽업', types: ['OrderPicked'] },
  { stage: '포장', types: ['OrderPacked'] },
  { stage: '배송', types: ['ShipmentDispatched'] },
  { stage: '전달완료', types: ['ShipmentDelivered'] },
];

/** The journey of one order from the hops seen so far, in any order and with duplicates. */
export function timeline(orderId: string, hops: readonly Hop[]): Timeline {
  const seen = new Set<string>();
  const ordered = hops
    .filter((hop) => hop.orderId === orderId)
    .sort(chronologically)
    .filter((hop) => !seen.has(hop.eventId) && seen.add(hop.eventId));
  const first = ordered[0];
  const last = ordered[ordered.length - 1];
  const start = first ? Date.parse(first.at) : 0;
  return {
    orderId,
    hops: ordered.map((hop, i) => {
      const previous = ordered[i - 1] ?? hop;
      return {
        ...hop,
        sinceStartMs: Date.parse(hop.at) - start,
        sincePreviousMs: Date.parse(hop.at) - Date.parse(previous.at),
      };
    }),
    startedAt: first?.at ?? null,
    lastAt: last?.at ?? null,
    elapsedMs: last ? Date.parse(last.at) - start : 0,
    stages: stageTypes.map(({ stage, types }) => ({
      stage,
      reachedAt: ordered.find((hop) => types.includes(hop.type))?.at ?? null,
    })),
    status: ordered.reduce<OrderStatus | null>((status, hop) => hop.status ?? status, null),
  };
}

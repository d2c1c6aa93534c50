/**
 * The order->scm anti-corruption translation: storefront order events in, SCM fulfilment events
 * out, as the publications the adapter writes (the event writer gives each its envelope from the
 * source event). Pure: the map comes in through `TranslationContext`.
 *
 * The fulfilment id is the storefront order id, so every event of one order keeps one Kafka key
 * (hence one partition and its order) on every topic.
 */
import type {
  DeliveryAddress,
  DeliveryAddressChangedV1,
  DeliverySlot,
  Destination,
  FulfilmentCancelledV1,
  FulfilmentDestinationChangedV2,
  FulfilmentRejectedV1,
  FulfilmentRequestedV2,
  OrderCancelledV1,
  OrderLine,
  OrderPlaced,
  StockLine,
} from '@contracts/generated';
import type { Topic, WriterContext } from '@contracts/topics';
import { lookup, type Mapping } from './mapping';

/** The order events SCM needs, every version the consumer may decode into. */
export type TranslatableOrderEvent = OrderPlaced | OrderCancelledV1 | DeliveryAddressChangedV1;

export interface TranslationContext {
  readonly mapping: Mapping;
}

/** An event as the adapter publishes it: type, version and data; the writer adds the metadata. */
type Content<E extends { readonly metadata: unknown }> = Omit<E, 'metadata'>;

/** The writer of `scm.fulfilment-requests`, checked against the topic catalogue by the compiler. */
export const producer = 'order-scm-adapter' as const satisfies Extract<
  Topic,
  { name: 'scm.fulfilment-requests' }
>['writer'] &
  WriterContext;

export const RejectionReason = {
  UNKNOWN_PRODUCT_CODE: 'UNKNOWN_PRODUCT_CODE',
  UNKNOWN_SLOT: 'UNKNOWN_SLOT',
  UNKNOWN_ZONE: 'UNKNOWN_ZONE',
  /** The schema says "never empty" and "at least 1"; the adapter does not trust it blindly. */
  NO_LINES: 'NO_LINES',
  INVALID_QUANTITY: 'INVALID_QUANTITY',
} as const;
export type RejectionReason = (typeof RejectionReason)[keyof typeof RejectionReason];

export type Translation =
  | { readonly kind: 'requested'; readonly event: Content<FulfilmentRequestedV2> }
  | { readonly kind: 'destination-changed'; readonly event: Content<FulfilmentDestinationChangedV2> }
  | { readonly kind: 'cancelled'; readonly event: Content<FulfilmentCancelledV1> }
  | Rejection;

/** An order the adapter cannot translate: dead-lettered with this reason, and shown on the order. */
export interface Rejection {
  readonly kind: 'rejected';
  readonly orderId: string;
  readonly reason: RejectionReason;
  /** Path of the offending field in the source event, e.g. `data.lines[1].productCode`. */
  readonly field: string;
  /** For people: the offending value. */
  readonly detail: string;
}

export function translateOrderEvent(event: TranslatableOrderEvent, context: TranslationContext): Translation {
  switch (event.type) {
    case 'OrderPlaced':
      return translateOrderPlaced(event, context);
    case 'OrderCancelled':
      return translateOrderCancelled(event);
    case 'DeliveryAddressChanged':
      return translateAddressChanged(event, context);
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function translateOrderPlaced(event: OrderPlaced, context: TranslationContext): Translation {
  const { orderId } = event.data;
  const reject = (reason: RejectionReason, field: string, detail: string): Rejection => ({
    kind: 'rejected',
    orderId,
    reason,
    field,
    detail,
  });

  const lines = mergeLines(event.data.lines, context.mapping);
  if (lines.kind === 'invalid') return reject(lines.reason, lines.field, lines.detail);

  const slot = slotOf(event.data.deliverySlot, context.mapping);
  if (slot === undefined) {
    const { startsAt, endsAt } = event.data.deliverySlot;
    return reject(
      RejectionReason.UNKNOWN_SLOT,
      'data.deliverySlot',
      `${startsAt.toISOString()}/${endsAt.toISOString()}`,
    );
  }

  const postalCode = event.data.deliveryAddress.postalCode;
  const zone = zoneOf(postalCode, context.mapping);
  if (zone === undefined)
    return reject(RejectionReason.UNKNOWN_ZONE, 'data.deliveryAddress.postalCode', postalCode);

  // Only v2 has a memo; v1 orders simply have no courier note.
  const courierNote = event.version === 2 ? event.data.deliveryMemo : null;
  return {
    kind: 'requested',
    event: {
      type: 'FulfilmentRequested',
      version: 2,
      data: {
        fulfilmentId: orderId,
        lines: lines.lines,
        destination: destinationOf(event.data.deliveryAddress, courierNote),
        deliveryWindow: {
          earliest: event.data.deliverySlot.startsAt,
          latest: event.data.deliverySlot.endsAt,
        },
        dispatchWave: `WAVE-${slot.localDate}-${slot.code}`,
        deliveryZone: zone,
        cookedToOrderSkus: lines.lines
          .map((line) => line.sku)
          .filter((sku) => lookup(context.mapping.skus, sku)?.cookedToOrder === true),
      },
    },
  };
}

type MergedLines =
  | { readonly kind: 'merged'; readonly lines: readonly StockLine[] }
  | {
      readonly kind: 'invalid';
      readonly reason: RejectionReason;
      readonly field: string;
      readonly detail: string;
    };

/** Order lines to SKU lines, one per SKU (quantities summed), in order of first appearance. */
function mergeLines(orderLines: readonly OrderLine[], mapping: Mapping): MergedLines {
  if (orderLines.length === 0) {
    return { kind: 'invalid', reason: RejectionReason.NO_LINES, field: 'data.lines', detail: '[]' };
  }
  const quantities = new Map<string, number>();
  for (const [index, line] of orderLines.entries()) {
    if (!Number.isInteger(line.quantity) || line.quantity < 1) {
      return {
        kind: 'invalid',
        reason: RejectionReason.INVALID_QUANTITY,
        field: `data.lines[${index}].quantity`,
        detail: String(line.quantity),
      };
    }
    const components = lookup(mapping.products, line.productCode);
    // A component whose SKU is not defined means the map itself is broken; treat the product as unknown.
    if (components === undefined || components.some((c) => lookup(mapping.skus, c.sku) === undefined)) {
      return {
        kind: 'invalid',
        reason: RejectionReason.UNKNOWN_PRODUCT_CODE,
        field: `data.lines[${index}].productCode`,
        detail: line.productCode,
      };
    }
    for (const component of components) {
      quantities.set(
        component.sku,
        (quantities.get(component.sku) ?? 0) + component.quantity * line.quantity,
      );
    }
  }
  return { kind: 'merged', lines: [...quantities].map(([sku, quantity]) => ({ sku, quantity })) };
}

/**
 * The slot whose local window the storefront's window matches exactly (same start time of day,
 * same length), with the local date the window starts on.
 */
function slotOf(window: DeliverySlot, mapping: Mapping): { code: string; localDate: string } | undefined {
  const offsetMs = mapping.utcOffsetMinutes * 60_000;
  const local = new Date(window.startsAt.getTime() + offsetMs);
  const startMinute = local.getUTCHours() * 60 + local.getUTCMinutes();
  const durationMs = window.endsAt.getTime() - window.startsAt.getTime();
  const exactMinute = local.getUTCSeconds() === 0 && local.getUTCMilliseconds() === 0;
  for (const [code, slot] of Object.entries(mapping.slots)) {
    if (exactMinute && slot.startMinute === startMinute && slot.durationMinutes * 60_000 === durationMs) {
      const localDate = local.toISOString().slice(0, 10).replaceAll('-', '');
      return { code, localDate };
    }
  }
  return undefined;
}

const postalCodePattern = /^\d{5}$/;

/** Longest matching postal prefix wins, so `134` (Pangyo) beats `13` (Seongnam). */
export function zoneOf(postalCode: string, mapping: Mapping): string | undefined {
  if (!postalCodePattern.test(postalCode)) return undefined;
  for (let length = postalCode.length; length > 0; length -= 1) {
    const zone = lookup(mapping.zones, postalCode.slice(0, length));
    if (zone !== undefined) return zone;
  }
  return undefined;
}

function destinationOf(address: DeliveryAddress, courierNote: string | null): Destination {
  return {
    contactName: address.recipientName,
    contactPhone: address.phone,
    postalCode: address.postalCode,
    addressLine: address.roadAddress,
    addressDetail: address.detailAddress,
    courierNote,
  };
}

function translateOrderCancelled(event: OrderCancelledV1): Translation {
  const { orderId, reason, comment } = event.data;
  return {
    kind: 'cancelled',
    event: {
      type: 'FulfilmentCancelled',
      version: 1,
      // Free text for operators: SCM does not act on the storefront's reason codes.
      data: { fulfilmentId: orderId, reason: comment === null ? reason : `${reason}: ${comment}` },
    },
  };
}

function translateAddressChanged(event: DeliveryAddressChangedV1, context: TranslationContext): Translation {
  const { orderId, deliveryAddress } = event.data;
  const zone = zoneOf(deliveryAddress.postalCode, context.mapping);
  if (zone === undefined) {
    return {
      kind: 'rejected',
      orderId,
      reason: RejectionReason.UNKNOWN_ZONE,
      field: 'data.deliveryAddress.postalCode',
      detail: deliveryAddress.postalCode,
    };
  }
  return {
    kind: 'destination-changed',
    event: {
      type: 'FulfilmentDestinationChanged',
      version: 2,
      // DeliveryAddressChanged carries no memo, and the new destination replaces the old one
      // entirely, so a v2 order's courier note is lost on re-addressing (schema gap).
      data: {
        fulfilmentId: orderId,
        destination: destinationOf(deliveryAddress, null),
        deliveryZone: zone,
      },
    },
  };
}

/**
 * The SCM-side record of a rejection, so that the order's customer sees 주문보류 while the source
 * event waits in the adapter's dead-letter topic.
 */
export function rejectionEvent(rejection: Rejection): Content<FulfilmentRejectedV1> {
  const { orderId, reason, field, detail } = rejection;
  return {
    type: 'FulfilmentRejected',
    version: 1,
    data: { fulfilmentId: orderId, reason, field, detail },
  };
}

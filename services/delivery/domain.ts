/**
 * Delivery (배송·전달완료): one shipment per fulfilment, from "packed and addressed" to the
 * courier's hand-over or failure.
 *
 * Two streams feed a shipment: the fulfilment request (destination, window, wave, zone) from
 * `scm.fulfilment-requests`, and the packed parcel from `scm.warehouse-events`. They race, so
 * whichever comes first opens the shipment and neither overwrites what the other recorded.
 * The status is never set by hand: `evolve` derives it from the milestones recorded so far
 * (`statusOf`), so it cannot claim 'ready' before both the parcel and the destination are known,
 * and a late ParcelPacked cannot revive a cancelled shipment.
 *
 * Decisions about inputs that come late:
 * - a cancellation before dispatch stops the work and is announced (ShipmentCancelled); after
 *   dispatch the courier is already on the road, so it is recorded as refused (visible to
 *   operators) and changes nothing else; after a failure before dispatch there is nothing left
 *   to stop, so it is ignored. Delivery has the last word on a cancellation because only it
 *   knows whether the goods left: inventory releases the stock on ShipmentCancelled, which sits
 *   on the same partition as ShipmentDispatched and can never follow it, so the shelf and the
 *   courier always agree (on the cancellation request itself, the two could race across topics);
 * - a destination change applies until dispatch (even to a cancelled or failed shipment, which
 *   keeps its record current) and is ignored afterwards: the label on the parcel is what the
 *   courier follows, and the order context owns telling the customer;
 * - facts of the request or the parcel are still recorded after a cancellation (a parcel packed
 *   for a cancelled fulfilment is one the warehouse must unpack), but the status stays cancelled.
 */
import type { StageVisit } from '@runtime/journey';
import type { DeliveryFailureReason, Destination } from '@contracts/generated';
import {
  accepted,
  refused,
  unchanged,
  type Decider,
  type Decision,
  type Publication,
} from '@runtime/decider';

export const shipmentStatuses = [
  'awaiting-parcel',
  'awaiting-request',
  'ready',
  'dispatched',
  'delivered',
  'failed',
  'cancelled',
] as const;
export type ShipmentStatus = (typeof shipmentStatuses)[number];

/** ISO-8601 strings: the state is stored as is. */
export interface DeliveryWindowIso {
  readonly earliest: string;
  readonly latest: string;
}

export interface ShipmentState {
  readonly fulfilmentId: string;
  readonly shipmentId: string;
  /** Derived from the milestones below by every `evolve`; stored for queries. */
  readonly status: ShipmentStatus;
  readonly destination: Destination | null;
  readonly deliveryWindow: DeliveryWindowIso | null;
  readonly dispatchWave: string | null;
  readonly deliveryZone: string | null;
  readonly parcelCount: number | null;
  readonly courierId: string | null;
  readonly estimatedArrivalAt: string | null;
  readonly proofOfDelivery: string | null;
  readonly failure: { readonly reason: DeliveryFailureReason; readonly detail: string | null } | null;
  readonly cancellationReason: string | null;
  /** When a cancellation arrived after dispatch and was refused. */
  readonly cancellationRefusedAt: string | null;
  readonly requestedAt: string | null;
  readonly packedAt: string | null;
  readonly dispatchedAt: string | null;
  readonly deliveredAt: string | null;
  readonly failedAt: string | null;
  readonly cancelledAt: string | null;
}

export type DeliveryInput =
  | {
      readonly kind: 'FulfilmentRequested';
      readonly fulfilmentId: string;
      readonly destination: Destination;
      readonly deliveryWindow: DeliveryWindowIso;
      readonly dispatchWave: string | null;
      readonly deliveryZone: string | null;
      readonly requestedAt: string;
    }
  | {
      readonly kind: 'DestinationChanged';
      readonly fulfilmentId: string;
      readonly destination: Destination;
      readonly deliveryZone: string | null;
    }
  | { readonly kind: 'FulfilmentCancelled'; readonly fulfilmentId: string; readonly reason: string | null }
  | {
      readonly kind: 'ParcelPacked';
      readonly fulfilmentId: string;
      readonly parcelCount: number;
      readonly packedAt: string;
    }
  | { readonly kind: 'Dispatch'; readonly courierId: string; readonly estimatedArrivalAt: string | null }
  | { readonly kind: 'Deliver'; readonly proofOfDelivery: string | null }
  | { readonly kind: 'Fail'; readonly reason: DeliveryFailureReason; readonly detail: string | null };

export type DeliveryFact =
  | {
      readonly type: 'ShipmentRequested';
      readonly fulfilmentId: string;
      readonly destination: Destination;
      readonly deliveryWindow: DeliveryWindowIso;
      readonly dispatchWave: string | null;
      readonly deliveryZone: string | null;
      readonly requestedAt: string;
    }
  | {
      readonly type: 'DestinationChanged';
      readonly fulfilmentId: string;
      readonly destination: Destination;
      readonly deliveryZone: string | null;
    }
  | {
      readonly type: 'ParcelPacked';
      readonly fulfilmentId: string;
      readonly parcelCount: number;
      readonly packedAt: string;
    }
  | {
      readonly type: 'ShipmentCancelled';
      readonly fulfilmentId: string;
      readonly reason: string | null;
      readonly cancelledAt: string;
    }
  | {
      readonly type: 'CancellationRefused';
      readonly fulfilmentId: string;
      readonly reason: 'already dispatched';
      readonly refusedAt: string;
    }
  | {
      readonly type: 'ShipmentDispatched';
      readonly fulfilmentId: string;
      readonly shipmentId: string;
      readonly courierId: string;
      readonly estimatedArrivalAt: string | null;
      readonly dispatchedAt: string;
    }
  | {
      readonly type: 'ShipmentDelivered';
      readonly fulfilmentId: string;
      readonly shipmentId: string;
      readonly courierId: string;
      readonly proofOfDelivery: string | null;
      readonly deliveredAt: string;
    }
  | {
      readonly type: 'DeliveryFailed';
      readonly fulfilmentId: string;
      /** Null when it failed before dispatch, as the contract defines. */
      readonly shipmentId: string | null;
      readonly reason: DeliveryFailureReason;
      readonly detail: string | null;
      readonly failedAt: string;
    };

export const shipmentIdOf = (fulfilmentId: string): string => `SHP-${fulfilmentId}`;

/** The fulfilment a shipment id names (the inverse of `shipmentIdOf`); undefined for any other id. */
export function fulfilmentIdOf(shipmentId: string): string | undefined {
  return shipmentId.startsWith('SHP-') && shipmentId.length > 4 ? shipmentId.slice(4) : undefined;
}

/** The status the milestones add up to; terminal milestones win over progress. */
export function statusOf(state: Omit<ShipmentState, 'status'>): ShipmentStatus {
  if (state.cancelledAt !== null) return 'cancelled';
  if (state.failedAt !== null) return 'failed';
  if (state.deliveredAt !== null) return 'delivered';
  if (state.dispatchedAt !== null) return 'dispatched';
  if (state.packedAt === null) return 'awaiting-parcel';
  return state.requestedAt === null ? 'awaiting-request' : 'ready';
}

export interface ShipmentFilter {
  readonly wave?: string;
  readonly zone?: string;
  readonly status?: string;
}

/** Whether a shipment belongs in a dispatcher's list; an absent criterion matches everything. */
export function matchesShipmentFilter(state: ShipmentState, filter: ShipmentFilter): boolean {
  return (
    (filter.wave === undefined || state.dispatchWave === filter.wave) &&
    (filter.zone === undefined || state.deliveryZone === filter.zone) &&
    (filter.status === undefined || state.status === filter.status)
  );
}

function decide(input: DeliveryInput, state: ShipmentState | undefined, now: Date): Decision<DeliveryFact> {
  const at = now.toISOString();
  switch (input.kind) {
    case 'FulfilmentRequested': {
      if (state?.requestedAt != null) return unchanged;
      // A change seen before its request (a replay, a lost offset) is newer than the request's address.
      const changed = state?.destination != null;
      return accepted({
        type: 'ShipmentRequested',
        fulfilmentId: input.fulfilmentId,
        destination: state?.destination ?? input.destination,
        deliveryWindow: input.deliveryWindow,
        dispatchWave: input.dispatchWave,
        deliveryZone: changed ? state.deliveryZone : input.deliveryZone,
        requestedAt: input.requestedAt,
      });
    }
    case 'DestinationChanged': {
      if (state?.dispatchedAt != null) return unchanged;
      if (
        state?.destination != null &&
        sameDestination(state.destination, input.destination) &&
        state.deliveryZone === input.deliveryZone
      )
        return unchanged;
      const { fulfilmentId, destination, deliveryZone } = input;
      return accepted({ type: 'DestinationChanged', fulfilmentId, destination, deliveryZone });
    }
    case 'ParcelPacked': {
      if (state?.packedAt != null) return unchanged;
      const { fulfilmentId, parcelCount, packedAt } = input;
      return accepted({ type: 'ParcelPacked', fulfilmentId, parcelCount, packedAt });
    }
    case 'FulfilmentCancelled': {
      const fulfilmentId = input.fulfilmentId;
      if (state === undefined)
        return accepted({ type: 'ShipmentCancelled', fulfilmentId, reason: input.reason, cancelledAt: at });
      if (state.cancelledAt !== null || state.cancellationRefusedAt !== null) return unchanged;
      if (state.dispatchedAt !== null)
        return accepted({
          type: 'CancellationRefused',
          fulfilmentId,
          reason: 'already dispatched',
          refusedAt: at,
        });
      if (state.failedAt !== null) return unchanged;
      return accepted({ type: 'ShipmentCancelled', fulfilmentId, reason: input.reason, cancelledAt: at });
    }
    case 'Dispatch': {
      if (state === undefined) return notFound;
      if (state.courierId === input.courierId && state.estimatedArrivalAt === input.estimatedArrivalAt)
        return unchanged;
      if (state.status !== 'ready') return refused('CONFLICT', whyNot(state, 'dispatched'));
      return accepted({
        type: 'ShipmentDispatched',
        fulfilmentId: state.fulfilmentId,
        shipmentId: state.shipmentId,
        courierId: input.courierId,
        estimatedArrivalAt: input.estimatedArrivalAt,
        dispatchedAt: at,
      });
    }
    case 'Deliver': {
      if (state === undefined) return notFound;
      if (state.deliveredAt !== null && state.proofOfDelivery === input.proofOfDelivery) return unchanged;
      if (state.status !== 'dispatched' || state.courierId === null)
        return refused('CONFLICT', whyNot(state, 'marked delivered'));
      return accepted({
        type: 'ShipmentDelivered',
        fulfilmentId: state.fulfilmentId,
        shipmentId: state.shipmentId,
        courierId: state.courierId,
        proofOfDelivery: input.proofOfDelivery,
        deliveredAt: at,
      });
    }
    case 'Fail': {
      if (state === undefined) return notFound;
      if (state.failure?.reason === input.reason && state.failure.detail === input.detail) return unchanged;
      if (state.status !== 'ready' && state.status !== 'dispatched')
        return refused('CONFLICT', whyNot(state, 'marked failed'));
      return accepted({
        type: 'DeliveryFailed',
        fulfilmentId: state.fulfilmentId,
        shipmentId: state.dispatchedAt === null ? null : state.shipmentId,
        reason: input.reason,
        detail: input.detail,
        failedAt: at,
      });
    }
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

const notFound = refused('NOT_FOUND', 'There is no shipment for this fulfilment yet.');

/** Why a person's command does not fit the shipment's status, for the problem response. */
function whyNot(state: ShipmentState, action: string): string {
  const cannot = `Shipment ${state.shipmentId} cannot be ${action}`;
  switch (state.status) {
    case 'awaiting-parcel':
      return `${cannot}: its parcel has not been packed yet.`;
    case 'awaiting-request':
      return `${cannot}: its destination is not known yet (the fulfilment request has not arrived).`;
    case 'ready':
      return `${cannot}: it has not been dispatched yet.`;
    case 'dispatched':
      return `${cannot}: it was already dispatched with courier ${state.courierId} at ${state.dispatchedAt}.`;
    case 'delivered':
      return `${cannot}: it was already delivered at ${state.deliveredAt}.`;
    case 'failed':
      return `${cannot}: its delivery already failed (${state.failure?.reason}) at ${state.failedAt}.`;
    case 'cancelled': {
      const reason = state.cancellationReason === null ? '' : ` (${state.cancellationReason})`;
      return `${cannot}: the fulfilment was cancelled${reason} at ${state.cancelledAt}.`;
    }
    default: {
      const unreachable: never = state.status;
      return unreachable;
    }
  }
}

function evolve(state: ShipmentState | undefined, fact: DeliveryFact): ShipmentState {
  const current = state ?? opened(fact.fulfilmentId);
  const next = ((): Omit<ShipmentState, 'status'> => {
    switch (fact.type) {
      case 'ShipmentRequested': {
        const { destination, deliveryWindow, dispatchWave, deliveryZone, requestedAt } = fact;
        return { ...current, destination, deliveryWindow, dispatchWave, deliveryZone, requestedAt };
      }
      case 'DestinationChanged':
        return { ...current, destination: fact.destination, deliveryZone: fact.deliveryZone };
      case 'ParcelPacked':
        return { ...current, parcelCount: fact.parcelCount, packedAt: fact.packedAt };
      case 'ShipmentCancelled':
        return { ...current, cancellationReason: fact.reason, cancelledAt: fact.cancelledAt };
      case 'CancellationRefused':
        return { ...current, cancellationRefusedAt: fact.refusedAt };
      case 'ShipmentDispatched': {
        const { courierId, estimatedArrivalAt, dispatchedAt } = fact;
        return { ...current, courierId, estimatedArrivalAt, dispatchedAt };
      }
      case 'ShipmentDelivered':
        return { ...current, proofOfDelivery: fact.proofOfDelivery, deliveredAt: fact.deliveredAt };
      case 'DeliveryFailed':
        return { ...current, failure: { reason: fact.reason, detail: fact.detail }, failedAt: fact.failedAt };
      default: {
        const unreachable: never = fact;
        return unreachable;
      }
    }
  })();
  return { ...next, status: statusOf(next) };
}

function opened(fulfilmentId: string): ShipmentState {
  return {
    fulfilmentId,
    shipmentId: shipmentIdOf(fulfilmentId),
    status: 'awaiting-parcel',
    destination: null,
    deliveryWindow: null,
    dispatchWave: null,
    deliveryZone: null,
    parcelCount: null,
    courierId: null,
    estimatedArrivalAt: null,
    proofOfDelivery: null,
    failure: null,
    cancellationReason: null,
    cancellationRefusedAt: null,
    requestedAt: null,
    packedAt: null,
    dispatchedAt: null,
    deliveredAt: null,
    failedAt: null,
    cancelledAt: null,
  };
}

function publish(fact: DeliveryFact): readonly Publication[] {
  switch (fact.type) {
    case 'ShipmentDispatched': {
      const { fulfilmentId, shipmentId, courierId, estimatedArrivalAt } = fact;
      const eta = estimatedArrivalAt === null ? null : new Date(estimatedArrivalAt);
      const data = { fulfilmentId, shipmentId, courierId, estimatedArrivalAt: eta };
      return [{ type: 'ShipmentDispatched', version: 1, data }];
    }
    case 'ShipmentDelivered': {
      const { fulfilmentId, shipmentId, courierId, proofOfDelivery } = fact;
      return [
        {
          type: 'ShipmentDelivered',
          version: 1,
          data: { fulfilmentId, shipmentId, courierId, proofOfDelivery },
        },
      ];
    }
    case 'DeliveryFailed': {
      const { fulfilmentId, shipmentId, reason, detail } = fact;
      return [{ type: 'DeliveryFailed', version: 1, data: { fulfilmentId, shipmentId, reason, detail } }];
    }
    case 'ShipmentCancelled': {
      // Inventory puts the stock back on the shelf on this, not on the cancellation request.
      const { fulfilmentId, reason } = fact;
      return [{ type: 'ShipmentCancelled', version: 1, data: { fulfilmentId, reason } }];
    }
    case 'ShipmentRequested':
    case 'DestinationChanged':
    case 'ParcelPacked':
    case 'CancellationRefused':
      return [];
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

function sameDestination(a: Destination, b: Destination): boolean {
  return (
    a.contactName === b.contactName &&
    a.contactPhone === b.contactPhone &&
    a.postalCode === b.postalCode &&
    a.addressLine === b.addressLine &&
    a.addressDetail === b.addressDetail &&
    a.courierNote === b.courierNote
  );
}

export const decider: Decider<ShipmentState, DeliveryInput, DeliveryFact> = { decide, evolve, publish };

/**
 * Delivery's two journey stages: `dispatch` from the shipment being ready (its request and its
 * parcel both known) to the courier leaving with it, `transit` from then to delivery or failure.
 * A cancellation can only leave `dispatch`: after dispatch it is refused.
 */
export function shipmentStages(shipment: ShipmentState): readonly StageVisit[] {
  const { requestedAt, packedAt, dispatchedAt, deliveredAt, failedAt, cancelledAt } = shipment;
  const readyAt =
    requestedAt !== null && packedAt !== null ? (requestedAt > packedAt ? requestedAt : packedAt) : null;
  const dispatchFrom =
    readyAt !== null && (cancelledAt === null || cancelledAt >= readyAt || dispatchedAt !== null)
      ? readyAt
      : null;
  return [
    {
      stage: 'dispatch',
      enteredAt: dispatchFrom,
      left:
        dispatchedAt !== null
          ? { at: dispatchedAt, outcome: 'completed' }
          : dispatchFrom !== null && cancelledAt !== null
            ? { at: cancelledAt, outcome: 'cancelled' }
            : null,
    },
    {
      stage: 'transit',
      enteredAt: dispatchedAt,
      left:
        deliveredAt !== null
          ? { at: deliveredAt, outcome: 'completed' }
          : failedAt !== null
            ? { at: failedAt, outcome: 'failed' }
            : null,
    },
  ];
}

/**
 * Inventory: the stock of each SKU, and a reservation per fulfilment.
 *
 * Why two aggregates: the store writes one document at a time (no multi-document transactions),
 * so "reserve every line or none" cannot be one decision. Each SKU's stock grants or refuses a
 * hold for one fulfilment; the reservation records the outcome for the whole request and is the
 * only one that tells other contexts (StockReserved, StockShortage, StockReleased). The wiring
 * runs this protocol between them. Every step is idempotent (a stock holds at most one hold per
 * fulfilment; the reservation moves by status), so after a crash at any step, redoing the steps
 * converges:
 *
 * 1. FulfilmentRequested: `Request`. Whatever the outcome (new, known, duplicate), a `waiting`
 *    reservation gets an attempt (2-3); the others get their `stockFollowUp` (7).
 * 2. Attempt, quick check: `shortagesOf(lines, stocks, fulfilmentId)`. Not empty: `Short` with it,
 *    no hold taken.
 * 3. `Hold` each line of `holdOrder(lines)` on its SKU. A line is held when the stock's state after
 *    the step has a hold for the fulfilment (a new Held or an existing one); otherwise its
 *    shortage is the HoldRefused fact's `{ sku, requested, available }`.
 *    - Every line held: `AllHeld`, then the reservation's `stockFollowUp`: if it was cancelled
 *      meanwhile, that releases what this attempt took.
 *    - A line refused: `Release` every line, then `Short`. Releasing before saying Short keeps it
 *      all or nothing: at rest a waiting reservation holds nothing.
 * 4. Stock freed (a `Receive` accepted, or a cancellation's releases in 5): retry
 *    `waitingOldestFirst(reservations)`, each through 2-3. One still short does not block the
 *    younger ones behind it (a large order would otherwise stall every other).
 * 5. ShipmentCancelled: `Cancel`, then its `stockFollowUp` (Release every line) and the
 *    retries of 4, even when the Cancel changed nothing (a crash may have come in between).
 *    Delivery writes it once it has accepted a cancellation before any courier left. On the
 *    request itself (FulfilmentCancelled, another topic) the stock of a parcel that left all
 *    the same could go back on the shelf: the two topics race, and delivery may refuse.
 *    Cancel first: an attempt in flight then either reserved before it (its holds are released
 *    here) or finds it released after AllHeld and releases its own (3). Releasing first would
 *    miss a hold taken in between.
 * 6. ShipmentDispatched: `Shipped`, then its `stockFollowUp` (Ship every line). Delivery writes
 *    at most one of ShipmentCancelled and ShipmentDispatched per fulfilment, on one partition;
 *    should both ever come (a replay, an operator's event), whichever reaches the reservation
 *    first decides what happens to the holds, and the other is unchanged.
 * 7. `stockFollowUp(reservation)` is the rule for holds at rest: released, none; shipped, none
 *    and the goods gone (Ship); reserved, every line; waiting, none.
 *
 * Why `holdOrder` (by SKU): two attempts taking holds in different orders, with stock for one of
 * them, could each take a line the other needs, both be refused and both release: neither is
 * served, and the retries can repeat it forever. In one global order the first to reach the
 * contended SKU takes it and the other is refused before holding anything.
 *
 * What the wiring must guarantee:
 * - Hold, Release and Ship are idempotent by fulfilment: give each a fresh cause id, not one
 *   derived from the event. A redelivered Hold recognised as a duplicate would skip the decision
 *   though its hold may have been released since, and the attempt would misread it as refused.
 *   Receive is the one stock input deduped by its cause (the receipt's command id).
 * - Attempts of one fulfilment do not overlap (run them on the fulfilment's key), or one
 *   attempt's releases could undo holds the other then reports as AllHeld.
 * - A crashed attempt leaves holds on a waiting reservation until its next attempt (a
 *   redelivery, the next receipt, or a sweep of waiting reservations at start-up).
 */
import type { StageVisit } from '@runtime/journey';
import type { Shortage, StockLine } from '@contracts/generated';
import {
  accepted,
  evolveAll,
  refused,
  unchanged,
  type Decider,
  type Decision,
  type Publication,
} from '@runtime/decider';

// ---------------------------------------------------------------------------------------------
// Stock: one aggregate per SKU, keyed by the SKU.

/** Invariants: reserved = sum of holds; 0 <= reserved <= onHand. Never seen = zero stock. */
export interface StockState {
  readonly sku: string;
  /** Units in the warehouse, the reserved ones included. */
  readonly onHand: number;
  /** Units promised to fulfilments not shipped yet. */
  readonly reserved: number;
  /** Units held per fulfilment id: one hold per fulfilment, so a repeated Hold is a no-op. */
  readonly holds: Readonly<Record<string, number>>;
}

/** Every input names its SKU, so a SKU never seen can be decided on (as zero stock). */
export type StockInput =
  | { readonly kind: 'Hold'; readonly sku: string; readonly fulfilmentId: string; readonly quantity: number }
  | { readonly kind: 'Release'; readonly sku: string; readonly fulfilmentId: string }
  /** The goods left with the courier: the hold leaves the shelf with them. */
  | { readonly kind: 'Ship'; readonly sku: string; readonly fulfilmentId: string }
  /** Not idempotent by content (two deliveries may be alike): the wiring dedupes by command id. */
  | {
      readonly kind: 'Receive';
      readonly sku: string;
      readonly quantity: number;
      readonly supplierReference: string | null;
    }
  /** An operator sets the counted stock. */
  | { readonly kind: 'Count'; readonly sku: string; readonly onHand: number };

interface HoldChange {
  readonly sku: string;
  readonly fulfilmentId: string;
  readonly quantity: number;
}

export type StockFact =
  | ({ readonly type: 'Held' | 'Released' | 'Shipped' } & HoldChange)
  /** An outcome, not an error: it changes nothing, the wiring reads it from the decision. */
  | {
      readonly type: 'HoldRefused';
      readonly sku: string;
      readonly fulfilmentId: string;
      readonly requested: number;
      readonly available: number;
    }
  | {
      readonly type: 'Received';
      readonly sku: string;
      readonly quantity: number;
      /** After the receipt: carried by the fact so the publication never depends on the fold. */
      readonly onHand: number;
      readonly supplierReference: string | null;
    }
  | { readonly type: 'Counted'; readonly sku: string; readonly onHand: number };

const noStock = (sku: string): StockState => ({ sku, onHand: 0, reserved: 0, holds: {} });

const isWholeNumber = (n: number, atLeast: number): boolean => Number.isInteger(n) && n >= atLeast;

function decideStock(input: StockInput, state: StockState | undefined): Decision<StockFact> {
  const stock = state ?? noStock(input.sku);
  const { sku } = stock;
  switch (input.kind) {
    case 'Hold': {
      const { fulfilmentId, quantity } = input;
      if (!isWholeNumber(quantity, 1))
        return refused(
          'CONFLICT',
          `Cannot hold ${quantity} of ${sku} for ${fulfilmentId}: a hold is a whole number of units, at least 1.`,
        );
      if (stock.holds[fulfilmentId] !== undefined) return unchanged;
      const available = availableOf(stock);
      return available >= quantity
        ? accepted({ type: 'Held', sku, fulfilmentId, quantity })
        : accepted({ type: 'HoldRefused', sku, fulfilmentId, requested: quantity, available });
    }
    case 'Release':
    case 'Ship': {
      const { fulfilmentId } = input;
      const quantity = stock.holds[fulfilmentId];
      if (quantity === undefined) return unchanged;
      return input.kind === 'Release'
        ? accepted({ type: 'Released', sku, fulfilmentId, quantity })
        : accepted({ type: 'Shipped', sku, fulfilmentId, quantity });
    }
    case 'Receive': {
      const { quantity, supplierReference } = input;
      if (!isWholeNumber(quantity, 1))
        return refused(
          'CONFLICT',
          `Cannot receive ${quantity} of ${sku}: a receipt is a whole number of units, at least 1.`,
        );
      return accepted({
        type: 'Received',
        sku,
        quantity,
        onHand: stock.onHand + quantity,
        supplierReference,
      });
    }
    case 'Count': {
      const { onHand } = input;
      if (!isWholeNumber(onHand, 0))
        return refused(
          'CONFLICT',
          `Cannot count ${sku} at ${onHand}: a count is a whole number of units, 0 or more.`,
        );
      if (onHand < stock.reserved)
        return refused(
          'CONFLICT',
          `Cannot count ${sku} at ${onHand}: ${stock.reserved} units are held for fulfilments not shipped yet. ` +
            'Recount, or cancel those fulfilments first.',
        );
      return onHand === stock.onHand ? unchanged : accepted({ type: 'Counted', sku, onHand });
    }
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function evolveStock(state: StockState | undefined, fact: StockFact): StockState {
  const stock = state ?? noStock(fact.sku);
  switch (fact.type) {
    case 'Held':
      return {
        ...stock,
        reserved: stock.reserved + fact.quantity,
        holds: { ...stock.holds, [fact.fulfilmentId]: fact.quantity },
      };
    case 'Released':
      return {
        ...stock,
        reserved: stock.reserved - fact.quantity,
        holds: without(stock.holds, fact.fulfilmentId),
      };
    case 'Shipped':
      return {
        ...stock,
        onHand: stock.onHand - fact.quantity,
        reserved: stock.reserved - fact.quantity,
        holds: without(stock.holds, fact.fulfilmentId),
      };
    case 'HoldRefused':
      return stock;
    case 'Received':
      return { ...stock, onHand: stock.onHand + fact.quantity };
    case 'Counted':
      return { ...stock, onHand: fact.onHand };
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

const without = (holds: Readonly<Record<string, number>>, fulfilmentId: string): Record<string, number> =>
  Object.fromEntries(Object.entries(holds).filter(([id]) => id !== fulfilmentId));

function publishStock(fact: StockFact): readonly Publication[] {
  switch (fact.type) {
    case 'Received': {
      const { sku, quantity, onHand, supplierReference } = fact;
      return [{ type: 'StockReceived', version: 1, data: { sku, quantity, onHand, supplierReference } }];
    }
    // Holds are the inner workings of a reservation: the reservation speaks for them.
    case 'Held':
    case 'HoldRefused':
    case 'Released':
    case 'Shipped':
    case 'Counted':
      return [];
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

export const stockDecider: Decider<StockState, StockInput, StockFact> = {
  decide: decideStock,
  evolve: evolveStock,
  publish: publishStock,
};

// ---------------------------------------------------------------------------------------------
// Reservation: one aggregate per fulfilment, keyed by the fulfilment id.

export type ReservationStatus = 'waiting' | 'reserved' | 'released' | 'shipped';

/** Stored as is: plain JSON, times as ISO-8601 strings, null for "not yet". */
export interface ReservationState {
  readonly fulfilmentId: string;
  /** As requested (StockReserved announces exactly these); empty until the request arrives. */
  readonly lines: readonly StockLine[];
  readonly status: ReservationStatus;
  /** What a waiting reservation lacked at its last attempt, by SKU; empty once reserved. */
  readonly shortages: readonly Shortage[];
  /**
   * Null when the cancellation arrived before the request: the reservation is then released
   * with nothing held, and the request that follows is recorded but never held.
   */
  readonly requestedAt: string | null;
  readonly reservedAt: string | null;
  readonly releasedAt: string | null;
  readonly shippedAt: string | null;
  /** StockShortage goes out once: the storefront shows 입고대기, not one notice per retry. */
  readonly shortageReported: boolean;
}

/** Every input names its fulfilment, so a cancellation can come before the request. */
export type ReservationInput =
  | {
      readonly kind: 'Request';
      readonly fulfilmentId: string;
      readonly lines: readonly StockLine[];
      readonly requestedAt: string;
    }
  /** The wiring holds every line (protocol step 3). */
  | { readonly kind: 'AllHeld'; readonly fulfilmentId: string }
  /** A hold was refused and the wiring released the others (or the quick check found a lack). */
  | { readonly kind: 'Short'; readonly fulfilmentId: string; readonly shortages: readonly Shortage[] }
  | { readonly kind: 'Cancel'; readonly fulfilmentId: string }
  | { readonly kind: 'Shipped'; readonly fulfilmentId: string };

export type ReservationFact =
  | {
      readonly type: 'Requested';
      readonly fulfilmentId: string;
      readonly lines: readonly StockLine[];
      readonly requestedAt: string;
    }
  | {
      readonly type: 'Reserved';
      readonly fulfilmentId: string;
      readonly lines: readonly StockLine[];
      readonly reservedAt: string;
    }
  | {
      readonly type: 'FoundShort';
      readonly fulfilmentId: string;
      readonly shortages: readonly Shortage[];
      /** Decided with the state before, as `publish` sees only the state after. */
      readonly firstReport: boolean;
    }
  | {
      readonly type: 'ReleasedOnCancel';
      readonly fulfilmentId: string;
      /** What was held: the lines when reserved, none when still waiting or not requested. */
      readonly lines: readonly StockLine[];
      readonly releasedAt: string;
    }
  | { readonly type: 'Shipped'; readonly fulfilmentId: string; readonly shippedAt: string };

const noReservation = (fulfilmentId: string): ReservationState => ({
  fulfilmentId,
  lines: [],
  status: 'waiting',
  shortages: [],
  requestedAt: null,
  reservedAt: null,
  releasedAt: null,
  shippedAt: null,
  shortageReported: false,
});

function decideReservation(
  input: ReservationInput,
  state: ReservationState | undefined,
  now: Date,
): Decision<ReservationFact> {
  const { fulfilmentId } = input;
  const at = now.toISOString();
  switch (input.kind) {
    case 'Request': {
      if (state !== undefined && state.requestedAt !== null) return unchanged;
      // Recorded, lines that no hold can take would leave a reservation whose every attempt
      // fails, and with it every attempt batched beside it (receipts, cancellations' retries).
      const problem = invalidRequestLines(input.lines);
      if (problem !== undefined) return refused('CONFLICT', problem);
      return accepted({
        type: 'Requested',
        fulfilmentId,
        lines: input.lines,
        requestedAt: input.requestedAt,
      });
    }
    case 'AllHeld':
      return state?.status === 'waiting'
        ? accepted({ type: 'Reserved', fulfilmentId, lines: state.lines, reservedAt: at })
        : unchanged;
    case 'Short': {
      // Once reserved, released or shipped, a late report of an older attempt is moot.
      if (state?.status !== 'waiting' || input.shortages.length === 0) return unchanged;
      const shortages = [...input.shortages].sort(bySku);
      if (state.shortageReported && sameShortages(state.shortages, shortages)) return unchanged;
      return accepted({ type: 'FoundShort', fulfilmentId, shortages, firstReport: !state.shortageReported });
    }
    case 'Cancel':
      if (state === undefined || state.status === 'waiting' || state.status === 'reserved')
        return accepted({
          type: 'ReleasedOnCancel',
          fulfilmentId,
          lines: state?.status === 'reserved' ? state.lines : [],
          releasedAt: at,
        });
      // Released already (a duplicate), or shipped: too late, the goods left with the courier.
      return unchanged;
    case 'Shipped':
      // Only a reserved fulfilment is dispatched; after a cancellation its holds are gone, and a
      // count puts the shelf right if the parcel left all the same.
      return state?.status === 'reserved'
        ? accepted({ type: 'Shipped', fulfilmentId, shippedAt: at })
        : unchanged;
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function evolveReservation(state: ReservationState | undefined, fact: ReservationFact): ReservationState {
  const current = state ?? noReservation(fact.fulfilmentId);
  switch (fact.type) {
    case 'Requested':
      // Keeps the status: a request after its cancellation stays released.
      return { ...current, lines: fact.lines, requestedAt: fact.requestedAt };
    case 'Reserved':
      return { ...current, status: 'reserved', shortages: [], reservedAt: fact.reservedAt };
    case 'FoundShort':
      return { ...current, shortages: fact.shortages, shortageReported: true };
    case 'ReleasedOnCancel':
      return { ...current, status: 'released', releasedAt: fact.releasedAt };
    case 'Shipped':
      return { ...current, status: 'shipped', shippedAt: fact.shippedAt };
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

function publishReservation(fact: ReservationFact): readonly Publication[] {
  const { fulfilmentId } = fact;
  switch (fact.type) {
    case 'Reserved':
      return [{ type: 'StockReserved', version: 1, data: { fulfilmentId, lines: fact.lines } }];
    case 'FoundShort':
      return fact.firstReport
        ? [{ type: 'StockShortage', version: 1, data: { fulfilmentId, shortages: fact.shortages } }]
        : [];
    case 'ReleasedOnCancel':
      // Also for a cancellation before the request (no lines): it confirms 취소 to the storefront.
      return [
        {
          type: 'StockReleased',
          version: 1,
          data: { fulfilmentId, lines: fact.lines, reason: 'FULFILMENT_CANCELLED' },
        },
      ];
    case 'Requested':
    case 'Shipped':
      return [];
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

export const reservationDecider: Decider<ReservationState, ReservationInput, ReservationFact> = {
  decide: decideReservation,
  evolve: evolveReservation,
  publish: publishReservation,
};

// ---------------------------------------------------------------------------------------------
// Helpers for the wiring's protocol (see the module comment).

/**
 * Why a request's lines cannot be reserved, or undefined when they can: the contract says a
 * request is never empty and holds are whole units, at least 1. The adapter never writes
 * anything else; this guards against any other writer of the topic.
 */
export function invalidRequestLines(lines: readonly StockLine[]): string | undefined {
  if (lines.length === 0) return 'the request has no lines';
  for (const [i, { sku, quantity }] of lines.entries()) {
    if (sku.trim() === '') return `line ${i + 1} names no SKU`;
    if (!isWholeNumber(quantity, 1))
      return `line ${i + 1} (${sku}): quantity ${quantity} is not a whole number of units, at least 1`;
  }
  return undefined;
}

/** Units a new hold may take; a SKU never seen has none. */
export function availableOf(stock: StockState | undefined): number {
  return stock === undefined ? 0 : stock.onHand - stock.reserved;
}

const bySku = (a: { readonly sku: string }, b: { readonly sku: string }): number =>
  a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0;

/**
 * The holds to take, one per SKU (a SKU listed twice is held once for the sum, as a stock keeps
 * one hold per fulfilment), in the one order every attempt follows: by SKU, by code unit.
 */
export function holdOrder(lines: readonly StockLine[]): StockLine[] {
  const totals = new Map<string, number>();
  for (const { sku, quantity } of lines) totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  return [...totals].map(([sku, quantity]) => ({ sku, quantity })).sort(bySku);
}

/**
 * What the fulfilment's lines would lack now, by SKU: empty when every hold would be granted.
 * A hold the fulfilment has already (left by a crashed attempt) counts as granted, as Hold finds
 * it so; counted as taken, it would make a redelivered attempt report its own hold as a shortage.
 */
export function shortagesOf(
  lines: readonly StockLine[],
  stocks: Readonly<Record<string, StockState | undefined>>,
  fulfilmentId: string,
): Shortage[] {
  return holdOrder(lines).flatMap(({ sku, quantity }) => {
    const stock = stocks[sku];
    if (stock?.holds[fulfilmentId] !== undefined) return [];
    const available = availableOf(stock);
    return available < quantity ? [{ sku, requested: quantity, available }] : [];
  });
}

/** An attempt's quick check (protocol step 2): the holds to take, or why none are taken. */
export type AttemptPlan =
  | { readonly fulfilmentId: string; readonly holds: readonly StockLine[] }
  | { readonly fulfilmentId: string; readonly shortages: readonly Shortage[] };

/**
 * The quick checks of several waiting reservations at once, first come, first served in the
 * order given: each sees the stock as the holds planned before it leave it (folded with the
 * stock decider itself), so one batch of attempts reads each SKU once and still serves the
 * oldest first. The holds are then taken for real (step 3), where a change of stock since the
 * read shows as a HoldRefused.
 */
export function planAttempts(
  waiting: readonly ReservationState[],
  stocks: Readonly<Record<string, StockState | undefined>>,
  now: Date,
): AttemptPlan[] {
  const running: Record<string, StockState | undefined> = { ...stocks };
  return waiting.map(({ fulfilmentId, lines }) => {
    const holds = holdOrder(lines);
    const shortages = shortagesOf(holds, running, fulfilmentId);
    if (shortages.length > 0) return { fulfilmentId, shortages };
    for (const { sku, quantity } of holds) {
      const decision = stockDecider.decide({ kind: 'Hold', sku, fulfilmentId, quantity }, running[sku], now);
      if (decision.kind === 'accepted') running[sku] = evolveAll(stockDecider, running[sku], decision.facts);
    }
    return { fulfilmentId, holds };
  });
}

/** What the stocks must do to agree with a reservation at rest: release or ship its holds. */
export function stockFollowUp(reservation: ReservationState | undefined): StockInput[] {
  if (reservation === undefined) return [];
  const { fulfilmentId, status } = reservation;
  switch (status) {
    case 'released':
      return holdOrder(reservation.lines).map(({ sku }) => ({ kind: 'Release', sku, fulfilmentId }));
    case 'shipped':
      return holdOrder(reservation.lines).map(({ sku }) => ({ kind: 'Ship', sku, fulfilmentId }));
    case 'waiting':
    case 'reserved':
      return [];
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

/** The waiting reservations in the order freed stock retries them: first come, first served. */
export function waitingOldestFirst(reservations: readonly ReservationState[]): ReservationState[] {
  const key = (r: ReservationState): string => `${r.requestedAt ?? ''}\u0000${r.fulfilmentId}`;
  return reservations
    .filter((r) => r.status === 'waiting' && r.requestedAt !== null)
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function sameShortages(a: readonly Shortage[], b: readonly Shortage[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) => x.sku === b[i]?.sku && x.requested === b[i]?.requested && x.available === b[i]?.available,
    )
  );
}

/**
 * The journey's first stage, `reservation`: from the request to the stock being held (waiting for
 * stock included), or to its release when the fulfilment is cancelled first.
 */
export function reservationStages(reservation: ReservationState): readonly StageVisit[] {
  const { requestedAt, reservedAt, releasedAt } = reservation;
  const left =
    requestedAt === null
      ? null
      : reservedAt !== null
        ? { at: reservedAt, outcome: 'completed' as const }
        : releasedAt !== null
          ? { at: releasedAt, outcome: 'cancelled' as const }
          : null;
  return [{ stage: 'reservation', enteredAt: requestedAt, left }];
}

/**
 * The kitchen (요리): one aggregate per fulfilment, keyed by the fulfilment id.
 *
 * A kitchen task only makes sense for an order that was both requested (what to cook) and
 * reserved (the ingredients are ours). The two arrive on different topics in either order, so
 * the aggregate notes whichever comes first and opens the task on the second. A fulfilment with
 * nothing cooked to order never reaches the kitchen: it is skipped, and picking starts at once.
 *
 *   awaiting-request ─┐                      ┌─> skipped (CookingSkipped)
 *                     ├─ (both known) ───────┤
 *   awaiting-stock ───┘                      └─> waiting ─StartCooking─> cooking ─CompleteCooking─> completed
 *                                                  (CookingStarted)        (CookingCompleted)
 *   any state before completed or skipped ─FulfilmentCancelled─> cancelled (private: nothing is published)
 */
import type { StageVisit } from '@runtime/journey';
import type { StockLine } from '@contracts/generated';
import {
  accepted,
  refused,
  unchanged,
  type Decider,
  type Decision,
  type Publication,
  type Refusal,
} from '@runtime/decider';

export type KitchenTaskStatus =
  | 'awaiting-request'
  | 'awaiting-stock'
  | 'waiting'
  | 'cooking'
  | 'completed'
  | 'skipped'
  | 'cancelled';

export interface CookedItem {
  readonly sku: string;
  readonly quantity: number;
}

/** Stored as is: plain JSON, times as ISO-8601 strings, null for "not yet" or "none". */
export interface KitchenTask {
  readonly fulfilmentId: string;
  readonly taskId: string;
  readonly status: KitchenTaskStatus;
  /** Lets the kitchen cook in the order the vans leave; null for v1 requests. */
  readonly dispatchWave: string | null;
  /** The request's lines that are cooked to order; empty until the request is known. */
  readonly items: readonly CookedItem[];
  readonly station: string | null;
  readonly expectedReadyAt: string | null;
  readonly requestedAt: string | null;
  readonly reservedAt: string | null;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly cancelledAt: string | null;
  readonly cancelReason: string | null;
}

export type KitchenInput =
  | {
      readonly kind: 'FulfilmentRequested';
      readonly fulfilmentId: string;
      readonly lines: readonly StockLine[];
      /** Empty for FulfilmentRequested v1, whose writers knew nothing of the kitchen. */
      readonly cookedToOrderSkus: readonly string[];
      readonly dispatchWave: string | null;
      readonly requestedAt: string;
    }
  | { readonly kind: 'StockReserved'; readonly fulfilmentId: string; readonly reservedAt: string }
  | { readonly kind: 'FulfilmentCancelled'; readonly fulfilmentId: string; readonly reason: string | null }
  | {
      readonly kind: 'StartCooking';
      readonly station: string | null;
      readonly expectedReadyAt: string | null;
    }
  | { readonly kind: 'CompleteCooking' };

/** What is known of the request once it has arrived. */
interface RequestPart {
  readonly items: readonly CookedItem[];
  readonly dispatchWave: string | null;
  readonly requestedAt: string;
}

/**
 * The facts that bring a task into being carry everything it needs, so that `evolve` and
 * `publish` never depend on which of the request and the reservation came first.
 */
export type KitchenFact =
  | ({ readonly type: 'RequestNoted'; readonly fulfilmentId: string } & RequestPart)
  | { readonly type: 'ReservationNoted'; readonly fulfilmentId: string; readonly reservedAt: string }
  | ({
      readonly type: 'TaskOpened' | 'CookingSkipped';
      readonly fulfilmentId: string;
      readonly reservedAt: string;
    } & RequestPart)
  | {
      readonly type: 'CookingStarted';
      readonly fulfilmentId: string;
      readonly station: string | null;
      readonly expectedReadyAt: string | null;
      readonly startedAt: string;
    }
  | { readonly type: 'CookingCompleted'; readonly fulfilmentId: string; readonly completedAt: string }
  | {
      readonly type: 'TaskCancelled';
      readonly fulfilmentId: string;
      readonly reason: string | null;
      readonly cancelledAt: string;
    };

export const taskIdFor = (fulfilmentId: string): string => `KT-${fulfilmentId}`;

/** The fulfilment behind a task id from a URL; null when it is not a kitchen task id. */
export const fulfilmentIdOfTask = (taskId: string): string | null =>
  taskId.startsWith('KT-') && taskId.length > 3 ? taskId.slice(3) : null;

/** Tasks the kitchen still has to work on: the "waiting in the kitchen" list. */
export const isOpenTask = (state: KitchenTask): boolean =>
  state.status === 'waiting' || state.status === 'cooking';

/**
 * When the task opened: the later of the request and the reservation, since it takes both. Null
 * until both are known. Both are `toISOString()` strings, so they compare as text.
 */
export const openedAt = (state: KitchenTask): string | null =>
  state.requestedAt === null || state.reservedAt === null
    ? null
    : state.requestedAt > state.reservedAt
      ? state.requestedAt
      : state.reservedAt;

export const decider: Decider<KitchenTask, KitchenInput, KitchenFact> = { decide, evolve, publish };

function decide(input: KitchenInput, state: KitchenTask | undefined, now: Date): Decision<KitchenFact> {
  switch (input.kind) {
    case 'FulfilmentRequested': {
      if (state !== undefined && state.status !== 'awaiting-request') return unchanged;
      const { fulfilmentId } = input;
      const cooked = new Set(input.cookedToOrderSkus);
      const request: RequestPart = {
        items: input.lines
          .filter((line) => cooked.has(line.sku))
          .map(({ sku, quantity }) => ({ sku, quantity })),
        dispatchWave: input.dispatchWave,
        requestedAt: input.requestedAt,
      };
      return state?.reservedAt == null
        ? accepted({ type: 'RequestNoted', fulfilmentId, ...request })
        : accepted(opened(fulfilmentId, request, state.reservedAt));
    }
    case 'StockReserved': {
      if (state !== undefined && state.status !== 'awaiting-stock') return unchanged;
      const { fulfilmentId, reservedAt } = input;
      const request = state && requestOf(state);
      return request == null
        ? accepted({ type: 'ReservationNoted', fulfilmentId, reservedAt })
        : accepted(opened(fulfilmentId, request, reservedAt));
    }
    case 'FulfilmentCancelled':
      // Work done stays done: picking may already have the dish, and a skipped fulfilment never
      // had kitchen work to stop.
      if (
        state &&
        (state.status === 'completed' || state.status === 'skipped' || state.status === 'cancelled')
      )
        return unchanged;
      return accepted({
        type: 'TaskCancelled',
        fulfilmentId: input.fulfilmentId,
        reason: input.reason,
        cancelledAt: now.toISOString(),
      });
    case 'StartCooking': {
      const task = taskAtHand(state);
      if ('kind' in task) return task;
      if (task.status === 'cooking') return refused('CONFLICT', `${task.taskId} is already being cooked`);
      if (task.status === 'completed') return refused('CONFLICT', `${task.taskId} is already cooked`);
      return accepted({
        type: 'CookingStarted',
        fulfilmentId: task.fulfilmentId,
        station: input.station,
        expectedReadyAt: input.expectedReadyAt,
        startedAt: now.toISOString(),
      });
    }
    case 'CompleteCooking': {
      const task = taskAtHand(state);
      if ('kind' in task) return task;
      if (task.status === 'waiting')
        return refused('CONFLICT', `${task.taskId} has not been started: start cooking first`);
      if (task.status === 'completed') return refused('CONFLICT', `${task.taskId} is already cooked`);
      return accepted({
        type: 'CookingCompleted',
        fulfilmentId: task.fulfilmentId,
        completedAt: now.toISOString(),
      });
    }
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function opened(fulfilmentId: string, request: RequestPart, reservedAt: string): KitchenFact {
  return {
    type: request.items.length > 0 ? 'TaskOpened' : 'CookingSkipped',
    fulfilmentId,
    reservedAt,
    ...request,
  };
}

function requestOf(state: KitchenTask): RequestPart | null {
  const { items, dispatchWave, requestedAt } = state;
  return requestedAt === null ? null : { items, dispatchWave, requestedAt };
}

type TaskAtHand = KitchenTask & { readonly status: 'waiting' | 'cooking' | 'completed' };

/** The task a kitchen command acts on, or why there is none to act on. */
function taskAtHand(state: KitchenTask | undefined): TaskAtHand | Refusal {
  if (state === undefined || state.status === 'awaiting-request' || state.status === 'awaiting-stock')
    return refused(
      'NOT_FOUND',
      'No kitchen task for this fulfilment yet: it opens once the order is requested and its stock reserved',
    );
  switch (state.status) {
    case 'cancelled':
      return refused(
        'CONFLICT',
        `${state.taskId} was cancelled${state.cancelReason ? ` (${state.cancelReason})` : ''}: the order is no longer to be cooked`,
      );
    case 'skipped':
      return refused(
        'CONFLICT',
        `${state.fulfilmentId} has nothing cooked to order: it went straight to picking`,
      );
    case 'waiting':
    case 'cooking':
    case 'completed':
      return { ...state, status: state.status };
    default: {
      const unreachable: never = state.status;
      return unreachable;
    }
  }
}

function evolve(state: KitchenTask | undefined, fact: KitchenFact): KitchenTask {
  const current = state ?? blank(fact.fulfilmentId);
  switch (fact.type) {
    case 'RequestNoted': {
      const { items, dispatchWave, requestedAt } = fact;
      return { ...current, status: 'awaiting-stock', items, dispatchWave, requestedAt };
    }
    case 'ReservationNoted':
      return { ...current, status: 'awaiting-request', reservedAt: fact.reservedAt };
    case 'TaskOpened':
    case 'CookingSkipped': {
      const { items, dispatchWave, requestedAt, reservedAt } = fact;
      const status = fact.type === 'TaskOpened' ? 'waiting' : 'skipped';
      return { ...current, status, items, dispatchWave, requestedAt, reservedAt };
    }
    case 'CookingStarted': {
      const { station, expectedReadyAt, startedAt } = fact;
      return { ...current, status: 'cooking', station, expectedReadyAt, startedAt };
    }
    case 'CookingCompleted':
      return { ...current, status: 'completed', completedAt: fact.completedAt };
    case 'TaskCancelled':
      return { ...current, status: 'cancelled', cancelledAt: fact.cancelledAt, cancelReason: fact.reason };
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

function blank(fulfilmentId: string): KitchenTask {
  return {
    fulfilmentId,
    taskId: taskIdFor(fulfilmentId),
    status: 'awaiting-request',
    dispatchWave: null,
    items: [],
    station: null,
    expectedReadyAt: null,
    requestedAt: null,
    reservedAt: null,
    startedAt: null,
    completedAt: null,
    cancelledAt: null,
    cancelReason: null,
  };
}

/** Built from the fact alone, so it does not matter whether the runtime passes the state before or after it. */
function publish(fact: KitchenFact): readonly Publication[] {
  const { fulfilmentId } = fact;
  const taskId = taskIdFor(fulfilmentId);
  switch (fact.type) {
    case 'CookingSkipped':
      return [{ type: 'CookingSkipped', version: 1, data: { fulfilmentId } }];
    case 'CookingStarted': {
      const { station, expectedReadyAt } = fact;
      const data = {
        fulfilmentId,
        taskId,
        station,
        expectedReadyAt: expectedReadyAt === null ? null : new Date(expectedReadyAt),
      };
      return [{ type: 'CookingStarted', version: 1, data }];
    }
    case 'CookingCompleted':
      return [{ type: 'CookingCompleted', version: 1, data: { fulfilmentId, taskId } }];
    case 'RequestNoted':
    case 'ReservationNoted':
    case 'TaskOpened':
    case 'TaskCancelled':
      return [];
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

/**
 * Where a task stands in the journey's `cooking` stage (owned by the kitchen): entered when the
 * task opened (its request and its reservation both known), left when cooked, at once when there
 * was nothing to cook, or by a cancellation that came after it opened.
 */
export function kitchenStages(task: KitchenTask): readonly StageVisit[] {
  const { requestedAt, reservedAt, completedAt, cancelledAt } = task;
  const open = task.status !== 'awaiting-request' && task.status !== 'awaiting-stock';
  const enteredAt =
    open && requestedAt !== null && reservedAt !== null
      ? requestedAt > reservedAt
        ? requestedAt
        : reservedAt
      : null;
  if (enteredAt === null) return [{ stage: 'cooking', enteredAt: null, left: null }];
  const left =
    task.status === 'skipped'
      ? { at: enteredAt, outcome: 'completed' as const }
      : completedAt !== null
        ? { at: completedAt, outcome: 'completed' as const }
        : cancelledAt !== null
          ? { at: cancelledAt, outcome: 'cancelled' as const }
          : null;
  return [{ stage: 'cooking', enteredAt, left }];
}

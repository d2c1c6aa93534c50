/**
 * The warehouse's rules (픽업·포장): one task per fulfilment, picked once the kitchen hands the
 * order over, then packed into parcels for delivery.
 *
 * Its inputs come from two topics (the pick list from `scm.fulfilment-requests`, the kitchen's
 * hand-over from `scm.production-events`) and from warehouse staff. Either event may arrive
 * first, so the task exists as soon as anything about the fulfilment is known, and every fact is
 * recorded whatever the status: the state ends the same whichever order the events came in.
 *
 * | status             | how it gets there                                   |
 * |--------------------|-----------------------------------------------------|
 * | `awaiting-kitchen` | the pick list came, the kitchen has not finished    |
 * | `to-pick`          | the kitchen handed over (pick list seen or not)     |
 * | `to-pack`          | picked: publishes `OrderPicked`                     |
 * | `packed`           | packed: publishes `OrderPacked`; delivery's from now |
 * | `cancelled`        | cancelled before packing; nothing moves it again    |
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
} from '@runtime/decider';

export type TaskStatus = 'awaiting-kitchen' | 'to-pick' | 'to-pack' | 'packed' | 'cancelled';

export interface WarehouseTask {
  readonly fulfilmentId: string;
  /** `WH-<fulfilmentId>`: the id staff see on the pick list. */
  readonly taskId: string;
  readonly status: TaskStatus;
  /** Dispatch wave to pick in, when the request names one. */
  readonly dispatchWave: string | null;
  /** What to pick; empty until the request is seen (informative: the hand-over is what counts). */
  readonly lines: readonly StockLine[];
  /** Whether the kitchen cooked (false: nothing to cook); null until the hand-over. */
  readonly cooked: boolean | null;
  readonly pickerId: string | null;
  readonly packerId: string | null;
  readonly parcelCount: number | null;
  readonly cancellationReason: string | null;
  readonly requestedAt: string | null;
  readonly readyAt: string | null;
  readonly pickedAt: string | null;
  readonly packedAt: string | null;
  readonly cancelledAt: string | null;
}

export type WarehouseInput =
  | {
      readonly kind: 'FulfilmentRequested';
      readonly fulfilmentId: string;
      readonly lines: readonly StockLine[];
      readonly dispatchWave: string | null;
      readonly requestedAt: string;
    }
  | {
      readonly kind: 'ReadyForPicking';
      readonly fulfilmentId: string;
      readonly readyAt: string;
      readonly cooked: boolean;
    }
  | { readonly kind: 'FulfilmentCancelled'; readonly fulfilmentId: string; readonly reason: string | null }
  | { readonly kind: 'Pick'; readonly pickerId: string }
  | { readonly kind: 'Pack'; readonly packerId: string; readonly parcelCount: number };

export type WarehouseFact =
  | {
      readonly type: 'PickListReceived';
      readonly fulfilmentId: string;
      readonly lines: readonly StockLine[];
      readonly dispatchWave: string | null;
      readonly requestedAt: string;
    }
  | {
      readonly type: 'KitchenHandedOver';
      readonly fulfilmentId: string;
      readonly readyAt: string;
      readonly cooked: boolean;
    }
  | {
      readonly type: 'TaskPicked';
      readonly fulfilmentId: string;
      readonly pickerId: string;
      readonly pickedAt: string;
    }
  | {
      readonly type: 'TaskPacked';
      readonly fulfilmentId: string;
      readonly packerId: string;
      readonly parcelCount: number;
      readonly packedAt: string;
    }
  | {
      readonly type: 'TaskCancelled';
      readonly fulfilmentId: string;
      readonly reason: string | null;
      readonly cancelledAt: string;
    };

export const warehouseTaskId = (fulfilmentId: string): string => `WH-${fulfilmentId}`;

/** The fulfilment a task id names (the inverse of `warehouseTaskId`); undefined if it names none. */
export function fulfilmentIdOfTask(taskId: string): string | undefined {
  const fulfilmentId = taskId.startsWith('WH-') ? taskId.slice('WH-'.length) : '';
  return fulfilmentId === '' ? undefined : fulfilmentId;
}

/** Every status, in the order a task goes through them (for the API's filter). */
export const taskStatuses: readonly TaskStatus[] = [
  'awaiting-kitchen',
  'to-pick',
  'to-pack',
  'packed',
  'cancelled',
];

/** The statuses of the tasks staff still have to work on: what the operator list shows. */
export const openStatuses: readonly TaskStatus[] = ['to-pick', 'to-pack'];

export function isOpenTask(state: WarehouseTask): boolean {
  return openStatuses.includes(state.status);
}

/** Who auto-advance (demos and load) acts as, so its work is told apart from staff's. */
export const autoPickerId = 'AUTO-PICKER';
export const autoPackerId = 'AUTO-PACKER';

/**
 * What a person would do next with a task that has waited `delayMs` in its step since the
 * kitchen handed it over (to pick) or it was picked (to pack); undefined while it has not.
 */
export function nextAutoStep(
  state: WarehouseTask,
  now: Date,
  delayMs: number,
): Extract<WarehouseInput, { kind: 'Pick' | 'Pack' }> | undefined {
  const waited = (since: string | null): boolean =>
    since !== null && now.getTime() - Date.parse(since) >= delayMs;
  if (state.status === 'to-pick' && waited(state.readyAt)) return { kind: 'Pick', pickerId: autoPickerId };
  if (state.status === 'to-pack' && waited(state.pickedAt))
    return { kind: 'Pack', packerId: autoPackerId, parcelCount: 1 };
  return undefined;
}

function decide(input: WarehouseInput, state: WarehouseTask | undefined, now: Date): Decision<WarehouseFact> {
  switch (input.kind) {
    case 'FulfilmentRequested':
      // Recorded even after a cancellation, so the state does not depend on which came first.
      if (state?.requestedAt != null) return unchanged;
      return accepted({
        type: 'PickListReceived',
        fulfilmentId: input.fulfilmentId,
        // Copied field by field: the state is stored as is, and the wiring may hand over richer objects.
        lines: input.lines.map(({ sku, quantity }) => ({ sku, quantity })),
        dispatchWave: input.dispatchWave,
        requestedAt: input.requestedAt,
      });
    case 'ReadyForPicking':
      // After a cancellation this records the hand-over but opens no work (see `evolve`).
      if (state?.readyAt != null) return unchanged;
      return accepted({
        type: 'KitchenHandedOver',
        fulfilmentId: input.fulfilmentId,
        readyAt: input.readyAt,
        cooked: input.cooked,
      });
    case 'FulfilmentCancelled':
      // Once packed the parcel is delivery's: cancelling it is their business, not ours.
      if (state?.status === 'cancelled' || state?.status === 'packed') return unchanged;
      return accepted({
        type: 'TaskCancelled',
        fulfilmentId: input.fulfilmentId,
        reason: input.reason,
        cancelledAt: now.toISOString(),
      });
    case 'Pick':
      return pick(input.pickerId, state, now);
    case 'Pack':
      return pack(input.packerId, input.parcelCount, state, now);
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function pick(pickerId: string, state: WarehouseTask | undefined, now: Date): Decision<WarehouseFact> {
  if (state === undefined) return notFound;
  const { taskId, status } = state;
  switch (status) {
    case 'awaiting-kitchen':
      return refused('CONFLICT', `${taskId} cannot be picked yet: the kitchen has not finished the order.`);
    case 'to-pick':
      return accepted({
        type: 'TaskPicked',
        fulfilmentId: state.fulfilmentId,
        pickerId,
        pickedAt: now.toISOString(),
      });
    case 'to-pack':
    case 'packed':
      // The same picker again is a retried request, not a second pick.
      return state.pickerId === pickerId
        ? unchanged
        : refused('CONFLICT', `${taskId} was already picked by ${state.pickerId ?? 'someone else'}.`);
    case 'cancelled':
      return refused('CONFLICT', cancelledReason(state, 'picked'));
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

function pack(
  packerId: string,
  parcelCount: number,
  state: WarehouseTask | undefined,
  now: Date,
): Decision<WarehouseFact> {
  if (state === undefined) return notFound;
  const { taskId, status } = state;
  if (!Number.isInteger(parcelCount) || parcelCount < 1)
    return refused('CONFLICT', `A parcel count must be a whole number of at least 1, not ${parcelCount}.`);
  switch (status) {
    case 'awaiting-kitchen':
      return refused(
        'CONFLICT',
        `${taskId} cannot be packed before it is picked: the kitchen has not finished the order.`,
      );
    case 'to-pick':
      return refused('CONFLICT', `${taskId} cannot be packed before it is picked.`);
    case 'to-pack':
      return accepted({
        type: 'TaskPacked',
        fulfilmentId: state.fulfilmentId,
        packerId,
        parcelCount,
        packedAt: now.toISOString(),
      });
    case 'packed':
      return state.packerId === packerId && state.parcelCount === parcelCount
        ? unchanged
        : refused(
            'CONFLICT',
            `${taskId} was already packed by ${state.packerId ?? 'someone else'} into ${state.parcelCount ?? '?'} parcel(s).`,
          );
    case 'cancelled':
      return refused('CONFLICT', cancelledReason(state, 'packed'));
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

const notFound = refused('NOT_FOUND', 'There is no warehouse task for this fulfilment.');

const cancelledReason = (state: WarehouseTask, verb: 'picked' | 'packed'): string =>
  `${state.taskId} cannot be ${verb}: the fulfilment was cancelled` +
  (state.cancellationReason === null ? '.' : ` (${state.cancellationReason}).`);

/** A task before anything is known: whichever input comes first fills it in. */
const blank = (fulfilmentId: string): WarehouseTask => ({
  fulfilmentId,
  taskId: warehouseTaskId(fulfilmentId),
  status: 'awaiting-kitchen',
  dispatchWave: null,
  lines: [],
  cooked: null,
  pickerId: null,
  packerId: null,
  parcelCount: null,
  cancellationReason: null,
  requestedAt: null,
  readyAt: null,
  pickedAt: null,
  packedAt: null,
  cancelledAt: null,
});

function evolve(state: WarehouseTask | undefined, fact: WarehouseFact): WarehouseTask {
  const task = state ?? blank(fact.fulfilmentId);
  switch (fact.type) {
    case 'PickListReceived':
      return { ...task, lines: fact.lines, dispatchWave: fact.dispatchWave, requestedAt: fact.requestedAt };
    case 'KitchenHandedOver':
      return {
        ...task,
        status: task.status === 'awaiting-kitchen' ? 'to-pick' : task.status,
        readyAt: fact.readyAt,
        cooked: fact.cooked,
      };
    case 'TaskPicked':
      return { ...task, status: 'to-pack', pickerId: fact.pickerId, pickedAt: fact.pickedAt };
    case 'TaskPacked':
      return {
        ...task,
        status: 'packed',
        packerId: fact.packerId,
        parcelCount: fact.parcelCount,
        packedAt: fact.packedAt,
      };
    case 'TaskCancelled':
      return { ...task, status: 'cancelled', cancellationReason: fact.reason, cancelledAt: fact.cancelledAt };
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

function publish(fact: WarehouseFact): readonly Publication[] {
  switch (fact.type) {
    case 'TaskPicked':
      return [
        {
          type: 'OrderPicked',
          version: 1,
          data: { fulfilmentId: fact.fulfilmentId, pickerId: fact.pickerId },
        },
      ];
    case 'TaskPacked':
      return [
        {
          type: 'OrderPacked',
          version: 1,
          data: { fulfilmentId: fact.fulfilmentId, packerId: fact.packerId, parcelCount: fact.parcelCount },
        },
      ];
    // The pick list, the hand-over and a cancellation are others' events: nothing new to tell.
    case 'PickListReceived':
    case 'KitchenHandedOver':
    case 'TaskCancelled':
      return [];
    default: {
      const unreachable: never = fact;
      return unreachable;
    }
  }
}

export const decider: Decider<WarehouseTask, WarehouseInput, WarehouseFact> = { decide, evolve, publish };

/**
 * The warehouse's two journey stages: `picking` from the kitchen's hand-over to the pick,
 * `packing` from the pick to the pack. A cancellation leaves the stage it found the task in; a
 * hand-over that arrives after a cancellation never entered `picking`.
 */
export function warehouseStages(task: WarehouseTask): readonly StageVisit[] {
  const { readyAt, pickedAt, packedAt, cancelledAt } = task;
  const cancelled = (enteredAt: string | null) =>
    enteredAt !== null && cancelledAt !== null && cancelledAt >= enteredAt
      ? { at: cancelledAt, outcome: 'cancelled' as const }
      : null;
  const entered = (at: string | null): string | null =>
    at !== null && (cancelledAt === null || cancelledAt >= at || pickedAt !== null) ? at : null;
  const pickingFrom = entered(readyAt);
  return [
    {
      stage: 'picking',
      enteredAt: pickingFrom,
      left: pickedAt !== null ? { at: pickedAt, outcome: 'completed' } : cancelled(pickingFrom),
    },
    {
      stage: 'packing',
      enteredAt: pickedAt,
      left: packedAt !== null ? { at: packedAt, outcome: 'completed' } : cancelled(pickedAt),
    },
  ];
}

import { evolveAll, type Publication } from '@runtime/decider';
import {
  decider,
  fulfilmentIdOfTask,
  isOpenTask,
  nextAutoStep,
  openStatuses,
  taskStatuses,
  warehouseTaskId,
  type WarehouseInput,
  type WarehouseTask,
} from './domain';

const fulfilmentId = 'ORD-20250101-000123';
const taskId = 'WH-ORD-20250101-000123';
const now = new Date('2025-01-02T05:00:00.000Z');
const line = { sku: 'SKU-BIBIMBAP-REG', quantity: 2 };

const requested: WarehouseInput = {
  kind: 'FulfilmentRequested',
  fulfilmentId,
  lines: [line],
  dispatchWave: 'WAVE-2025-01-02-AM',
  requestedAt: '2025-01-02T03:00:00.000Z',
};
const cooked: WarehouseInput = {
  kind: 'ReadyForPicking',
  fulfilmentId,
  readyAt: '2025-01-02T04:30:00.000Z',
  cooked: true,
};
const skipped: WarehouseInput = { ...cooked, cooked: false };
const cancelled: WarehouseInput = {
  kind: 'FulfilmentCancelled',
  fulfilmentId,
  reason: 'customer changed their mind',
};
const pick: WarehouseInput = { kind: 'Pick', pickerId: 'PICKER-7' };
const pack: WarehouseInput = { kind: 'Pack', packerId: 'PACKER-3', parcelCount: 2 };

/** Given: the state after the inputs, each accepted (a refusal here is a broken test). */
function given(...inputs: readonly WarehouseInput[]): WarehouseTask | undefined {
  return inputs.reduce<WarehouseTask | undefined>((state, input) => {
    const decision = decider.decide(input, state, now);
    if (decision.kind === 'refused') throw new Error(`given ${input.kind} was refused: ${decision.reason}`);
    return evolveAll(decider, state, decision.facts);
  }, undefined);
}

/** When: the decision, the state after it and what it publishes. */
function when(state: WarehouseTask | undefined, input: WarehouseInput) {
  const decision = decider.decide(input, state, now);
  if (decision.kind === 'refused') return { decision, state, published: [] };
  const after = evolveAll(decider, state, decision.facts);
  const published: Publication[] = [];
  for (const fact of decision.facts) if (after) published.push(...decider.publish(fact, after));
  return { decision, state: after, published };
}

const task = (overrides: Partial<WarehouseTask>): WarehouseTask => ({
  fulfilmentId,
  taskId,
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
  ...overrides,
});

const readyToPick = task({
  status: 'to-pick',
  dispatchWave: 'WAVE-2025-01-02-AM',
  lines: [line],
  cooked: true,
  requestedAt: '2025-01-02T03:00:00.000Z',
  readyAt: '2025-01-02T04:30:00.000Z',
});

const permutations = <T>(items: readonly T[]): T[][] =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) =>
        permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
      );

describe('warehouse: the task to pick', () => {
  it('the pick list alone waits for the kitchen', () => {
    const { decision, state, published } = when(undefined, requested);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [
        {
          type: 'PickListReceived',
          fulfilmentId,
          lines: [line],
          dispatchWave: 'WAVE-2025-01-02-AM',
          requestedAt: '2025-01-02T03:00:00.000Z',
        },
      ],
    });
    expect(state).toEqual(
      task({
        dispatchWave: 'WAVE-2025-01-02-AM',
        lines: [line],
        requestedAt: '2025-01-02T03:00:00.000Z',
      }),
    );
    expect(published).toEqual([]);
  });

  it('the kitchen hand-over makes it a task to pick', () => {
    const { decision, state, published } = when(given(requested), cooked);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [{ type: 'KitchenHandedOver', fulfilmentId, readyAt: '2025-01-02T04:30:00.000Z', cooked: true }],
    });
    expect(state).toEqual(readyToPick);
    expect(published).toEqual([]);
  });

  it('a skipped cooking hands over too (nothing to cook)', () => {
    expect(given(requested, skipped)).toEqual({ ...readyToPick, cooked: false });
  });

  it('the hand-over before the pick list is already a task to pick; the lines fill in later', () => {
    const early = given(cooked);
    expect(early).toEqual(task({ status: 'to-pick', cooked: true, readyAt: '2025-01-02T04:30:00.000Z' }));
    expect(when(early, requested).state).toEqual(readyToPick);
  });

  it('keeps only sku and quantity of each line (the state is stored as is)', () => {
    const richer = { ...requested, lines: [{ ...line, productCode: 'PRD-1' }] };
    expect(given(richer)?.lines).toEqual([line]);
  });

  it('the same pick list or hand-over again changes nothing', () => {
    expect(when(given(requested), requested).decision).toEqual({ kind: 'accepted', facts: [] });
    expect(when(given(requested, cooked), cooked).decision).toEqual({ kind: 'accepted', facts: [] });
    // the kitchen reports once: a contradicting second report does not reopen the hand-over
    expect(when(given(requested, cooked), skipped)).toEqual({
      decision: { kind: 'accepted', facts: [] },
      state: readyToPick,
      published: [],
    });
  });

  it('ends in the same state whatever order the events arrive in', () => {
    for (const inputs of [
      [requested, cooked],
      [requested, cooked, cancelled],
    ]) {
      const outcomes = permutations(inputs).map((order) => given(...order));
      for (const outcome of outcomes) expect(outcome).toEqual(outcomes[0]);
    }
    expect(given(cooked, cancelled, requested)).toEqual({
      ...readyToPick,
      status: 'cancelled',
      cancellationReason: 'customer changed their mind',
      cancelledAt: now.toISOString(),
    });
  });
});

describe('warehouse: pick then pack', () => {
  it('picking publishes OrderPicked and leaves it to pack', () => {
    const { decision, state, published } = when(given(requested, cooked), pick);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [{ type: 'TaskPicked', fulfilmentId, pickerId: 'PICKER-7', pickedAt: now.toISOString() }],
    });
    expect(state).toEqual({
      ...readyToPick,
      status: 'to-pack',
      pickerId: 'PICKER-7',
      pickedAt: now.toISOString(),
    });
    expect(published).toEqual([
      { type: 'OrderPicked', version: 1, data: { fulfilmentId, pickerId: 'PICKER-7' } },
    ]);
  });

  it('packing publishes OrderPacked', () => {
    const { decision, state, published } = when(given(requested, cooked, pick), pack);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [
        {
          type: 'TaskPacked',
          fulfilmentId,
          packerId: 'PACKER-3',
          parcelCount: 2,
          packedAt: now.toISOString(),
        },
      ],
    });
    expect(state).toEqual({
      ...readyToPick,
      status: 'packed',
      pickerId: 'PICKER-7',
      pickedAt: now.toISOString(),
      packerId: 'PACKER-3',
      parcelCount: 2,
      packedAt: now.toISOString(),
    });
    expect(published).toEqual([
      { type: 'OrderPacked', version: 1, data: { fulfilmentId, packerId: 'PACKER-3', parcelCount: 2 } },
    ]);
  });

  it('picks without waiting for the pick list (the lines are informative)', () => {
    expect(when(given(cooked), pick).published).toEqual([
      { type: 'OrderPicked', version: 1, data: { fulfilmentId, pickerId: 'PICKER-7' } },
    ]);
  });

  it('refuses commands for a task that does not exist', () => {
    const notFound = {
      kind: 'refused',
      code: 'NOT_FOUND',
      reason: 'There is no warehouse task for this fulfilment.',
    };
    expect(when(undefined, pick).decision).toEqual(notFound);
    expect(when(undefined, pack).decision).toEqual(notFound);
  });

  it('refuses to pick or pack before the kitchen has finished', () => {
    const waiting = given(requested);
    expect(when(waiting, pick).decision).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} cannot be picked yet: the kitchen has not finished the order.`,
    });
    expect(when(waiting, pack).decision).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} cannot be packed before it is picked: the kitchen has not finished the order.`,
    });
  });

  it('refuses to pack before picking', () => {
    expect(when(given(requested, cooked), pack)).toEqual({
      decision: {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `${taskId} cannot be packed before it is picked.`,
      },
      state: readyToPick,
      published: [],
    });
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a parcel count of %p', (parcelCount) => {
    expect(when(given(requested, cooked, pick), { ...pack, parcelCount }).decision).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `A parcel count must be a whole number of at least 1, not ${parcelCount}.`,
    });
  });

  it('a retried pick or pack by the same person changes nothing', () => {
    expect(when(given(requested, cooked, pick), pick)).toMatchObject({
      decision: { kind: 'accepted', facts: [] },
      published: [],
    });
    expect(when(given(requested, cooked, pick, pack), pick).decision).toEqual({
      kind: 'accepted',
      facts: [],
    });
    expect(when(given(requested, cooked, pick, pack), pack)).toMatchObject({
      decision: { kind: 'accepted', facts: [] },
      published: [],
    });
  });

  it('refuses a second pick or pack by someone else, or packed differently', () => {
    expect(when(given(requested, cooked, pick), { kind: 'Pick', pickerId: 'PICKER-8' }).decision).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} was already picked by PICKER-7.`,
    });
    const packed = given(requested, cooked, pick, pack);
    const alreadyPacked = {
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} was already packed by PACKER-3 into 2 parcel(s).`,
    };
    expect(when(packed, { ...pack, packerId: 'PACKER-4' }).decision).toEqual(alreadyPacked);
    expect(when(packed, { ...pack, parcelCount: 3 }).decision).toEqual(alreadyPacked);
  });
});

describe('warehouse: cancellation', () => {
  const cancelledFact = {
    type: 'TaskCancelled',
    fulfilmentId,
    reason: 'customer changed their mind',
    cancelledAt: now.toISOString(),
  };

  it.each<[string, readonly WarehouseInput[]]>([
    ['before anything else is known', []],
    ['while waiting for the kitchen', [requested]],
    ['while to pick', [requested, cooked]],
    ['after picking, before packing', [requested, cooked, pick]],
  ])('stops the work %s, privately', (_case, before) => {
    const { decision, state, published } = when(given(...before), cancelled);
    expect(decision).toEqual({ kind: 'accepted', facts: [cancelledFact] });
    expect(state).toMatchObject({
      status: 'cancelled',
      cancellationReason: 'customer changed their mind',
      cancelledAt: now.toISOString(),
    });
    expect(published).toEqual([]);
  });

  it('a later hand-over is recorded but creates no work', () => {
    const { decision, state } = when(given(requested, cancelled), cooked);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [{ type: 'KitchenHandedOver', fulfilmentId, readyAt: '2025-01-02T04:30:00.000Z', cooked: true }],
    });
    expect(state?.status).toBe('cancelled');
    expect(state && isOpenTask(state)).toBe(false);
  });

  it('refuses to pick or pack, naming the cancellation', () => {
    expect(when(given(requested, cooked, cancelled), pick).decision).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} cannot be picked: the fulfilment was cancelled (customer changed their mind).`,
    });
    expect(when(given(requested, cooked, pick, cancelled), pack).decision).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} cannot be packed: the fulfilment was cancelled (customer changed their mind).`,
    });
    expect(when(given({ ...cancelled, reason: null }, cooked), pick).decision).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} cannot be picked: the fulfilment was cancelled.`,
    });
  });

  it('the same cancellation again changes nothing', () => {
    expect(when(given(requested, cancelled), cancelled).decision).toEqual({ kind: 'accepted', facts: [] });
  });

  it('after packing changes nothing: the parcel is delivery’s now', () => {
    const packed = given(requested, cooked, pick, pack);
    expect(when(packed, cancelled)).toEqual({
      decision: { kind: 'accepted', facts: [] },
      state: packed,
      published: [],
    });
  });
});

describe('isOpenTask and the task id', () => {
  it.each<[string, boolean, readonly WarehouseInput[]]>([
    ['awaiting-kitchen', false, [requested]],
    ['to-pick', true, [requested, cooked]],
    ['to-pack', true, [requested, cooked, pick]],
    ['packed', false, [requested, cooked, pick, pack]],
    ['cancelled', false, [requested, cooked, cancelled]],
  ])('%s: open %p', (status, open, inputs) => {
    const state = given(...inputs);
    expect(state?.status).toBe(status);
    expect(state && isOpenTask(state)).toBe(open);
  });

  it('names the task WH-<fulfilmentId>, and reads the fulfilment back from it', () => {
    expect(warehouseTaskId(fulfilmentId)).toBe(taskId);
    expect(fulfilmentIdOfTask(taskId)).toBe(fulfilmentId);
    expect(fulfilmentIdOfTask('WH-')).toBeUndefined();
    expect(fulfilmentIdOfTask(fulfilmentId)).toBeUndefined();
    expect(fulfilmentIdOfTask('KT-ORD-1')).toBeUndefined();
  });

  it('lists every status once, the open ones being those isOpenTask says', () => {
    expect(new Set(taskStatuses).size).toBe(5);
    expect(taskStatuses.filter((status) => isOpenTask(task({ status })))).toEqual(openStatuses);
  });

  it('keeps the state plain JSON (stored in the document store as is)', () => {
    const state = given(requested, cooked, pick, pack);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});

describe('nextAutoStep (auto-advance)', () => {
  const delayMs = 60_000;
  const at = (iso: string, plusMs: number): Date => new Date(Date.parse(iso) + plusMs);
  const picked = given(requested, cooked, pick);

  it('picks as AUTO-PICKER once the task has waited the delay since the hand-over', () => {
    expect(nextAutoStep(readyToPick, at('2025-01-02T04:30:00.000Z', delayMs - 1), delayMs)).toBeUndefined();
    expect(nextAutoStep(readyToPick, at('2025-01-02T04:30:00.000Z', delayMs), delayMs)).toEqual({
      kind: 'Pick',
      pickerId: 'AUTO-PICKER',
    });
  });

  it('packs into one parcel as AUTO-PACKER once the delay has passed since picking', () => {
    if (picked === undefined) throw new Error('no picked task');
    expect(nextAutoStep(picked, at(now.toISOString(), delayMs - 1), delayMs)).toBeUndefined();
    expect(nextAutoStep(picked, at(now.toISOString(), delayMs), delayMs)).toEqual({
      kind: 'Pack',
      packerId: 'AUTO-PACKER',
      parcelCount: 1,
    });
  });

  it.each<[string, readonly WarehouseInput[]]>([
    ['awaiting the kitchen', [requested]],
    ['packed', [requested, cooked, pick, pack]],
    ['cancelled', [requested, cooked, cancelled]],
  ])('leaves a task %s alone', (_case, inputs) => {
    const state = given(...inputs);
    if (state === undefined) throw new Error('no task');
    expect(nextAutoStep(state, at(now.toISOString(), 10 * delayMs), delayMs)).toBeUndefined();
  });
});

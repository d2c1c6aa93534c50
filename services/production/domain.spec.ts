import { evolveAll, type Decision, type Publication } from '@runtime/decider';
import {
  decider,
  fulfilmentIdOfTask,
  isOpenTask,
  openedAt,
  taskIdFor,
  type KitchenFact,
  type KitchenInput,
  type KitchenTask,
  type KitchenTaskStatus,
} from './domain';

const now = new Date('2025-01-02T05:00:00.000Z');
const fulfilmentId = 'ORD-20250101-000123';
const taskId = 'KT-ORD-20250101-000123';
const requestedAt = '2025-01-02T04:50:00.000Z';
const reservedAt = '2025-01-02T04:51:00.000Z';
const bibimbap = { sku: 'SKU-BIBIMBAP-REG', quantity: 2 };
const kimchi = { sku: 'SKU-KIMCHI-500G', quantity: 1 };
const japchae = { sku: 'SKU-JAPCHAE-REG', quantity: 1 };

type Requested = Extract<KitchenInput, { kind: 'FulfilmentRequested' }>;

const requested = (cookedToOrderSkus: readonly string[] = [bibimbap.sku, japchae.sku]): Requested => ({
  kind: 'FulfilmentRequested',
  fulfilmentId,
  lines: [bibimbap, kimchi, japchae],
  cookedToOrderSkus,
  dispatchWave: 'WAVE-20250102-DAWN',
  requestedAt,
});
/** What the wiring makes of a FulfilmentRequested v1: no wave, nothing marked as cooked. */
const requestedV1: KitchenInput = { ...requested([]), dispatchWave: null };
const reserved: KitchenInput = { kind: 'StockReserved', fulfilmentId, reservedAt };
const cancelledFor = (reason: string | null): KitchenInput => ({
  kind: 'FulfilmentCancelled',
  fulfilmentId,
  reason,
});
const cancelled = cancelledFor('CUSTOMER_REQUEST');
const start: KitchenInput = {
  kind: 'StartCooking',
  station: 'wok-2',
  expectedReadyAt: '2025-01-02T05:20:00.000Z',
};
const complete: KitchenInput = { kind: 'CompleteCooking' };

/** Runs inputs through decide and evolve from no state; a refusal in the setup fails the test. */
function given(...inputs: readonly KitchenInput[]): KitchenTask | undefined {
  return inputs.reduce<KitchenTask | undefined>((state, input) => {
    const decision = decider.decide(input, state, now);
    if (decision.kind === 'refused') throw new Error(`setup refused ${input.kind}: ${decision.reason}`);
    return evolveAll(decider, state, decision.facts);
  }, undefined);
}

function when(state: KitchenTask | undefined, input: KitchenInput) {
  const decision = decider.decide(input, state, now);
  const facts = decision.kind === 'accepted' ? decision.facts : [];
  const after = evolveAll(decider, state, facts);
  const published = after ? facts.flatMap((fact) => decider.publish(fact, after)) : [];
  return { decision, after, published };
}

const accepted = (...facts: KitchenFact[]): Decision<KitchenFact> => ({ kind: 'accepted', facts });
const nothing = accepted();

const waitingTask: KitchenTask = {
  fulfilmentId,
  taskId,
  status: 'waiting',
  dispatchWave: 'WAVE-20250102-DAWN',
  items: [bibimbap, japchae],
  station: null,
  expectedReadyAt: null,
  requestedAt,
  reservedAt,
  startedAt: null,
  completedAt: null,
  cancelledAt: null,
  cancelReason: null,
};

describe('opening a kitchen task: the request and the reservation, in either order', () => {
  it('given the request, when the stock is reserved, then a task waits with the cooked-to-order lines only', () => {
    const { decision, after, published } = when(given(requested()), reserved);
    expect(decision).toEqual(
      accepted({
        type: 'TaskOpened',
        fulfilmentId,
        items: [bibimbap, japchae],
        dispatchWave: 'WAVE-20250102-DAWN',
        requestedAt,
        reservedAt,
      }),
    );
    expect(after).toEqual(waitingTask);
    expect(published).toEqual([]);
  });

  it('given the reservation, when the request arrives, then the same task waits', () => {
    const { decision, after, published } = when(given(reserved), requested());
    expect(decision).toEqual(
      accepted({
        type: 'TaskOpened',
        fulfilmentId,
        items: [bibimbap, japchae],
        dispatchWave: 'WAVE-20250102-DAWN',
        requestedAt,
        reservedAt,
      }),
    );
    expect(after).toEqual(waitingTask);
    expect(published).toEqual([]);
  });

  it('given only the request, the fulfilment awaits its stock and nothing is published', () => {
    const { decision, after, published } = when(undefined, requested());
    expect(decision).toEqual(
      accepted({
        type: 'RequestNoted',
        fulfilmentId,
        items: [bibimbap, japchae],
        dispatchWave: 'WAVE-20250102-DAWN',
        requestedAt,
      }),
    );
    expect(after).toEqual({ ...waitingTask, status: 'awaiting-stock', reservedAt: null });
    expect(published).toEqual([]);
  });

  it('given only the reservation, the fulfilment awaits its request and nothing is published', () => {
    const { decision, after, published } = when(undefined, reserved);
    expect(decision).toEqual(accepted({ type: 'ReservationNoted', fulfilmentId, reservedAt }));
    expect(after).toEqual({
      ...waitingTask,
      status: 'awaiting-request',
      dispatchWave: null,
      items: [],
      requestedAt: null,
    });
    expect(published).toEqual([]);
  });

  it.each<[string, readonly KitchenInput[]]>([
    ['the request twice before the reservation', [requested(), requested()]],
    ['the reservation twice before the request', [reserved, reserved]],
    ['the request again once the task is open', [requested(), reserved, requested()]],
    ['the reservation again once the task is open', [reserved, requested(), reserved]],
  ])('%s changes nothing', (_case, inputs) => {
    const state = given(...inputs.slice(0, -1));
    expect(decider.decide(inputs[inputs.length - 1]!, state, now)).toEqual(nothing);
  });

  it('any interleaving of duplicated requests and reservations ends in the same task', () => {
    const arrivals: readonly (readonly KitchenInput[])[] = [
      [requested(), reserved],
      [reserved, requested()],
      [requested(), requested(), reserved, reserved],
      [reserved, reserved, requested(), reserved, requested()],
    ];
    for (const inputs of arrivals) expect(given(...inputs)).toEqual(waitingTask);
  });
});

describe('skipping the kitchen: nothing cooked to order', () => {
  it.each<[string, readonly KitchenInput[]]>([
    ['request (v1: no cooked SKUs) then reservation', [requestedV1, reserved]],
    ['reservation then request (v1: no cooked SKUs)', [reserved, requestedV1]],
    [
      'reservation then request whose cooked SKUs are none of its lines',
      [reserved, requested(['SKU-OTHER'])],
    ],
  ])('%s: CookingSkipped is published once', (_case, inputs) => {
    const [first, second] = inputs;
    const { decision, after, published } = when(given(first!), second!);
    expect(decision).toEqual(
      accepted({
        type: 'CookingSkipped',
        fulfilmentId,
        items: [],
        dispatchWave: inputs.includes(requestedV1) ? null : 'WAVE-20250102-DAWN',
        requestedAt,
        reservedAt,
      }),
    );
    expect(after).toMatchObject({ status: 'skipped', items: [], requestedAt, reservedAt });
    expect(published).toEqual([{ type: 'CookingSkipped', version: 1, data: { fulfilmentId } }]);
    // and the same events again publish nothing more
    expect(decider.decide(first!, after, now)).toEqual(nothing);
    expect(decider.decide(second!, after, now)).toEqual(nothing);
  });

  it('a skipped fulfilment cannot be started or completed: there is nothing to cook', () => {
    const state = given(requestedV1, reserved);
    for (const command of [start, complete])
      expect(decider.decide(command, state, now)).toEqual({
        kind: 'refused',
        code: 'CONFLICT',
        reason: `${fulfilmentId} has nothing cooked to order: it went straight to picking`,
      });
  });
});

describe('cooking: start, then complete', () => {
  it('given a waiting task, when the kitchen starts it, then CookingStarted is published', () => {
    const { decision, after, published } = when(given(requested(), reserved), start);
    expect(decision).toEqual(
      accepted({
        type: 'CookingStarted',
        fulfilmentId,
        station: 'wok-2',
        expectedReadyAt: '2025-01-02T05:20:00.000Z',
        startedAt: '2025-01-02T05:00:00.000Z',
      }),
    );
    expect(after).toEqual({
      ...waitingTask,
      status: 'cooking',
      station: 'wok-2',
      expectedReadyAt: '2025-01-02T05:20:00.000Z',
      startedAt: '2025-01-02T05:00:00.000Z',
    });
    expect(published).toEqual<Publication[]>([
      {
        type: 'CookingStarted',
        version: 1,
        data: {
          fulfilmentId,
          taskId,
          station: 'wok-2',
          expectedReadyAt: new Date('2025-01-02T05:20:00.000Z'),
        },
      },
    ]);
  });

  it('a start with no station and no expected time publishes nulls', () => {
    const { published } = when(given(requested(), reserved), {
      kind: 'StartCooking',
      station: null,
      expectedReadyAt: null,
    });
    expect(published).toEqual([
      {
        type: 'CookingStarted',
        version: 1,
        data: { fulfilmentId, taskId, station: null, expectedReadyAt: null },
      },
    ]);
  });

  it('given a task being cooked, when the kitchen completes it, then CookingCompleted is published', () => {
    const { decision, after, published } = when(given(requested(), reserved, start), complete);
    expect(decision).toEqual(
      accepted({ type: 'CookingCompleted', fulfilmentId, completedAt: '2025-01-02T05:00:00.000Z' }),
    );
    expect(after).toMatchObject({
      status: 'completed',
      completedAt: '2025-01-02T05:00:00.000Z',
      station: 'wok-2',
    });
    expect(published).toEqual([{ type: 'CookingCompleted', version: 1, data: { fulfilmentId, taskId } }]);
  });

  it.each<[string, readonly KitchenInput[], KitchenInput, string]>([
    ['starting twice', [requested(), reserved, start], start, `${taskId} is already being cooked`],
    [
      'starting a cooked task',
      [requested(), reserved, start, complete],
      start,
      `${taskId} is already cooked`,
    ],
    [
      'completing a task not started',
      [requested(), reserved],
      complete,
      `${taskId} has not been started: start cooking first`,
    ],
    ['completing twice', [requested(), reserved, start, complete], complete, `${taskId} is already cooked`],
  ])('%s is refused as a conflict', (_case, inputs, command, reason) => {
    expect(decider.decide(command, given(...inputs), now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason,
    });
  });

  it.each<[string, readonly KitchenInput[]]>([
    ['nothing is known', []],
    ['only the request is known', [requested()]],
    ['only the reservation is known', [reserved]],
  ])('commands are refused as not found when %s', (_case, inputs) => {
    for (const command of [start, complete])
      expect(decider.decide(command, given(...inputs), now)).toEqual({
        kind: 'refused',
        code: 'NOT_FOUND',
        reason:
          'No kitchen task for this fulfilment yet: it opens once the order is requested and its stock reserved',
      });
  });
});

describe('cancellation: stops work not yet done', () => {
  const taskCancelled: KitchenFact = {
    type: 'TaskCancelled',
    fulfilmentId,
    reason: 'CUSTOMER_REQUEST',
    cancelledAt: '2025-01-02T05:00:00.000Z',
  };

  it.each<[string, readonly KitchenInput[]]>([
    ['nothing is known yet', []],
    ['only the request is known', [requested()]],
    ['only the reservation is known', [reserved]],
    ['the task waits', [requested(), reserved]],
    ['the task is being cooked', [requested(), reserved, start]],
  ])('when %s, the task is cancelled privately', (_case, inputs) => {
    const state = given(...inputs);
    const { decision, after, published } = when(state, cancelled);
    expect(decision).toEqual(accepted(taskCancelled));
    expect(after).toEqual({
      ...(state ?? { ...waitingTask, items: [], dispatchWave: null, requestedAt: null, reservedAt: null }),
      status: 'cancelled',
      cancelledAt: '2025-01-02T05:00:00.000Z',
      cancelReason: 'CUSTOMER_REQUEST',
    });
    expect(published).toEqual([]);
    expect(isOpenTask(after!)).toBe(false);
  });

  it('a cancellation with no reason is kept as null', () => {
    const { after } = when(given(requested(), reserved), cancelledFor(null));
    expect(after).toMatchObject({ status: 'cancelled', cancelReason: null });
  });

  it.each<[string, readonly KitchenInput[]]>([
    ['after the task was completed', [requested(), reserved, start, complete]],
    ['after the kitchen was skipped', [requestedV1, reserved]],
    ['a second time', [requested(), reserved, cancelled]],
  ])('a cancellation %s changes nothing', (_case, inputs) => {
    expect(decider.decide(cancelled, given(...inputs), now)).toEqual(nothing);
  });

  it.each<[string, readonly KitchenInput[]]>([
    ['a reservation after the cancelled request', [requested(), cancelled, reserved]],
    ['a request after the cancelled reservation', [reserved, cancelled, requested()]],
    ['both after the cancellation', [cancelled, requested(), reserved]],
    ['both after the cancellation, nothing cooked', [cancelled, reserved, requestedV1]],
  ])('%s creates no task and publishes nothing', (_case, inputs) => {
    const state = given(...inputs.slice(0, -1));
    expect(decider.decide(inputs[inputs.length - 1]!, state, now)).toEqual(nothing);
    expect(state?.status).toBe('cancelled');
  });

  it.each<[string, KitchenInput]>([
    ['starting', start],
    ['completing', complete],
  ])('%s a cancelled task is refused, naming the cancellation', (_case, command) => {
    expect(decider.decide(command, given(requested(), reserved, start, cancelled), now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} was cancelled (CUSTOMER_REQUEST): the order is no longer to be cooked`,
    });
    expect(decider.decide(command, given(cancelled), now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} was cancelled (CUSTOMER_REQUEST): the order is no longer to be cooked`,
    });
    expect(decider.decide(command, given(requested(), reserved, cancelledFor(null)), now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `${taskId} was cancelled: the order is no longer to be cooked`,
    });
  });
});

describe('isOpenTask: the tasks waiting in the kitchen', () => {
  it.each<[KitchenTaskStatus, boolean]>([
    ['awaiting-request', false],
    ['awaiting-stock', false],
    ['waiting', true],
    ['cooking', true],
    ['completed', false],
    ['skipped', false],
    ['cancelled', false],
  ])('%s -> %s', (status, open) => {
    expect(isOpenTask({ ...waitingTask, status })).toBe(open);
  });
});

describe('openedAt: when the second of the request and the reservation happened', () => {
  it('is the later of the two, whichever arrived first', () => {
    expect(openedAt(waitingTask)).toBe(reservedAt);
    expect(openedAt({ ...waitingTask, requestedAt: reservedAt, reservedAt: requestedAt })).toBe(reservedAt);
  });

  it('is null while one of them is unknown', () => {
    for (const state of [given(requested()), given(reserved)]) {
      expect(state).toBeDefined();
      expect(state && openedAt(state)).toBeNull();
    }
  });
});

describe('task ids', () => {
  it('a task id is the fulfilment id with the KT- prefix, and back', () => {
    expect(taskIdFor(fulfilmentId)).toBe(taskId);
    expect(fulfilmentIdOfTask(taskId)).toBe(fulfilmentId);
    expect(fulfilmentIdOfTask(fulfilmentId)).toBeNull();
    expect(fulfilmentIdOfTask('KT-')).toBeNull();
  });
});

describe('state is stored as plain JSON', () => {
  it.each<[string, readonly KitchenInput[]]>([
    ['awaiting stock', [requested()]],
    ['cooking', [requested(), reserved, start]],
    ['completed', [requested(), reserved, start, complete]],
    ['skipped', [reserved, requestedV1]],
    ['cancelled', [cancelled]],
  ])('%s survives a JSON round trip unchanged', (_case, inputs) => {
    const state = given(...inputs);
    expect(JSON.parse(JSON.stringify(state))).toStrictEqual(state);
  });
});

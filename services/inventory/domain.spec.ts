import type { Shortage, StockLine } from '@contracts/generated';
import {
  accepted,
  evolveAll,
  unchanged,
  type Decider,
  type Decision,
  type Publication,
} from '@runtime/decider';
import {
  availableOf,
  holdOrder,
  invalidRequestLines,
  reservationDecider,
  planAttempts,
  shortagesOf,
  stockDecider,
  stockFollowUp,
  waitingOldestFirst,
  type ReservationInput,
  type ReservationState,
  type StockInput,
  type StockState,
} from './domain';

const now = new Date('2025-01-02T05:00:00.000Z');
const at = now.toISOString();
const rice = 'SKU-RICE-210G';
const kimchi = 'SKU-KIMCHI-500G';
const first = 'ORD-20250101-000123';
const second = 'ORD-20250101-000124';

/** Runs inputs through decide and evolve from no state; a refusal in the setup fails the test. */
function given<S, I extends { kind: string }, F>(decider: Decider<S, I, F>, ...inputs: I[]): S | undefined {
  return inputs.reduce<S | undefined>((state, input) => {
    const decision = decider.decide(input, state, now);
    if (decision.kind === 'refused') throw new Error(`setup refused ${input.kind}: ${decision.reason}`);
    return evolveAll(decider, state, decision.facts);
  }, undefined);
}

/** Decides one input and returns the decision, the state after it and what it publishes. */
function when<S, I, F>(decider: Decider<S, I, F>, state: S | undefined, input: I) {
  const decision: Decision<F> = decider.decide(input, state, now);
  const facts = decision.kind === 'accepted' ? decision.facts : [];
  const after = evolveAll(decider, state, facts);
  const published: Publication[] =
    after === undefined ? [] : facts.flatMap((fact) => decider.publish(fact, after));
  return { decision, state: after, published };
}

// --- stock ---------------------------------------------------------------------------------

const receive = (quantity: number, sku = rice, supplierReference: string | null = null): StockInput => ({
  kind: 'Receive',
  sku,
  quantity,
  supplierReference,
});
const hold = (fulfilmentId: string, quantity: number, sku = rice): StockInput => ({
  kind: 'Hold',
  sku,
  fulfilmentId,
  quantity,
});
const release = (fulfilmentId: string, sku = rice): StockInput => ({ kind: 'Release', sku, fulfilmentId });
const ship = (fulfilmentId: string, sku = rice): StockInput => ({ kind: 'Ship', sku, fulfilmentId });
const count = (onHand: number, sku = rice): StockInput => ({ kind: 'Count', sku, onHand });
const stockOf = (...inputs: StockInput[]) => given(stockDecider, ...inputs);

describe('stock: a SKU never seen is zero stock', () => {
  it('has nothing available', () => {
    expect(availableOf(undefined)).toBe(0);
  });

  it('refuses a hold with the numbers the shortage needs, and the state it leaves is zero stock', () => {
    const { decision, state, published } = when(stockDecider, undefined, hold(first, 2));
    expect(decision).toEqual(
      accepted({ type: 'HoldRefused', sku: rice, fulfilmentId: first, requested: 2, available: 0 }),
    );
    expect(state).toEqual({ sku: rice, onHand: 0, reserved: 0, holds: {} });
    expect(published).toEqual([]);
  });

  it('has no hold to release or ship, and a count of 0 is no change', () => {
    for (const input of [release(first), ship(first), count(0)])
      expect(stockDecider.decide(input, undefined, now)).toEqual(unchanged);
  });
});

describe('stock: Receive', () => {
  it('adds to the stock and publishes StockReceived with the stock on hand after it', () => {
    const { decision, state, published } = when(stockDecider, undefined, receive(100, rice, 'DN-2025-0042'));
    expect(decision).toEqual(
      accepted({
        type: 'Received',
        sku: rice,
        quantity: 100,
        onHand: 100,
        supplierReference: 'DN-2025-0042',
      }),
    );
    expect(state).toEqual({ sku: rice, onHand: 100, reserved: 0, holds: {} });
    expect(published).toEqual([
      {
        type: 'StockReceived',
        version: 1,
        data: { sku: rice, quantity: 100, onHand: 100, supplierReference: 'DN-2025-0042' },
      },
    ]);
  });

  it('is not idempotent by content: two alike deliveries are two receipts (the wiring dedupes by id)', () => {
    const { state, published } = when(stockDecider, stockOf(receive(40), hold(first, 30)), receive(40));
    expect(state).toEqual({ sku: rice, onHand: 80, reserved: 30, holds: { [first]: 30 } });
    expect(published).toEqual([
      {
        type: 'StockReceived',
        version: 1,
        data: { sku: rice, quantity: 40, onHand: 80, supplierReference: null },
      },
    ]);
  });

  it.each([0, -5, 2.5, Number.NaN])('refuses %p units', (quantity) => {
    expect(stockDecider.decide(receive(quantity), stockOf(receive(10)), now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `Cannot receive ${quantity} of ${rice}: a receipt is a whole number of units, at least 1.`,
    });
  });
});

describe('stock: Hold', () => {
  it('holds what is available for the fulfilment, publishing nothing', () => {
    const { decision, state, published } = when(stockDecider, stockOf(receive(5)), hold(first, 5));
    expect(decision).toEqual(accepted({ type: 'Held', sku: rice, fulfilmentId: first, quantity: 5 }));
    expect(state).toEqual({ sku: rice, onHand: 5, reserved: 5, holds: { [first]: 5 } });
    expect(published).toEqual([]);
  });

  it('refuses more than is available (on hand minus held), changing nothing', () => {
    const before = stockOf(receive(5), hold(first, 3));
    const { decision, state, published } = when(stockDecider, before, hold(second, 3));
    expect(decision).toEqual(
      accepted({ type: 'HoldRefused', sku: rice, fulfilmentId: second, requested: 3, available: 2 }),
    );
    expect(state).toEqual(before);
    expect(published).toEqual([]);
  });

  it('is idempotent per fulfilment: a second hold, even of another quantity, changes nothing', () => {
    const before = stockOf(receive(5), hold(first, 3));
    expect(stockDecider.decide(hold(first, 3), before, now)).toEqual(unchanged);
    expect(stockDecider.decide(hold(first, 4), before, now)).toEqual(unchanged);
  });

  it('holds again after a release (the next attempt of a waiting reservation)', () => {
    const { state } = when(stockDecider, stockOf(receive(5), hold(first, 3), release(first)), hold(first, 3));
    expect(state).toEqual({ sku: rice, onHand: 5, reserved: 3, holds: { [first]: 3 } });
  });

  it.each([0, -1, 1.5])('refuses a hold of %p units', (quantity) => {
    expect(stockDecider.decide(hold(first, quantity), stockOf(receive(5)), now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `Cannot hold ${quantity} of ${rice} for ${first}: a hold is a whole number of units, at least 1.`,
    });
  });
});

describe('stock: Release and Ship', () => {
  const held = stockOf(receive(10), hold(first, 3), hold(second, 2));

  it('Release gives the fulfilment hold back to the available stock', () => {
    const { decision, state, published } = when(stockDecider, held, release(first));
    expect(decision).toEqual(accepted({ type: 'Released', sku: rice, fulfilmentId: first, quantity: 3 }));
    expect(state).toEqual({ sku: rice, onHand: 10, reserved: 2, holds: { [second]: 2 } });
    expect(availableOf(state)).toBe(8);
    expect(published).toEqual([]);
  });

  it('Ship takes the held goods off the shelf: on hand and reserved both fall by the hold', () => {
    const { decision, state, published } = when(stockDecider, held, ship(first));
    expect(decision).toEqual(accepted({ type: 'Shipped', sku: rice, fulfilmentId: first, quantity: 3 }));
    expect(state).toEqual({ sku: rice, onHand: 7, reserved: 2, holds: { [second]: 2 } });
    expect(availableOf(state)).toBe(5);
    expect(published).toEqual([]);
  });

  it('both are no-ops without a hold: repeated, after each other, or for an unknown fulfilment', () => {
    const released = given(stockDecider, receive(10), hold(first, 3), release(first));
    const shipped = given(stockDecider, receive(10), hold(first, 3), ship(first));
    for (const state of [released, shipped])
      for (const input of [release(first), ship(first)])
        expect(stockDecider.decide(input, state, now)).toEqual(unchanged);
    expect(stockDecider.decide(release('ORD-NEVER-SEEN'), held, now)).toEqual(unchanged);
  });
});

describe('stock: Count', () => {
  const held = stockOf(receive(10), hold(first, 4));

  it('sets the counted stock, keeping the holds, and publishes nothing', () => {
    const { decision, state, published } = when(stockDecider, held, count(6));
    expect(decision).toEqual(accepted({ type: 'Counted', sku: rice, onHand: 6 }));
    expect(state).toEqual({ sku: rice, onHand: 6, reserved: 4, holds: { [first]: 4 } });
    expect(published).toEqual([]);
  });

  it('counts a SKU never seen', () => {
    expect(when(stockDecider, undefined, count(12)).state).toEqual({
      sku: rice,
      onHand: 12,
      reserved: 0,
      holds: {},
    });
  });

  it('the same count again is no change', () => {
    expect(stockDecider.decide(count(10), held, now)).toEqual(unchanged);
  });

  it('refuses a count below what is held', () => {
    expect(stockDecider.decide(count(3), held, now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason:
        `Cannot count ${rice} at 3: 4 units are held for fulfilments not shipped yet. ` +
        'Recount, or cancel those fulfilments first.',
    });
  });

  it.each([-1, 2.5])('refuses a count of %p', (onHand) => {
    expect(stockDecider.decide(count(onHand), held, now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: `Cannot count ${rice} at ${onHand}: a count is a whole number of units, 0 or more.`,
    });
  });
});

describe('stock: invariants', () => {
  it('hold under any sequence of inputs: reserved = sum of holds, 0 <= reserved <= on hand', () => {
    // given a deterministic pseudo-random walk over every kind of input, refusals included
    let seed = 42;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const fulfilments = [first, second, 'ORD-20250101-000125'];
    let state: StockState | undefined;
    for (let step = 0; step < 2000; step += 1) {
      const fulfilmentId = fulfilments[next(fulfilments.length)] ?? first;
      const inputs: StockInput[] = [
        hold(fulfilmentId, 1 + next(6)),
        release(fulfilmentId),
        ship(fulfilmentId),
        receive(1 + next(4)),
        count(next(12)),
      ];
      const input = inputs[next(inputs.length)] ?? release(fulfilmentId);
      // when it is decided and its facts folded in
      state = when(stockDecider, state, input).state ?? state;
      // then the invariants hold
      if (state === undefined) continue;
      const held = Object.values(state.holds).reduce((sum, quantity) => sum + quantity, 0);
      expect([step, state.reserved]).toEqual([step, held]);
      expect(state.reserved).toBeGreaterThanOrEqual(0);
      expect(state.onHand).toBeGreaterThanOrEqual(state.reserved);
      expect(availableOf(state)).toBe(state.onHand - state.reserved);
    }
  });
});

// --- reservation -----------------------------------------------------------------------------

const lines: StockLine[] = [
  { sku: rice, quantity: 2 },
  { sku: kimchi, quantity: 1 },
];
const requestedAt = '2025-01-02T04:50:00.000Z';
const request = (fulfilmentId = first, at = requestedAt, requested = lines): ReservationInput => ({
  kind: 'Request',
  fulfilmentId,
  lines: requested,
  requestedAt: at,
});
const allHeld: ReservationInput = { kind: 'AllHeld', fulfilmentId: first };
const short = (...shortages: Shortage[]): ReservationInput => ({
  kind: 'Short',
  fulfilmentId: first,
  shortages,
});
const cancel: ReservationInput = { kind: 'Cancel', fulfilmentId: first };
const shipped: ReservationInput = { kind: 'Shipped', fulfilmentId: first };
const reservationOf = (...inputs: ReservationInput[]) => given(reservationDecider, ...inputs);
const riceShort: Shortage = { sku: rice, requested: 2, available: 1 };
const kimchiShort: Shortage = { sku: kimchi, requested: 1, available: 0 };

const waiting: ReservationState = {
  fulfilmentId: first,
  lines,
  status: 'waiting',
  shortages: [],
  requestedAt,
  reservedAt: null,
  releasedAt: null,
  shippedAt: null,
  shortageReported: false,
};

describe('reservation: Request', () => {
  it('records a new request as waiting, publishing nothing (the attempt decides what to say)', () => {
    const { decision, state, published } = when(reservationDecider, undefined, request());
    expect(decision).toEqual(accepted({ type: 'Requested', fulfilmentId: first, lines, requestedAt }));
    expect(state).toEqual(waiting);
    expect(published).toEqual([]);
  });

  it('a known request is unchanged, whatever it says the second time', () => {
    const state = reservationOf(request());
    expect(reservationDecider.decide(request(), state, now)).toEqual(unchanged);
    expect(
      reservationDecider.decide(request(first, requestedAt, [{ sku: rice, quantity: 9 }]), state, now),
    ).toEqual(unchanged);
  });

  it('refuses lines no hold can take (none, no SKU, not a whole unit >= 1), recording nothing', () => {
    const refusals: [StockLine[], string][] = [
      [[], 'the request has no lines'],
      [[{ sku: ' ', quantity: 1 }], 'line 1 names no SKU'],
      [
        [
          { sku: rice, quantity: 1 },
          { sku: kimchi, quantity: 0 },
        ],
        `line 2 (${kimchi}): quantity 0 is not a whole number of units, at least 1`,
      ],
      [
        [{ sku: rice, quantity: -3 }],
        `line 1 (${rice}): quantity -3 is not a whole number of units, at least 1`,
      ],
    ];
    for (const [requested, reason] of refusals) {
      expect(reservationDecider.decide(request(first, requestedAt, requested), undefined, now)).toEqual({
        kind: 'refused',
        code: 'CONFLICT',
        reason,
      });
      expect(invalidRequestLines(requested)).toBe(reason);
    }
    // A cancellation before the request leaves a state without lines: a bad request still fails.
    const cancelled = reservationOf({ kind: 'Cancel', fulfilmentId: first });
    expect(reservationDecider.decide(request(first, requestedAt, []), cancelled, now).kind).toBe('refused');
    expect(invalidRequestLines(lines)).toBeUndefined();
  });
});

describe('reservation: AllHeld', () => {
  it('reserves a waiting request and publishes StockReserved with the lines as requested', () => {
    const { decision, state, published } = when(reservationDecider, reservationOf(request()), allHeld);
    expect(decision).toEqual(accepted({ type: 'Reserved', fulfilmentId: first, lines, reservedAt: at }));
    expect(state).toEqual({ ...waiting, status: 'reserved', reservedAt: at });
    expect(published).toEqual([{ type: 'StockReserved', version: 1, data: { fulfilmentId: first, lines } }]);
  });

  it('is unchanged when already reserved, before any request, or after a release or shipping', () => {
    for (const state of [
      reservationOf(request(), allHeld),
      undefined,
      reservationOf(request(), cancel),
      reservationOf(request(), allHeld, shipped),
    ])
      expect(reservationDecider.decide(allHeld, state, now)).toEqual(unchanged);
  });

  it('clears the shortages of earlier attempts', () => {
    const { state } = when(reservationDecider, reservationOf(request(), short(riceShort)), allHeld);
    expect(state).toEqual({ ...waiting, status: 'reserved', reservedAt: at, shortageReported: true });
  });
});

describe('reservation: Short', () => {
  it('the first shortage publishes StockShortage; the request keeps waiting for stock', () => {
    const { decision, state, published } = when(
      reservationDecider,
      reservationOf(request()),
      short(riceShort),
    );
    expect(decision).toEqual(
      accepted({ type: 'FoundShort', fulfilmentId: first, shortages: [riceShort], firstReport: true }),
    );
    expect(state).toEqual({ ...waiting, shortages: [riceShort], shortageReported: true });
    expect(published).toEqual([
      { type: 'StockShortage', version: 1, data: { fulfilmentId: first, shortages: [riceShort] } },
    ]);
  });

  it('a later, different shortage while waiting is recorded (by SKU) but not published again', () => {
    const { decision, state, published } = when(
      reservationDecider,
      reservationOf(request(), short(riceShort)),
      short(riceShort, kimchiShort),
    );
    expect(decision).toEqual(
      accepted({
        type: 'FoundShort',
        fulfilmentId: first,
        shortages: [kimchiShort, riceShort],
        firstReport: false,
      }),
    );
    expect(state).toEqual({ ...waiting, shortages: [kimchiShort, riceShort], shortageReported: true });
    expect(published).toEqual([]);
  });

  it('the same shortage again, in any order, is unchanged', () => {
    const state = reservationOf(request(), short(riceShort, kimchiShort));
    expect(reservationDecider.decide(short(kimchiShort, riceShort), state, now)).toEqual(unchanged);
  });

  it('is unchanged with nothing short, before the request, and once reserved, released or shipped', () => {
    expect(reservationDecider.decide(short(), reservationOf(request()), now)).toEqual(unchanged);
    for (const state of [
      undefined,
      reservationOf(request(), allHeld),
      reservationOf(request(), cancel),
      reservationOf(request(), allHeld, shipped),
    ])
      expect(reservationDecider.decide(short(riceShort), state, now)).toEqual(unchanged);
  });
});

describe('reservation: Cancel', () => {
  const releasedFor = (held: StockLine[]): Publication[] => [
    {
      type: 'StockReleased',
      version: 1,
      data: { fulfilmentId: first, lines: held, reason: 'FULFILMENT_CANCELLED' },
    },
  ];

  it('releases a reserved fulfilment and publishes the lines that were held', () => {
    const { decision, state, published } = when(
      reservationDecider,
      reservationOf(request(), allHeld),
      cancel,
    );
    expect(decision).toEqual(
      accepted({ type: 'ReleasedOnCancel', fulfilmentId: first, lines, releasedAt: at }),
    );
    expect(state).toEqual({ ...waiting, status: 'released', reservedAt: at, releasedAt: at });
    expect(published).toEqual(releasedFor(lines));
  });

  it('releases a waiting fulfilment with no lines: nothing was held', () => {
    const { decision, state, published } = when(
      reservationDecider,
      reservationOf(request(), short(riceShort)),
      cancel,
    );
    expect(decision).toEqual(
      accepted({ type: 'ReleasedOnCancel', fulfilmentId: first, lines: [], releasedAt: at }),
    );
    expect(state).toEqual({
      ...waiting,
      status: 'released',
      shortages: [riceShort],
      shortageReported: true,
      releasedAt: at,
    });
    expect(published).toEqual(releasedFor([]));
  });

  it('a second cancel is unchanged', () => {
    expect(reservationDecider.decide(cancel, reservationOf(request(), allHeld, cancel), now)).toEqual(
      unchanged,
    );
  });

  it('is unchanged after shipping: too late, the goods left', () => {
    expect(reservationDecider.decide(cancel, reservationOf(request(), allHeld, shipped), now)).toEqual(
      unchanged,
    );
  });

  describe('before the request (a rejected order cancelled, then replayed from the dead-letter topic)', () => {
    const cancelledFirst = reservationOf(cancel);

    it('records the fulfilment as released with nothing held, and confirms the cancellation', () => {
      const { decision, state, published } = when(reservationDecider, undefined, cancel);
      expect(decision).toEqual(
        accepted({ type: 'ReleasedOnCancel', fulfilmentId: first, lines: [], releasedAt: at }),
      );
      expect(state).toEqual({ ...waiting, lines: [], status: 'released', requestedAt: null, releasedAt: at });
      expect(published).toEqual(releasedFor([]));
    });

    it('the request that follows is recorded, stays released, publishes nothing and takes no hold', () => {
      const { decision, state, published } = when(reservationDecider, cancelledFirst, request());
      expect(decision).toEqual(accepted({ type: 'Requested', fulfilmentId: first, lines, requestedAt }));
      expect(state).toEqual({ ...waiting, status: 'released', releasedAt: at });
      expect(published).toEqual([]);
      // the wiring makes no attempt (not waiting), and its follow-up releases any stray hold
      expect(waitingOldestFirst(state === undefined ? [] : [state])).toEqual([]);
      expect(stockFollowUp(state)).toEqual([
        { kind: 'Release', sku: kimchi, fulfilmentId: first },
        { kind: 'Release', sku: rice, fulfilmentId: first },
      ]);
    });

    it('then a redelivered request, AllHeld, Short, Cancel and Shipped are all unchanged', () => {
      const requestedAfter = reservationOf(cancel, request());
      for (const input of [request(), allHeld, short(riceShort), cancel, shipped])
        expect(reservationDecider.decide(input, requestedAfter, now)).toEqual(unchanged);
    });
  });
});

describe('reservation: Shipped', () => {
  it('marks a reserved fulfilment shipped, publishing nothing', () => {
    const { decision, state, published } = when(
      reservationDecider,
      reservationOf(request(), allHeld),
      shipped,
    );
    expect(decision).toEqual(accepted({ type: 'Shipped', fulfilmentId: first, shippedAt: at }));
    expect(state).toEqual({ ...waiting, status: 'shipped', reservedAt: at, shippedAt: at });
    expect(published).toEqual([]);
  });

  it('is unchanged when repeated, after a cancellation, while waiting or before any request', () => {
    for (const state of [
      reservationOf(request(), allHeld, shipped),
      reservationOf(request(), allHeld, cancel),
      reservationOf(request()),
      undefined,
    ])
      expect(reservationDecider.decide(shipped, state, now)).toEqual(unchanged);
  });
});

describe('reservation: out-of-order arrival', () => {
  it('a stale Short after AllHeld leaves it reserved; Cancel and Shipped: the first one wins', () => {
    expect(reservationOf(request(), allHeld, short(riceShort))).toEqual(reservationOf(request(), allHeld));
    expect(reservationOf(request(), allHeld, cancel, shipped)?.status).toBe('released');
    expect(reservationOf(request(), allHeld, shipped, cancel)?.status).toBe('shipped');
  });
});

// --- helpers ---------------------------------------------------------------------------------

const stockWith = (sku: string, onHand: number, holds: Record<string, number> = {}): StockState => ({
  sku,
  onHand,
  reserved: Object.values(holds).reduce((sum, quantity) => sum + quantity, 0),
  holds,
});

describe('holdOrder', () => {
  it('sorts by SKU and merges a SKU listed twice (a stock keeps one hold per fulfilment)', () => {
    expect(
      holdOrder([
        { sku: rice, quantity: 2 },
        { sku: kimchi, quantity: 1 },
        { sku: rice, quantity: 3 },
      ]),
    ).toEqual([
      { sku: kimchi, quantity: 1 },
      { sku: rice, quantity: 5 },
    ]);
  });
});

describe('shortagesOf', () => {
  it('lists, by SKU, what the lines would lack now; SKUs never seen have nothing', () => {
    const stocks = { [rice]: stockWith(rice, 5, { [second]: 4 }) };
    expect(shortagesOf(lines, stocks, first)).toEqual([
      { sku: kimchi, requested: 1, available: 0 },
      { sku: rice, requested: 2, available: 1 },
    ]);
  });

  it('is empty when every line would be held, and counts a SKU listed twice once', () => {
    const stocks = { [rice]: stockWith(rice, 3), [kimchi]: stockWith(kimchi, 1) };
    expect(shortagesOf(lines, stocks, first)).toEqual([]);
    expect(shortagesOf([...lines, { sku: rice, quantity: 2 }], stocks, first)).toEqual([
      { sku: rice, requested: 4, available: 3 },
    ]);
  });

  it("counts the fulfilment's own hold (left by a crashed attempt) as granted", () => {
    const stocks = {
      [rice]: stockWith(rice, 2, { [first]: 2 }),
      [kimchi]: stockWith(kimchi, 1, { [second]: 1 }),
    };
    expect(shortagesOf(lines, stocks, first)).toEqual([{ sku: kimchi, requested: 1, available: 0 }]);
  });
});

describe('planAttempts', () => {
  const third = 'ORD-20250101-000125';
  const waitingFor = (fulfilmentId: string, wanted: StockLine[] = lines): ReservationState => ({
    ...waiting,
    fulfilmentId,
    lines: wanted,
  });

  it('serves the oldest first: each later attempt sees the stock the earlier holds leave', () => {
    const stocks = { [rice]: stockWith(rice, 3), [kimchi]: stockWith(kimchi, 5) };
    const riceOnly = [{ sku: rice, quantity: 1 }];
    expect(
      planAttempts([waitingFor(first), waitingFor(second), waitingFor(third, riceOnly)], stocks, now),
    ).toEqual([
      { fulfilmentId: first, holds: holdOrder(lines) },
      { fulfilmentId: second, shortages: [{ sku: rice, requested: 2, available: 1 }] },
      // A younger one that fits is not blocked by the one short before it.
      { fulfilmentId: third, holds: riceOnly },
    ]);
  });

  it("counts an attempt's own hold (left by a crash) as granted, and a SKU never seen as none", () => {
    const stocks = { [rice]: stockWith(rice, 2, { [first]: 2 }), [kimchi]: stockWith(kimchi, 1) };
    expect(planAttempts([waitingFor(first), waitingFor(second)], stocks, now)).toEqual([
      { fulfilmentId: first, holds: holdOrder(lines) },
      {
        fulfilmentId: second,
        shortages: [
          { sku: kimchi, requested: 1, available: 0 },
          { sku: rice, requested: 2, available: 0 },
        ],
      },
    ]);
    expect(planAttempts([waitingFor(third)], {}, now)).toEqual([
      {
        fulfilmentId: third,
        shortages: [
          { sku: kimchi, requested: 1, available: 0 },
          { sku: rice, requested: 2, available: 0 },
        ],
      },
    ]);
  });
});

describe('stockFollowUp', () => {
  it('releases every SKU once released, ships every SKU once shipped, and leaves the rest', () => {
    expect(stockFollowUp(reservationOf(request(), allHeld, cancel))).toEqual([
      { kind: 'Release', sku: kimchi, fulfilmentId: first },
      { kind: 'Release', sku: rice, fulfilmentId: first },
    ]);
    expect(stockFollowUp(reservationOf(request(), allHeld, shipped))).toEqual([
      { kind: 'Ship', sku: kimchi, fulfilmentId: first },
      { kind: 'Ship', sku: rice, fulfilmentId: first },
    ]);
    expect(stockFollowUp(reservationOf(request()))).toEqual([]);
    expect(stockFollowUp(reservationOf(request(), allHeld))).toEqual([]);
    expect(stockFollowUp(undefined)).toEqual([]);
  });
});

describe('waitingOldestFirst', () => {
  it('keeps the waiting reservations, oldest request first, the fulfilment id breaking ties', () => {
    const later = { ...waiting, fulfilmentId: 'ORD-B', requestedAt: '2025-01-02T04:55:00.000Z' };
    const earlier = { ...waiting, fulfilmentId: 'ORD-C', requestedAt: '2025-01-02T04:40:00.000Z' };
    const tie = { ...waiting, fulfilmentId: 'ORD-A', requestedAt: '2025-01-02T04:55:00.000Z' };
    const reserved = {
      ...waiting,
      fulfilmentId: 'ORD-D',
      status: 'reserved' as const,
      requestedAt: '2025-01-01T00:00:00.000Z',
    };
    const cancelledFirst = {
      ...waiting,
      fulfilmentId: 'ORD-E',
      status: 'released' as const,
      requestedAt: null,
    };
    expect(waitingOldestFirst([later, reserved, tie, cancelledFirst, earlier])).toEqual([
      earlier,
      tie,
      later,
    ]);
  });
});

// --- the protocol, played by a wiring written here -------------------------------------------

/**
 * An in-memory wiring that follows the module comment's protocol, with the aggregate store's
 * dedup by cause id, and a crash after a given number of writes.
 */
class World {
  constructor(private readonly quickCheck = true) {}

  readonly stocks: Record<string, StockState | undefined> = {};
  readonly reservations: Record<string, ReservationState | undefined> = {};
  readonly published: Publication[] = [];
  private readonly causes = new Set<string>();
  private budget = Infinity;

  crashAfter(writes: number): void {
    this.budget = writes;
  }

  private apply<S, I, F>(
    decider: Decider<S, I, F>,
    states: Record<string, S | undefined>,
    id: string,
    input: I,
    cause: string | null,
  ): Decision<F> {
    if (cause !== null && this.causes.has(`${id}|${cause}`)) return unchanged;
    if (this.budget <= 0) throw new Crash();
    const decision = decider.decide(input, states[id], now);
    if (decision.kind === 'refused') throw new Error(`refused: ${decision.reason}`);
    if (decision.facts.length === 0) return decision;
    this.budget -= 1;
    const after = evolveAll(decider, states[id], decision.facts);
    if (after === undefined) throw new Error('no state');
    states[id] = after;
    if (cause !== null) this.causes.add(`${id}|${cause}`);
    this.published.push(...decision.facts.flatMap((fact) => decider.publish(fact, after)));
    return decision;
  }

  /** Only a receipt is deduped by its cause; holds are idempotent by fulfilment (fresh cause ids). */
  stock(input: StockInput, cause: string | null = null): void {
    this.apply(stockDecider, this.stocks, input.sku, input, input.kind === 'Receive' ? cause : null);
  }

  reserve(input: ReservationInput, cause: string): ReservationState | undefined {
    this.apply(reservationDecider, this.reservations, input.fulfilmentId, input, cause);
    return this.reservations[input.fulfilmentId];
  }

  followUp(reservation: ReservationState | undefined): void {
    for (const input of stockFollowUp(reservation)) this.stock(input);
  }

  attempt(fulfilmentId: string, cause: string): void {
    const reservation = this.reservations[fulfilmentId];
    if (reservation?.status !== 'waiting') return;
    const quick = this.quickCheck ? shortagesOf(reservation.lines, this.stocks, fulfilmentId) : [];
    if (quick.length > 0) {
      this.reserve({ kind: 'Short', fulfilmentId, shortages: quick }, `${cause}:${fulfilmentId}:short`);
      return;
    }
    for (const { sku, quantity } of holdOrder(reservation.lines)) {
      this.stock({ kind: 'Hold', sku, fulfilmentId, quantity });
      const stock = this.stocks[sku];
      if (stock?.holds[fulfilmentId] === undefined) {
        for (const line of holdOrder(reservation.lines))
          this.stock({ kind: 'Release', sku: line.sku, fulfilmentId });
        const shortage = { sku, requested: quantity, available: availableOf(stock) };
        this.reserve(
          { kind: 'Short', fulfilmentId, shortages: [shortage] },
          `${cause}:${fulfilmentId}:short`,
        );
        return;
      }
    }
    this.followUp(this.reserve({ kind: 'AllHeld', fulfilmentId }, `${cause}:${fulfilmentId}:held`));
  }

  retryWaiting(cause: string): void {
    const all = Object.values(this.reservations).filter((r): r is ReservationState => r !== undefined);
    for (const { fulfilmentId } of waitingOldestFirst(all)) this.attempt(fulfilmentId, cause);
  }

  // Handlers, one per event or command; `cause` is its id.
  received(cause: string, sku: string, quantity: number): void {
    this.stock(receive(quantity, sku), cause);
    this.retryWaiting(cause);
  }
  requested(cause: string, fulfilmentId: string, requested: StockLine[], at: string): void {
    const reservation = this.reserve(request(fulfilmentId, at, requested), cause);
    if (reservation?.status === 'waiting') this.attempt(fulfilmentId, cause);
    else this.followUp(reservation);
  }
  cancelled(cause: string, fulfilmentId: string): void {
    this.followUp(this.reserve({ kind: 'Cancel', fulfilmentId }, cause));
    this.retryWaiting(cause);
  }
  dispatched(cause: string, fulfilmentId: string): void {
    this.followUp(this.reserve({ kind: 'Shipped', fulfilmentId }, cause));
  }
}

class Crash extends Error {}

const third = 'ORD-20250101-000125';
/** Stock for one of the first two; the second waits, then gets the first one's stock. */
const script: ((world: World) => void)[] = [
  (w) => w.received('cmd-1', rice, 2),
  (w) => w.received('cmd-2', kimchi, 1),
  (w) =>
    w.requested(
      'evt-1',
      first,
      lines.map((l) => ({ ...l, quantity: 1 })),
      '2025-01-02T04:01:00.000Z',
    ),
  (w) =>
    w.requested(
      'evt-2',
      second,
      [
        { sku: kimchi, quantity: 1 },
        { sku: rice, quantity: 1 },
      ],
      '2025-01-02T04:02:00.000Z',
    ),
  (w) => w.requested('evt-3', third, [{ sku: rice, quantity: 1 }], '2025-01-02T04:03:00.000Z'),
  (w) => w.received('cmd-3', kimchi, 1),
  (w) => w.cancelled('evt-4', first),
  (w) => w.dispatched('evt-5', second),
];

/**
 * Plays the script; at `crash.step`, the handler crashes after `crash.afterWrites` writes (or
 * finishes, when it has fewer) and is delivered again.
 */
function play(
  crash?: { step: number; afterWrites: number },
  quickCheck = true,
): { world: World; crashed: boolean } {
  const world = new World(quickCheck);
  let crashed = false;
  script.forEach((handle, step) => {
    if (crash?.step === step) {
      world.crashAfter(crash.afterWrites);
      try {
        handle(world);
      } catch (error) {
        if (!(error instanceof Crash)) throw error;
        crashed = true;
      }
      world.crashAfter(Infinity);
    }
    handle(world);
  });
  return { world, crashed };
}

describe('the protocol', () => {
  const line = (sku: string, quantity = 1): StockLine => ({ sku, quantity });

  it('serves requests all or nothing, waits for stock, and follows cancellations and dispatches', () => {
    const { world } = play();
    expect(world.stocks).toEqual({
      // rice: 2 in; first held 1 then released; second held 1 and shipped; third holds 1
      [rice]: { sku: rice, onHand: 1, reserved: 1, holds: { [third]: 1 } },
      // kimchi: 1 + 1 in; first held 1 then released; second held 1 and shipped
      [kimchi]: { sku: kimchi, onHand: 1, reserved: 0, holds: {} },
    });
    expect(Object.values(world.reservations).map((r) => [r?.fulfilmentId, r?.status])).toEqual([
      [first, 'released'],
      [second, 'shipped'],
      [third, 'reserved'],
    ]);
    expect(world.published).toEqual([
      {
        type: 'StockReceived',
        version: 1,
        data: { sku: rice, quantity: 2, onHand: 2, supplierReference: null },
      },
      {
        type: 'StockReceived',
        version: 1,
        data: { sku: kimchi, quantity: 1, onHand: 1, supplierReference: null },
      },
      { type: 'StockReserved', version: 1, data: { fulfilmentId: first, lines: [line(rice), line(kimchi)] } },
      {
        type: 'StockShortage',
        version: 1,
        data: { fulfilmentId: second, shortages: [{ sku: kimchi, requested: 1, available: 0 }] },
      },
      { type: 'StockReserved', version: 1, data: { fulfilmentId: third, lines: [line(rice)] } },
      // the receipt retries the second request: now rice is short, which is recorded, not republished
      {
        type: 'StockReceived',
        version: 1,
        data: { sku: kimchi, quantity: 1, onHand: 2, supplierReference: null },
      },
      {
        type: 'StockReleased',
        version: 1,
        data: { fulfilmentId: first, lines: [line(rice), line(kimchi)], reason: 'FULFILMENT_CANCELLED' },
      },
      // the cancellation freed rice: the second request is served
      {
        type: 'StockReserved',
        version: 1,
        data: { fulfilmentId: second, lines: [line(kimchi), line(rice)] },
      },
    ]);
  });

  it.each([
    ['with the quick check', true],
    ['without it, so that holds are refused', false],
  ])('converges after a crash at any write and a redelivery (%s)', (_case, quickCheck) => {
    const clean = play(undefined, quickCheck).world;
    let crashes = 0;
    script.forEach((_handler, step) => {
      for (let afterWrites = 0, crashed = true; crashed; afterWrites += 1) {
        const replayed = play({ step, afterWrites }, quickCheck);
        crashed = replayed.crashed;
        if (crashed) crashes += 1;
        // then stock, reservations and publications are those of a run without the crash (and a
        // handler delivered twice without crashing changes nothing the second time)
        const { stocks, reservations, published } = replayed.world;
        expect([step, afterWrites, stocks, reservations, published]).toEqual([
          step,
          afterWrites,
          clean.stocks,
          clean.reservations,
          clean.published,
        ]);
      }
    });
    expect(crashes).toBeGreaterThan(20);
  });

  it('a cancellation racing an attempt leaves no hold behind, whichever reaches the reservation first', () => {
    const setUp = (): World => {
      const world = new World();
      world.received('cmd-1', rice, 2);
      world.received('cmd-2', kimchi, 1);
      world.reserve(request(), 'evt-1');
      return world;
    };
    const holdsOf = (world: World) => [world.stocks[kimchi]?.holds, world.stocks[rice]?.holds];
    const attemptHolds = holdOrder(lines).map(({ sku, quantity }) => hold(first, quantity, sku));

    // given an attempt that took one hold, when the cancellation runs before the attempt's AllHeld
    const late = setUp();
    const [firstHold, secondHold] = attemptHolds;
    if (firstHold === undefined || secondHold === undefined) throw new Error('two lines expected');
    late.stock(firstHold);
    late.cancelled('evt-2', first);
    late.stock(secondHold);
    late.followUp(late.reserve(allHeld, 'evt-1:held'));
    // then the attempt finds it released and lets go of its holds
    expect(late.reservations[first]?.status).toBe('released');
    expect(holdsOf(late)).toEqual([{}, {}]);
    expect(late.published.filter((p) => p.type !== 'StockReceived')).toEqual([
      {
        type: 'StockReleased',
        version: 1,
        data: { fulfilmentId: first, lines: [], reason: 'FULFILMENT_CANCELLED' },
      },
    ]);

    // given an attempt that reached AllHeld first, when the cancellation follows
    const early = setUp();
    for (const input of attemptHolds) early.stock(input);
    early.followUp(early.reserve(allHeld, 'evt-1:held'));
    early.cancelled('evt-2', first);
    // then the cancellation releases the holds
    expect(early.reservations[first]?.status).toBe('released');
    expect(holdsOf(early)).toEqual([{}, {}]);
    expect(early.published.filter((p) => p.type !== 'StockReceived')).toEqual([
      { type: 'StockReserved', version: 1, data: { fulfilmentId: first, lines } },
      {
        type: 'StockReleased',
        version: 1,
        data: { fulfilmentId: first, lines, reason: 'FULFILMENT_CANCELLED' },
      },
    ]);
  });

  it('in holdOrder two competing attempts serve one; in request order they can starve both', () => {
    // given stock for one of two requests that list the same SKUs in opposite orders
    const stocks = (): Record<string, StockState | undefined> => ({
      [rice]: stockWith(rice, 1),
      [kimchi]: stockWith(kimchi, 1),
    });
    /** Two attempts taking one hold each in turn; a refused attempt stops and releases. */
    function race(orderOf: (requested: StockLine[]) => StockLine[]): string[] {
      const state = stocks();
      const attempts = [
        { fulfilmentId: first, queue: orderOf([line(rice), line(kimchi)]), refused: false },
        { fulfilmentId: second, queue: orderOf([line(kimchi), line(rice)]), refused: false },
      ];
      while (attempts.some((a) => !a.refused && a.queue.length > 0)) {
        for (const a of attempts) {
          const next = a.refused ? undefined : a.queue.shift();
          if (next === undefined) continue;
          const { decision, state: after } = when(
            stockDecider,
            state[next.sku],
            hold(a.fulfilmentId, 1, next.sku),
          );
          state[next.sku] = after;
          if (decision.kind === 'accepted' && decision.facts.some((f) => f.type === 'HoldRefused'))
            a.refused = true;
        }
      }
      return attempts.filter((a) => !a.refused).map((a) => a.fulfilmentId);
    }
    // when they race in the order they were requested, both are refused; in holdOrder, one is served
    expect(race((requested) => requested)).toEqual([]);
    expect(race(holdOrder)).toEqual([first]);
  });
});

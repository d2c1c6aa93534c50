import type { Destination } from '@contracts/generated';
import { evolveAll, type Decision } from '@runtime/decider';
import {
  decider,
  fulfilmentIdOf,
  matchesShipmentFilter,
  shipmentIdOf,
  type DeliveryFact,
  type DeliveryInput,
  type ShipmentState,
} from './domain';

const fulfilmentId = 'ORD-20250101-000123';
const shipmentId = 'SHP-ORD-20250101-000123';
const now = new Date('2025-01-02T05:00:00.000Z');
const at = now.toISOString();

const home: Destination = {
  contactName: '김민지',
  contactPhone: '010-1234-5678',
  postalCode: '06236',
  addressLine: '서울특별시 강남구 테헤란로 123',
  addressDetail: '5층',
  courierNote: '문 앞에 놓아주세요',
};
const office: Destination = { ...home, addressLine: '서울특별시 중구 세종대로 110', postalCode: '04524' };
const deliveryWindow = { earliest: '2025-01-01T15:00:00.000Z', latest: '2025-01-01T22:00:00.000Z' };

const inputs = {
  requested: {
    kind: 'FulfilmentRequested',
    fulfilmentId,
    destination: home,
    deliveryWindow,
    dispatchWave: 'WAVE-20250102-DAWN',
    deliveryZone: 'SEOUL-GANGNAM',
    requestedAt: '2025-01-01T10:00:00.000Z',
  },
  changed: { kind: 'DestinationChanged', fulfilmentId, destination: office, deliveryZone: 'SEOUL-CENTRAL' },
  packed: { kind: 'ParcelPacked', fulfilmentId, parcelCount: 2, packedAt: '2025-01-02T04:00:00.000Z' },
  cancelled: { kind: 'FulfilmentCancelled', fulfilmentId, reason: 'CUSTOMER_REQUEST' },
  dispatch: { kind: 'Dispatch', courierId: 'COURIER-9', estimatedArrivalAt: '2025-01-02T06:00:00.000Z' },
  deliver: { kind: 'Deliver', proofOfDelivery: 'photo://pod/123.jpg' },
  noCourier: { kind: 'Fail', reason: 'NO_COURIER_AVAILABLE', detail: null },
  unreachable: { kind: 'Fail', reason: 'RECIPIENT_UNREACHABLE', detail: '전화 안 받음' },
} as const satisfies Record<string, DeliveryInput>;

/** Runs inputs one by one from no state, as the aggregate store would. */
function given(...history: readonly DeliveryInput[]): ShipmentState | undefined {
  return history.reduce<ShipmentState | undefined>((state, input) => {
    const decision = decider.decide(input, state, now);
    if (decision.kind === 'refused') throw new Error(`given ${input.kind} was refused: ${decision.reason}`);
    return evolveAll(decider, state, decision.facts);
  }, undefined);
}

function when(state: ShipmentState | undefined, input: DeliveryInput): Decision<DeliveryFact> {
  return decider.decide(input, state, now);
}

function then(state: ShipmentState | undefined, input: DeliveryInput): ShipmentState | undefined {
  const decision = when(state, input);
  if (decision.kind === 'refused') throw new Error(`${input.kind} was refused: ${decision.reason}`);
  return evolveAll(decider, state, decision.facts);
}

const facts = (decision: Decision<DeliveryFact>): readonly DeliveryFact[] =>
  decision.kind === 'accepted' ? decision.facts : [];

const published = (decision: Decision<DeliveryFact>, state: ShipmentState | undefined) => {
  const after = evolveAll(decider, state, facts(decision));
  if (after === undefined) return [];
  return facts(decision).flatMap((fact) => decider.publish(fact, after));
};

const ready = () => given(inputs.requested, inputs.packed);
const dispatched = () => given(inputs.requested, inputs.packed, inputs.dispatch);

describe('a shipment becomes ready once its parcel is packed and its destination known', () => {
  it('opens from the fulfilment request, awaiting the parcel', () => {
    expect(given(inputs.requested)).toEqual({
      fulfilmentId,
      shipmentId,
      status: 'awaiting-parcel',
      destination: home,
      deliveryWindow,
      dispatchWave: 'WAVE-20250102-DAWN',
      deliveryZone: 'SEOUL-GANGNAM',
      parcelCount: null,
      courierId: null,
      estimatedArrivalAt: null,
      proofOfDelivery: null,
      failure: null,
      cancellationReason: null,
      cancellationRefusedAt: null,
      requestedAt: '2025-01-01T10:00:00.000Z',
      packedAt: null,
      dispatchedAt: null,
      deliveredAt: null,
      failedAt: null,
      cancelledAt: null,
    });
  });

  it('opens from a packed parcel, awaiting the request: not ready without a destination', () => {
    expect(given(inputs.packed)).toMatchObject({
      status: 'awaiting-request',
      destination: null,
      parcelCount: 2,
      packedAt: '2025-01-02T04:00:00.000Z',
    });
  });

  it('is ready in either order, with the same state', () => {
    const requestFirst = given(inputs.requested, inputs.packed);
    const parcelFirst = given(inputs.packed, inputs.requested);
    expect(requestFirst?.status).toBe('ready');
    expect(parcelFirst).toEqual(requestFirst);
  });

  it('records the request and the parcel as private facts', () => {
    const open = given(inputs.requested);
    const decision = when(open, inputs.packed);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [{ type: 'ParcelPacked', fulfilmentId, parcelCount: 2, packedAt: '2025-01-02T04:00:00.000Z' }],
    });
    expect(published(decision, open)).toEqual([]);
  });

  it('keeps v1 requests without wave and zone', () => {
    const v1 = { ...inputs.requested, dispatchWave: null, deliveryZone: null };
    expect(given(v1, inputs.packed)).toMatchObject({
      status: 'ready',
      dispatchWave: null,
      deliveryZone: null,
    });
  });

  it.each<[string, DeliveryInput, ShipmentState | undefined]>([
    ['request', inputs.requested, given(inputs.requested)],
    ['request once packed', inputs.requested, ready()],
    ['parcel', inputs.packed, given(inputs.packed)],
    ['parcel once ready', inputs.packed, ready()],
    ['parcel once dispatched', inputs.packed, dispatched()],
  ])('a duplicate %s changes nothing', (_case, input, state) => {
    expect(when(state, input)).toEqual({ kind: 'accepted', facts: [] });
  });
});

describe('destination changes', () => {
  it('apply before dispatch: destination and zone are replaced', () => {
    const state = ready();
    expect(when(state, inputs.changed)).toEqual({
      kind: 'accepted',
      facts: [
        { type: 'DestinationChanged', fulfilmentId, destination: office, deliveryZone: 'SEOUL-CENTRAL' },
      ],
    });
    expect(then(state, inputs.changed)).toMatchObject({
      status: 'ready',
      destination: office,
      deliveryZone: 'SEOUL-CENTRAL',
      dispatchWave: 'WAVE-20250102-DAWN',
    });
  });

  it('from a v1 writer clear the zone, which belonged to the old address', () => {
    const v1 = { ...inputs.changed, deliveryZone: null };
    expect(then(ready(), v1)).toMatchObject({ destination: office, deliveryZone: null });
  });

  it('are ignored after dispatch: the courier follows the label', () => {
    expect(when(dispatched(), inputs.changed)).toEqual({ kind: 'accepted', facts: [] });
  });

  it('are unchanged when repeated', () => {
    expect(when(given(inputs.requested, inputs.changed), inputs.changed)).toEqual({
      kind: 'accepted',
      facts: [],
    });
  });

  it('seen before their request win over the older address of the request', () => {
    const state = given(inputs.changed, inputs.requested, inputs.packed);
    expect(state).toMatchObject({
      status: 'ready',
      destination: office,
      deliveryZone: 'SEOUL-CENTRAL',
      deliveryWindow,
      requestedAt: '2025-01-01T10:00:00.000Z',
    });
  });

  it('alone do not make a packed shipment ready: the request is still missing', () => {
    expect(given(inputs.packed, inputs.changed)?.status).toBe('awaiting-request');
  });
});

describe('Dispatch', () => {
  it('from ready publishes ShipmentDispatched v1', () => {
    const state = ready();
    const decision = when(state, inputs.dispatch);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [
        {
          type: 'ShipmentDispatched',
          fulfilmentId,
          shipmentId,
          courierId: 'COURIER-9',
          estimatedArrivalAt: '2025-01-02T06:00:00.000Z',
          dispatchedAt: at,
        },
      ],
    });
    expect(published(decision, state)).toEqual([
      {
        type: 'ShipmentDispatched',
        version: 1,
        data: {
          fulfilmentId,
          shipmentId,
          courierId: 'COURIER-9',
          estimatedArrivalAt: new Date('2025-01-02T06:00:00.000Z'),
        },
      },
    ]);
    expect(then(state, inputs.dispatch)).toMatchObject({
      status: 'dispatched',
      courierId: 'COURIER-9',
      estimatedArrivalAt: '2025-01-02T06:00:00.000Z',
      dispatchedAt: at,
    });
  });

  it('publishes a null arrival estimate as null', () => {
    const state = ready();
    const decision = when(state, { kind: 'Dispatch', courierId: 'COURIER-9', estimatedArrivalAt: null });
    expect(published(decision, state)).toEqual([
      {
        type: 'ShipmentDispatched',
        version: 1,
        data: { fulfilmentId, shipmentId, courierId: 'COURIER-9', estimatedArrivalAt: null },
      },
    ]);
  });

  it('the same command again changes nothing', () => {
    expect(when(dispatched(), inputs.dispatch)).toEqual({ kind: 'accepted', facts: [] });
  });

  it.each<[string, ShipmentState | undefined, DeliveryInput, Decision<DeliveryFact>]>([
    [
      'no shipment',
      undefined,
      inputs.dispatch,
      { kind: 'refused', code: 'NOT_FOUND', reason: 'There is no shipment for this fulfilment yet.' },
    ],
    [
      'no parcel yet',
      given(inputs.requested),
      inputs.dispatch,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be dispatched: its parcel has not been packed yet.`,
      },
    ],
    [
      'no destination yet',
      given(inputs.packed),
      inputs.dispatch,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be dispatched: its destination is not known yet (the fulfilment request has not arrived).`,
      },
    ],
    [
      'another courier',
      dispatched(),
      { ...inputs.dispatch, courierId: 'COURIER-4' },
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be dispatched: it was already dispatched with courier COURIER-9 at ${at}.`,
      },
    ],
    [
      'delivered',
      given(inputs.requested, inputs.packed, inputs.dispatch, inputs.deliver),
      { ...inputs.dispatch, courierId: 'COURIER-4' },
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be dispatched: it was already delivered at ${at}.`,
      },
    ],
    [
      'failed',
      given(inputs.requested, inputs.packed, inputs.noCourier),
      inputs.dispatch,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be dispatched: its delivery already failed (NO_COURIER_AVAILABLE) at ${at}.`,
      },
    ],
    [
      'cancelled',
      given(inputs.requested, inputs.packed, inputs.cancelled),
      inputs.dispatch,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be dispatched: the fulfilment was cancelled (CUSTOMER_REQUEST) at ${at}.`,
      },
    ],
  ])('is refused: %s', (_case, state, input, refusal) => {
    expect(when(state, input)).toEqual(refusal);
  });
});

describe('Deliver', () => {
  it('from dispatched publishes ShipmentDelivered v1 with the courier who left with it', () => {
    const state = dispatched();
    const decision = when(state, inputs.deliver);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [
        {
          type: 'ShipmentDelivered',
          fulfilmentId,
          shipmentId,
          courierId: 'COURIER-9',
          proofOfDelivery: 'photo://pod/123.jpg',
          deliveredAt: at,
        },
      ],
    });
    expect(published(decision, state)).toEqual([
      {
        type: 'ShipmentDelivered',
        version: 1,
        data: { fulfilmentId, shipmentId, courierId: 'COURIER-9', proofOfDelivery: 'photo://pod/123.jpg' },
      },
    ]);
    expect(then(state, inputs.deliver)).toMatchObject({
      status: 'delivered',
      proofOfDelivery: 'photo://pod/123.jpg',
      deliveredAt: at,
    });
  });

  it('the same command again changes nothing', () => {
    const delivered = given(inputs.requested, inputs.packed, inputs.dispatch, inputs.deliver);
    expect(when(delivered, inputs.deliver)).toEqual({ kind: 'accepted', facts: [] });
  });

  it.each<[string, ShipmentState | undefined, DeliveryInput, Decision<DeliveryFact>]>([
    [
      'no shipment',
      undefined,
      inputs.deliver,
      { kind: 'refused', code: 'NOT_FOUND', reason: 'There is no shipment for this fulfilment yet.' },
    ],
    [
      'not dispatched yet',
      ready(),
      inputs.deliver,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked delivered: it has not been dispatched yet.`,
      },
    ],
    [
      'delivered with another proof',
      given(inputs.requested, inputs.packed, inputs.dispatch, inputs.deliver),
      { kind: 'Deliver', proofOfDelivery: null },
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked delivered: it was already delivered at ${at}.`,
      },
    ],
    [
      'failed',
      given(inputs.requested, inputs.packed, inputs.dispatch, inputs.unreachable),
      inputs.deliver,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked delivered: its delivery already failed (RECIPIENT_UNREACHABLE) at ${at}.`,
      },
    ],
    [
      'cancelled',
      given(inputs.requested, inputs.cancelled),
      inputs.deliver,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked delivered: the fulfilment was cancelled (CUSTOMER_REQUEST) at ${at}.`,
      },
    ],
  ])('is refused: %s', (_case, state, input, refusal) => {
    expect(when(state, input)).toEqual(refusal);
  });
});

describe('Fail', () => {
  it('from ready (no courier) publishes DeliveryFailed v1 without a shipment id, as the contract says', () => {
    const state = ready();
    const decision = when(state, inputs.noCourier);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [
        {
          type: 'DeliveryFailed',
          fulfilmentId,
          shipmentId: null,
          reason: 'NO_COURIER_AVAILABLE',
          detail: null,
          failedAt: at,
        },
      ],
    });
    expect(published(decision, state)).toEqual([
      {
        type: 'DeliveryFailed',
        version: 1,
        data: { fulfilmentId, shipmentId: null, reason: 'NO_COURIER_AVAILABLE', detail: null },
      },
    ]);
    expect(then(state, inputs.noCourier)).toMatchObject({
      status: 'failed',
      failure: { reason: 'NO_COURIER_AVAILABLE', detail: null },
      failedAt: at,
      dispatchedAt: null,
    });
  });

  it('from dispatched publishes DeliveryFailed v1 with the shipment id', () => {
    const state = dispatched();
    const decision = when(state, inputs.unreachable);
    expect(published(decision, state)).toEqual([
      {
        type: 'DeliveryFailed',
        version: 1,
        data: { fulfilmentId, shipmentId, reason: 'RECIPIENT_UNREACHABLE', detail: '전화 안 받음' },
      },
    ]);
    expect(then(state, inputs.unreachable)?.status).toBe('failed');
  });

  it('the same command again changes nothing', () => {
    const failed = given(inputs.requested, inputs.packed, inputs.dispatch, inputs.unreachable);
    expect(when(failed, inputs.unreachable)).toEqual({ kind: 'accepted', facts: [] });
  });

  it.each<[string, ShipmentState | undefined, DeliveryInput, Decision<DeliveryFact>]>([
    [
      'no shipment',
      undefined,
      inputs.noCourier,
      { kind: 'refused', code: 'NOT_FOUND', reason: 'There is no shipment for this fulfilment yet.' },
    ],
    [
      'not packed yet',
      given(inputs.requested),
      inputs.noCourier,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked failed: its parcel has not been packed yet.`,
      },
    ],
    [
      'already failed for another reason (terminal)',
      given(inputs.requested, inputs.packed, inputs.dispatch, inputs.unreachable),
      { kind: 'Fail', reason: 'PARCEL_DAMAGED', detail: null },
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked failed: its delivery already failed (RECIPIENT_UNREACHABLE) at ${at}.`,
      },
    ],
    [
      'delivered',
      given(inputs.requested, inputs.packed, inputs.dispatch, inputs.deliver),
      inputs.unreachable,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked failed: it was already delivered at ${at}.`,
      },
    ],
    [
      'cancelled',
      given(inputs.requested, inputs.packed, { kind: 'FulfilmentCancelled', fulfilmentId, reason: null }),
      inputs.noCourier,
      {
        kind: 'refused',
        code: 'CONFLICT',
        reason: `Shipment ${shipmentId} cannot be marked failed: the fulfilment was cancelled at ${at}.`,
      },
    ],
  ])('is refused: %s', (_case, state, input, refusal) => {
    expect(when(state, input)).toEqual(refusal);
  });
});

describe('cancellation', () => {
  it('before dispatch stops the work and says so, for inventory to put the stock back', () => {
    const state = ready();
    const decision = when(state, inputs.cancelled);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [{ type: 'ShipmentCancelled', fulfilmentId, reason: 'CUSTOMER_REQUEST', cancelledAt: at }],
    });
    expect(published(decision, state)).toEqual([
      { type: 'ShipmentCancelled', version: 1, data: { fulfilmentId, reason: 'CUSTOMER_REQUEST' } },
    ]);
    expect(then(state, inputs.cancelled)).toMatchObject({
      status: 'cancelled',
      cancellationReason: 'CUSTOMER_REQUEST',
      cancelledAt: at,
    });
  });

  it('is not undone by a parcel packed later, which is still recorded for the warehouse', () => {
    const state = given(inputs.requested, inputs.cancelled, inputs.packed);
    expect(state).toMatchObject({
      status: 'cancelled',
      parcelCount: 2,
      packedAt: '2025-01-02T04:00:00.000Z',
    });
  });

  it('before anything else is kept, so the request and the parcel arriving later do not revive it', () => {
    const state = given(inputs.cancelled, inputs.packed, inputs.requested);
    expect(state?.status).toBe('cancelled');
    expect(state?.shipmentId).toBe(shipmentId);
  });

  it('ends in the same state whether the parcel was packed before or after it', () => {
    expect(given(inputs.requested, inputs.packed, inputs.cancelled)).toEqual(
      given(inputs.requested, inputs.cancelled, inputs.packed),
    );
  });

  it('after dispatch is too late: a private CancellationRefused, nothing else changes', () => {
    const state = dispatched();
    const decision = when(state, inputs.cancelled);
    expect(decision).toEqual({
      kind: 'accepted',
      facts: [{ type: 'CancellationRefused', fulfilmentId, reason: 'already dispatched', refusedAt: at }],
    });
    expect(published(decision, state)).toEqual([]);
    expect(then(state, inputs.cancelled)).toEqual({ ...state, cancellationRefusedAt: at });
  });

  it('after dispatch does not stop the delivery', () => {
    const state = given(inputs.requested, inputs.packed, inputs.dispatch, inputs.cancelled);
    expect(then(state, inputs.deliver)?.status).toBe('delivered');
  });

  it('after delivery is refused the same way', () => {
    const delivered = given(inputs.requested, inputs.packed, inputs.dispatch, inputs.deliver);
    expect(facts(when(delivered, inputs.cancelled))).toEqual([
      { type: 'CancellationRefused', fulfilmentId, reason: 'already dispatched', refusedAt: at },
    ]);
  });

  it('after a failure before dispatch changes nothing: the work has already stopped', () => {
    expect(when(given(inputs.requested, inputs.packed, inputs.noCourier), inputs.cancelled)).toEqual({
      kind: 'accepted',
      facts: [],
    });
  });

  it.each<[string, ShipmentState | undefined]>([
    ['cancelled', given(inputs.requested, inputs.cancelled)],
    ['refused after dispatch', given(inputs.requested, inputs.packed, inputs.dispatch, inputs.cancelled)],
  ])('repeated when already %s changes nothing', (_case, state) => {
    expect(when(state, inputs.cancelled)).toEqual({ kind: 'accepted', facts: [] });
  });
});

describe('matchesShipmentFilter: dispatchers list shipments by wave, zone and status', () => {
  const state = ready();
  if (state === undefined) throw new Error('given a ready shipment');

  it.each<[string, Parameters<typeof matchesShipmentFilter>[1], boolean]>([
    ['no criteria', {}, true],
    ['its wave', { wave: 'WAVE-20250102-DAWN' }, true],
    ['its zone', { zone: 'SEOUL-GANGNAM' }, true],
    ['its status', { status: 'ready' }, true],
    ['all three', { wave: 'WAVE-20250102-DAWN', zone: 'SEOUL-GANGNAM', status: 'ready' }, true],
    ['another wave', { wave: 'WAVE-20250102-LUNCH' }, false],
    ['another zone', { zone: 'SEOUL-CENTRAL' }, false],
    ['another status', { status: 'dispatched' }, false],
    ['one criterion off', { wave: 'WAVE-20250102-DAWN', zone: 'SEOUL-CENTRAL' }, false],
  ])('%s', (_case, filter, expected) => {
    expect(matchesShipmentFilter(state, filter)).toBe(expected);
  });

  it('follows a destination change into its new zone', () => {
    const moved = then(state, inputs.changed);
    if (moved === undefined) throw new Error('expected a state');
    expect(matchesShipmentFilter(moved, { zone: 'SEOUL-CENTRAL' })).toBe(true);
    expect(matchesShipmentFilter(moved, { zone: 'SEOUL-GANGNAM' })).toBe(false);
  });

  it('a v1 shipment without wave or zone matches only filters that do not ask for them', () => {
    const v1 = given({ ...inputs.requested, dispatchWave: null, deliveryZone: null });
    if (v1 === undefined) throw new Error('expected a state');
    expect(matchesShipmentFilter(v1, { status: 'awaiting-parcel' })).toBe(true);
    expect(matchesShipmentFilter(v1, { wave: 'WAVE-20250102-DAWN' })).toBe(false);
  });
});

describe('the state is plain JSON', () => {
  it('survives a round trip through JSON unchanged', () => {
    const state = given(inputs.requested, inputs.packed, inputs.dispatch, inputs.unreachable);
    expect(JSON.parse(JSON.stringify(state))).toStrictEqual(state);
  });

  it('names the shipment after its fulfilment', () => {
    expect(shipmentIdOf(fulfilmentId)).toBe(shipmentId);
  });

  it('reads the fulfilment back from a shipment id, and nothing from any other id', () => {
    expect(fulfilmentIdOf(shipmentIdOf(fulfilmentId))).toBe(fulfilmentId);
    expect(fulfilmentIdOf(fulfilmentId)).toBeUndefined();
    expect(fulfilmentIdOf('SHP-')).toBeUndefined();
  });
});

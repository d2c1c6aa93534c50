import { check, statusesInOrder, type Ledger, type Observed, type ObservedEvent } from './checker';

const components = { 'PRD-RAMEN': [{ sku: 'SKU-NOODLE', quantity: 2 }] };
let offset = 0;
const event = (
  topic: ObservedEvent['topic'],
  type: string,
  key: string,
  data = {},
  eventId = `e${offset}`,
): ObservedEvent => ({
  topic,
  partition: 0,
  offset: offset++,
  key,
  eventId,
  type,
  data: { fulfilmentId: key, ...data },
});

/** One order delivered cleanly, with a receipt of 10 noodles before it. */
function cleanRun(): { ledger: Ledger; observed: Observed } {
  return {
    ledger: {
      orders: [
        {
          orderId: 'ORD-1',
          lines: [{ productCode: 'PRD-RAMEN', quantity: 1 }],
          statuses: ['PLACED', 'RECEIVED', 'PICKED', 'DELIVERED'],
          finalStatus: 'DELIVERED',
        },
      ],
      lost: [],
      receipts: [{ sku: 'SKU-NOODLE', quantity: 10, key: 'r1', acknowledged: true }],
      injectedDeadLetters: 0,
    },
    observed: {
      events: [
        event('scm.inventory-events', 'StockReceived', 'SKU-NOODLE', { sku: 'SKU-NOODLE', quantity: 10 }),
        event('scm.fulfilment-requests', 'FulfilmentRequested', 'ORD-1'),
        event('scm.inventory-events', 'StockReserved', 'ORD-1'),
        event('scm.warehouse-events', 'OrderPicked', 'ORD-1'),
        event('scm.warehouse-events', 'OrderPacked', 'ORD-1'),
        event('order.status-updates', 'OrderStatusChanged', 'ORD-1', { status: 'RECEIVED' }),
        event('order.status-updates', 'OrderStatusChanged', 'ORD-1', { status: 'DELIVERED' }),
      ],
      stockBefore: { 'SKU-NOODLE': { onHand: 5, reserved: 0 } },
      stockAfter: { 'SKU-NOODLE': { onHand: 13, reserved: 0 } },
      components,
      deadLetters: 0,
      recoverySeconds: 1.5,
    },
  };
}

describe('the fault checker', () => {
  it('passes a clean run, and counts its inputs', () => {
    const { ledger, observed } = cleanRun();
    const result = check('clean', 1, ledger, observed);
    expect(result).toMatchObject({
      inputs: 2,
      lost: 0,
      duplicateEffects: 0,
      orderViolations: 0,
      problems: [],
    });
    expect(result.recoverySeconds).toBe(1.5);
  });

  it('takes a redelivered event (the same id twice) for what it is, not a second effect', () => {
    const { ledger, observed } = cleanRun();
    const again = { ...observed.events[2]!, offset: 99 };
    expect(
      check('redelivery', 1, ledger, { ...observed, events: [...observed.events, again] }).problems,
    ).toEqual([]);
  });

  it('counts an effect made twice under new ids: a second reservation, a status applied twice', () => {
    const { ledger, observed } = cleanRun();
    const result = check('twice', 1, ledger, {
      ...observed,
      events: [
        ...observed.events,
        event('scm.inventory-events', 'StockReserved', 'ORD-1', {}, 'other-id'),
        event('order.status-updates', 'OrderStatusChanged', 'ORD-1', { status: 'DELIVERED' }, 'yet-another'),
      ],
    });
    expect(result.duplicateEffects).toBe(2);
    expect(result.problems).toEqual(
      expect.arrayContaining([expect.stringContaining('2× scm.inventory-events StockReserved of ORD-1')]),
    );
  });

  it('finds a history that runs backwards, on a topic and as the storefront showed it', () => {
    const { ledger, observed } = cleanRun();
    const events = observed.events.filter((e) => e.type !== 'OrderPicked');
    const result = check(
      'backwards',
      1,
      {
        ...ledger,
        orders: [{ ...ledger.orders[0]!, statuses: ['PLACED', 'PICKED', 'RECEIVED', 'DELIVERED'] }],
      },
      { ...observed, events: [...events, event('scm.warehouse-events', 'OrderPicked', 'ORD-1')] },
    );
    expect(result.orderViolations).toBe(2);
  });

  it('holds the stock to the fold of receipts in and delivered orders out', () => {
    const { ledger, observed } = cleanRun();
    const result = check('stock', 1, ledger, {
      ...observed,
      stockAfter: { 'SKU-NOODLE': { onHand: 11, reserved: 2 } },
    });
    expect(result.problems).toEqual([
      'SKU-NOODLE: on hand 5 → 11, the ledger says 13',
      'SKU-NOODLE: reserved 0 → 2 with every order finished',
    ]);
  });

  it('finds a fulfilment whose stock went back on the shelf though its parcel left', () => {
    const { ledger, observed } = cleanRun();
    const result = check('both', 1, ledger, {
      ...observed,
      events: [
        ...observed.events,
        event('scm.inventory-events', 'StockReleased', 'ORD-1'),
        event('scm.delivery-events', 'ShipmentDispatched', 'ORD-1'),
      ],
    });
    expect(result.problems).toEqual([
      'ORD-1: its stock was released on cancellation, and it was dispatched all the same',
    ]);
  });

  it('lets an unanswered receipt be applied once or not at all, never twice', () => {
    const { ledger, observed } = cleanRun();
    const unanswered: Ledger = {
      ...ledger,
      receipts: [...ledger.receipts, { sku: 'SKU-NOODLE', quantity: 4, key: 'r2', acknowledged: null }],
    };
    const applied = {
      ...observed,
      events: [
        ...observed.events,
        event('scm.inventory-events', 'StockReceived', 'SKU-NOODLE', { sku: 'SKU-NOODLE', quantity: 4 }),
      ],
      stockAfter: { 'SKU-NOODLE': { onHand: 17, reserved: 0 } },
    };
    expect(check('maybe', 1, unanswered, observed).problems).toEqual([]);
    expect(check('maybe', 1, unanswered, applied).problems).toEqual([]);
    const twice = {
      ...applied,
      events: [
        ...applied.events,
        event('scm.inventory-events', 'StockReceived', 'SKU-NOODLE', { sku: 'SKU-NOODLE', quantity: 4 }),
      ],
    };
    expect(check('maybe', 1, unanswered, twice).duplicateEffects).toBe(1);
  });

  it('reports lost orders and dead letters nobody injected', () => {
    const { ledger, observed } = cleanRun();
    const result = check('lost', 1, { ...ledger, lost: ['ORD-2'] }, { ...observed, deadLetters: 1 });
    expect(result.lost).toBe(1);
    expect(result.deadLetters).toEqual({ seen: 1, injected: 0 });
    expect(result.problems).toEqual(['lost: ORD-2', '1 dead letters, 0 injected']);
  });

  it('orders statuses as a journey passes them; nothing follows a final one', () => {
    expect(statusesInOrder(['PLACED', 'WAITING_FOR_STOCK', 'RECEIVED', 'SHIPPING', 'DELIVERED'])).toBe(true);
    expect(statusesInOrder(['PLACED', 'REJECTED', 'CANCELLED'])).toBe(true);
    expect(statusesInOrder(['PLACED', 'RECEIVED', 'RECEIVED'])).toBe(true);
    expect(statusesInOrder(['PLACED', 'PACKED', 'COOKING'])).toBe(false);
    expect(statusesInOrder(['PLACED', 'CANCELLED', 'DELIVERED'])).toBe(false);
  });
});

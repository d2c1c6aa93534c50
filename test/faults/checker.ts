/**
 * The fault suite's judge, a pure function: what the load acknowledged (the ledger), against
 * what the platform ended up with (its topics, its stock levels, its dead letters). In the
 * manner of Jepsen's Kafka checker: every acknowledged input is accounted for, no effect
 * happens twice, no key's history runs backwards, and the final state is the reference fold of
 * the inputs.
 */
import type { TopicName } from '@contracts/topics';
import type { ScenarioResult } from './results';

/** An order the storefront acknowledged, as the load followed it. */
export interface LedgerOrder {
  readonly orderId: string;
  readonly lines: readonly { readonly productCode: string; readonly quantity: number }[];
  /** The statuses the load saw, in the order it saw them. */
  readonly statuses: readonly string[];
  /** What it ended as through the storefront's API (null: not final). */
  readonly finalStatus: string | null;
}

export interface LedgerReceipt {
  readonly sku: string;
  readonly quantity: number;
  readonly key: string;
  /** true: 2xx; false: refused; null: no answer even after retries (may or may not be applied). */
  readonly acknowledged: boolean | null;
}

export interface Ledger {
  readonly orders: readonly LedgerOrder[];
  /** Orders that should have finished as planned and did not (unfinished, or the wrong outcome). */
  readonly lost: readonly string[];
  readonly receipts: readonly LedgerReceipt[];
  /** Records this scenario put on input topics on purpose to be dead-lettered. */
  readonly injectedDeadLetters: number;
  /** Other inputs the scenario counted (requests, records it injected). */
  readonly otherInputs?: number;
}

/** A record as it sits on a topic, decoded (the same event may sit there more than once). */
export interface ObservedEvent {
  readonly topic: TopicName;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly eventId: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface StockLevel {
  readonly onHand: number;
  readonly reserved: number;
}

export interface Observed {
  /** Every record the scenario's run added to the catalogue topics. */
  readonly events: readonly ObservedEvent[];
  readonly stockBefore: Readonly<Record<string, StockLevel>>;
  readonly stockAfter: Readonly<Record<string, StockLevel>>;
  /** Product code → the SKU units one unit of it takes (the adapter's map). */
  readonly components: Readonly<
    Record<string, readonly { readonly sku: string; readonly quantity: number }[]>
  >;
  readonly deadLetters: number;
  readonly recoverySeconds: number | null;
}

/** Effects that happen at most once per key: a second one with a new event id is a duplicate. */
const onceper: Readonly<Partial<Record<TopicName, readonly string[]>>> = {
  'scm.fulfilment-requests': ['FulfilmentRequested', 'FulfilmentCancelled'],
  'scm.inventory-events': ['StockReserved', 'StockReleased'],
  'scm.production-events': ['CookingStarted', 'CookingCompleted', 'CookingSkipped'],
  'scm.warehouse-events': ['OrderPicked', 'OrderPacked'],
  'scm.delivery-events': ['ShipmentDispatched', 'ShipmentDelivered', 'DeliveryFailed', 'ShipmentCancelled'],
};

/**
 * Each key's lifecycle per topic: a later record may never have a lower rank. Only topics one
 * context writes a key's whole lifecycle to: `order.status-updates` is the scm→order adapter's
 * merge of five SCM topics, which Kafka does not order among themselves, and applying a status
 * only if it moves the order on is the order context's rule (streams/scm-to-order/index.ts);
 * what the customer sees is checked through the storefront instead.
 */
const lifecycle: Readonly<Partial<Record<TopicName, Readonly<Record<string, number>>>>> = {
  'scm.inventory-events': { StockShortage: 1, StockReserved: 2, StockReleased: 3 },
  'scm.production-events': { CookingStarted: 1, CookingCompleted: 2, CookingSkipped: 2 },
  'scm.warehouse-events': { OrderPicked: 1, OrderPacked: 2 },
  'scm.delivery-events': {
    ShipmentDispatched: 1,
    ShipmentDelivered: 2,
    DeliveryFailed: 2,
    ShipmentCancelled: 2,
  },
};

/** The customer's statuses in the order a journey passes them; the final ones share the last rank. */
const statusRank: Readonly<Record<string, number>> = {
  PLACED: 0,
  REJECTED: 1,
  WAITING_FOR_STOCK: 1,
  RECEIVED: 2,
  COOKING: 3,
  PICKED: 4,
  PACKED: 5,
  SHIPPING: 6,
  DELIVERED: 7,
  CANCELLED: 7,
  FAILED: 7,
};
const isFinalStatus = (status: string): boolean => statusRank[status] === 7;

/** True when a history of statuses never goes back and nothing follows a final one. */
export function statusesInOrder(statuses: readonly string[]): boolean {
  return statuses.every((status, i) => {
    if (i === 0) return true;
    const before = statuses[i - 1] ?? '';
    if (status === before) return true;
    return !isFinalStatus(before) && (statusRank[status] ?? -1) >= (statusRank[before] ?? -1);
  });
}

export function check(scenario: string, seed: number, ledger: Ledger, observed: Observed): ScenarioResult {
  const problems: string[] = [];
  const scenarioOrders = new Set(ledger.orders.map((order) => order.orderId));

  // The outbox publishes at least once: the same event id twice is a redelivery, not an effect.
  const firstSeen = new Map<string, ObservedEvent>();
  for (const event of [...observed.events].sort(byPosition))
    if (!firstSeen.has(event.eventId)) firstSeen.set(event.eventId, event);
  const events = [...firstSeen.values()].filter((event) =>
    event.topic === 'scm.inventory-events' && event.type === 'StockReceived'
      ? true
      : scenarioOrders.has(event.key),
  );

  let duplicateEffects = 0;
  const effects = new Map<string, number>();
  for (const event of events) {
    const once = onceper[event.topic]?.includes(event.type);
    const status = event.type === 'OrderStatusChanged' ? String(event.data.status) : null;
    if (!once && status === null) continue;
    const effect = `${event.topic} ${event.type}${status ? ` ${status}` : ''} of ${event.key}`;
    effects.set(effect, (effects.get(effect) ?? 0) + 1);
  }
  for (const [effect, count] of effects)
    if (count > 1) {
      duplicateEffects += count - 1;
      problems.push(`${count}× ${effect}`);
    }

  // Receipts: each acknowledged one received once; an unanswered one at most once.
  const received = events.filter((event) => event.type === 'StockReceived');
  const receivedBy = new Map<string, number>();
  for (const event of received) {
    const reference = `${String(event.data.sku)}:${String(event.data.quantity)}`;
    receivedBy.set(reference, (receivedBy.get(reference) ?? 0) + 1);
  }
  const postedBy = new Map<string, { sure: number; maybe: number }>();
  for (const receipt of ledger.receipts) {
    const reference = `${receipt.sku}:${receipt.quantity}`;
    const posted = postedBy.get(reference) ?? { sure: 0, maybe: 0 };
    if (receipt.acknowledged === true) posted.sure += 1;
    if (receipt.acknowledged === null) posted.maybe += 1;
    postedBy.set(reference, posted);
  }
  for (const [reference, count] of receivedBy) {
    const posted = postedBy.get(reference) ?? { sure: 0, maybe: 0 };
    if (count > posted.sure + posted.maybe) {
      duplicateEffects += count - posted.sure - posted.maybe;
      problems.push(`${count} StockReceived ${reference}, ${posted.sure} receipts acknowledged`);
    }
  }
  let lostReceipts = 0;
  for (const [reference, posted] of postedBy) {
    const count = receivedBy.get(reference) ?? 0;
    if (count < posted.sure) {
      lostReceipts += posted.sure - count;
      problems.push(`${posted.sure} receipts ${reference} acknowledged, ${count} StockReceived`);
    }
  }

  // Per key and topic, in offset order (one key, one partition).
  let orderViolations = 0;
  const histories = new Map<string, ObservedEvent[]>();
  for (const event of events) {
    const id = `${event.topic} ${event.key}`;
    histories.set(id, [...(histories.get(id) ?? []), event]);
  }
  for (const [id, history] of histories) {
    const topic = history[0]?.topic;
    const ranks = topic ? lifecycle[topic] : undefined;
    const inOrder =
      ranks === undefined ||
      history.every(
        (event, i) => i === 0 || (ranks[event.type] ?? 0) >= (ranks[history[i - 1]?.type ?? ''] ?? 0),
      );
    if (!inOrder) {
      orderViolations += 1;
      problems.push(`out of order: ${id}: ${history.map((event) => statusOrType(event)).join(' → ')}`);
    }
  }
  for (const order of ledger.orders)
    if (!statusesInOrder(order.statuses)) {
      orderViolations += 1;
      problems.push(`the storefront showed ${order.orderId} out of order: ${order.statuses.join(' → ')}`);
    }

  // One outcome per fulfilment across contexts: the goods left (dispatched) or the stock went
  // back on the shelf (released on cancellation), never both, or the shelf disagrees with them.
  const released = new Set(events.filter((e) => e.type === 'StockReleased').map((e) => e.key));
  for (const event of events)
    if (event.type === 'ShipmentDispatched' && released.has(event.key)) {
      released.delete(event.key);
      problems.push(
        `${event.key}: its stock was released on cancellation, and it was dispatched all the same`,
      );
    }

  // The reference fold: stock moves only by receipts in and delivered orders out.
  const expected = new Map<string, { onHand: number; maybe: number }>();
  const move = (sku: string, onHand: number, maybe = 0): void => {
    const level = expected.get(sku) ?? { onHand: 0, maybe: 0 };
    expected.set(sku, { onHand: level.onHand + onHand, maybe: level.maybe + maybe });
  };
  for (const receipt of ledger.receipts) {
    if (receipt.acknowledged === true) move(receipt.sku, receipt.quantity);
    if (receipt.acknowledged === null) move(receipt.sku, 0, receipt.quantity);
  }
  for (const order of ledger.orders) {
    if (order.finalStatus !== 'DELIVERED') continue;
    for (const line of order.lines)
      for (const component of observed.components[line.productCode] ?? [])
        move(component.sku, -component.quantity * line.quantity);
  }
  const skus = new Set([...Object.keys(observed.stockBefore), ...Object.keys(observed.stockAfter)]);
  for (const sku of skus) {
    const before = observed.stockBefore[sku] ?? { onHand: 0, reserved: 0 };
    const after = observed.stockAfter[sku] ?? { onHand: 0, reserved: 0 };
    const { onHand: delta, maybe } = expected.get(sku) ?? { onHand: 0, maybe: 0 };
    const moved = after.onHand - before.onHand;
    if (moved < delta || moved > delta + maybe)
      problems.push(
        `${sku}: on hand ${before.onHand} → ${after.onHand}, the ledger says ${before.onHand + delta}` +
          (maybe ? ` (+ up to ${maybe} unanswered)` : ''),
      );
    if (after.reserved !== before.reserved)
      problems.push(`${sku}: reserved ${before.reserved} → ${after.reserved} with every order finished`);
  }

  if (ledger.lost.length > 0) problems.push(`lost: ${ledger.lost.slice(0, 10).join(', ')}`);
  if (observed.deadLetters !== ledger.injectedDeadLetters)
    problems.push(`${observed.deadLetters} dead letters, ${ledger.injectedDeadLetters} injected`);

  return {
    scenario,
    seed,
    inputs: ledger.orders.length + ledger.receipts.length + (ledger.otherInputs ?? 0),
    lost: ledger.lost.length + lostReceipts,
    duplicateEffects,
    orderViolations,
    deadLetters: { seen: observed.deadLetters, injected: ledger.injectedDeadLetters },
    recoverySeconds: observed.recoverySeconds,
    problems,
  };
}

function byPosition(a: ObservedEvent, b: ObservedEvent): number {
  return a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset;
}

const statusOrType = (event: ObservedEvent): string =>
  event.type === 'OrderStatusChanged' ? String(event.data.status) : event.type;

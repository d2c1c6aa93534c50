/**
 * History for the cost-vs-history lane: a store that already holds many delivered orders.
 *
 * Seeding 50k orders through the platform itself would take longer than the benchmark may run,
 * so the seed is the "equivalent bulk seed that produces the same documents": a few real orders
 * go through the platform first (the template), then every document that belongs to one of them
 * is copied under new ids — the order id rewritten everywhere it appears (ids, fields, map keys)
 * and every UUID (event and cause ids) replaced by one derived from it and the copy — and
 * written with unordered `insertMany`. Documents whose id names no order (stock per SKU, the
 * adapter's map, idempotency keys) are not copied: the seed reproduces per-order history, not
 * the SKUs' own versions.
 */
import type { Db, Document } from 'mongodb';
import { Binary } from 'mongodb';
import { derivedUuid } from '@runtime/event-writer';

const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const uuidOnly = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Template {
  /** Per template order, per collection, the order's own documents. */
  readonly orders: ReadonlyMap<string, ReadonlyMap<string, readonly Document[]>>;
  /** Documents written per copied order, on average. */
  readonly documentsPerOrder: number;
}

/** Reads the documents of `orderIds` from every collection of `db`. */
export async function readTemplate(db: Db, orderIds: readonly string[]): Promise<Template> {
  const orders = new Map(orderIds.map((id) => [id, new Map<string, Document[]>()]));
  // An order's own document: its id names the order (`ORD-…@3`, `KT-ORD-…`), or it is an event
  // id (a tracking hop) of a document that mentions the order.
  const ownerOf = (document: Document): string | undefined => {
    const id = String(document._id);
    const text = uuidOnly.test(id) ? JSON.stringify(document) : id;
    return orderIds.find((orderId) => text.includes(orderId));
  };
  let total = 0;
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    // A full read, once, of a small template database: not on any periodic or per-event path.
    for (const document of await db.collection(name).find({}).toArray()) {
      const owner = ownerOf(document);
      const collections = owner === undefined ? undefined : orders.get(owner);
      if (collections === undefined) continue;
      collections.set(name, [...(collections.get(name) ?? []), document]);
      total += 1;
    }
  }
  return { orders, documentsPerOrder: total / Math.max(1, orderIds.length) };
}

/** `value` with every template order id and UUID rewritten for copy `copy`. */
function rewrite(value: unknown, replace: (text: string) => string): unknown {
  if (typeof value === 'string') return replace(value);
  if (Array.isArray(value)) return value.map((item) => rewrite(item, replace));
  if (value instanceof Date || value instanceof Binary || value === null || typeof value !== 'object')
    return value;
  // Plain objects only (BSON values other than Date and Binary do not occur in our documents).
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [replace(key), rewrite(item, replace)]),
  );
}

/**
 * Writes copies of the template into `db` until `orders` copies exist or `budgetMs` ran out;
 * returns how many orders were written. `onProgress` sees the count as it grows.
 */
export async function seedHistory(
  db: Db,
  template: Template,
  options: {
    readonly orders: number;
    readonly budgetMs: number;
    readonly runId: string;
    readonly onProgress?: (orders: number) => void;
  },
): Promise<{ orders: number; documents: number; seconds: number }> {
  const started = Date.now();
  const templates = [...template.orders];
  if (templates.length === 0) throw new Error('the history template holds no order');
  let orders = 0;
  let documents = 0;
  // ~1,000 documents per insertMany: big enough to amortise the round trip, small enough that
  // the budget is checked often.
  const copiesPerRound = Math.max(1, Math.floor(1_000 / Math.max(1, template.documentsPerOrder)));
  while (orders < options.orders && Date.now() - started < options.budgetMs) {
    const batches = new Map<string, Document[]>();
    for (let k = 0; k < copiesPerRound && orders < options.orders; k += 1, orders += 1) {
      const [orderId, collections] = templates[orders % templates.length] as (typeof templates)[number];
      const copyId = `${orderId}-H${options.runId}${orders.toString(36)}`;
      const replace = (text: string): string =>
        text
          .split(orderId)
          .join(copyId)
          .replace(uuidPattern, (uuid) => derivedUuid(`${uuid}/${options.runId}/${orders}`));
      for (const [name, templateDocuments] of collections) {
        const batch = batches.get(name) ?? [];
        for (const document of templateDocuments) batch.push(rewrite(document, replace) as Document);
        batches.set(name, batch);
      }
    }
    for (const [name, batch] of batches) {
      await db.collection(name).insertMany(batch, { ordered: false });
      documents += batch.length;
    }
    options.onProgress?.(orders);
  }
  return { orders, documents, seconds: (Date.now() - started) / 1000 };
}

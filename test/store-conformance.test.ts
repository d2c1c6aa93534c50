/**
 * What the platform needs from its document store, pinned against the store this run uses (the
 * embedded one on our machines, MongoDB in containers). A store that fails here cannot host the
 * platform, whatever else it does: docs/store-candidates.md tells how FerretDB 1.24 failed the
 * atomicity of conditional writes (which is why the embedded store is nx-27017).
 *
 * Relied on: atomic unique inserts and atomic single-document conditional replaces (the state
 * engine's optimistic concurrency), `_id` lookups, `$unset` of whole fields and of one key of a
 * map (the outbox), equality and `$lte` filters on nested fields with sort, limit and projection
 * (lists and auto-advance), an index on the outbox flag, and strings as the outbox's encoded
 * values. Range filters on times may over-select (nx-27017 compares ISO-time strings and dates
 * to the second), never miss: the aggregate store applies the filter again in memory. Bulk
 * commands: the engine writes a batch's heads, the relay clears a batch's outboxes and the
 * tracking context inserts a batch's hops each in one unordered bulk command (of up to a few
 * hundred statements; pinned here at 1,000), and needs to know which inserts hit an existing
 * key. It never sends a transaction, `$inc`, `$setOnInsert`, an upsert or a BSON binary in a
 * replace, each of which one of the measured stores got wrong. Collection names are
 * identifiers (letters, digits, underscores), the only ones nx-27017 accepts.
 */
import { MongoClient, type Collection, type Document } from 'mongodb';
import { isDuplicateKey } from '@runtime/errors';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';

interface Head extends Document {
  _id: string;
  version: number;
  state: { status: string; readyAt: string };
  at: Date;
  _outbox?: Record<string, { topic: string; value: string }>;
  _pending?: boolean;
}

const endpoints = testEndpoints();
const database = uniqueName('conformance');
/** Several connections, as several instances of a context would have. */
const clients: MongoClient[] = [];
let heads: Collection<Head>[] = [];

beforeAll(async () => {
  for (let i = 0; i < 4; i += 1) clients.push(await new MongoClient(endpoints.mongoUrl).connect());
  heads = clients.map((client) => client.db(database).collection<Head>('heads'));
});

afterAll(async () => {
  await clients[0]?.db(database).dropDatabase();
  await Promise.all(clients.map((client) => client.close()));
});

const head = (id: string, version: number, status = 'waiting'): Head => ({
  _id: id,
  version,
  state: { status, readyAt: `2026-12-01T10:0${version % 10}:00.000Z` },
  at: new Date(Date.UTC(2026, 11, 1, 10, version)),
});

const settled = async <T>(work: readonly Promise<T>[]) => {
  const results = await Promise.allSettled(work);
  return {
    won: results.filter((result) => result.status === 'fulfilled').map((result) => result.value),
    lost: results.filter((result) => result.status === 'rejected').map((result) => result.reason as unknown),
  };
};

it('lets exactly one of many racing inserts of one _id win; the others are told E11000', async () => {
  for (let round = 0; round < 10; round += 1) {
    const id = `insert-${round}`;
    const { won, lost } = await settled(
      Array.from({ length: 40 }, (_, i) => heads[i % heads.length]!.insertOne(head(id, 1))),
    );
    expect(won).toHaveLength(1);
    expect(lost.every(isDuplicateKey)).toBe(true);
  }
});

it('applies exactly one of many racing conditional replaces of one version', async () => {
  await heads[0]!.insertOne(head('replaced', 1));
  for (let version = 1; version <= 10; version += 1) {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        heads[i % heads.length]!.replaceOne({ _id: 'replaced', version }, head('replaced', version + 1)),
      ),
    );
    expect(results.filter((result) => result.matchedCount === 1)).toHaveLength(1);
  }
  expect(await heads[0]!.findOne({ _id: 'replaced' })).toMatchObject({ _id: 'replaced', version: 11 });
});

it('finds by _id, keeps the _id through a replace, and answers null for a missing one', async () => {
  const [collection] = heads;
  await collection!.insertOne(head('kept', 1));
  const { _id, ...rest } = head('kept', 2);
  void _id;
  expect((await collection!.replaceOne({ _id: 'kept', version: 1 }, rest)).matchedCount).toBe(1);
  expect(await collection!.findOne({ _id: 'kept' })).toMatchObject({ _id: 'kept', version: 2 });
  expect(await collection!.countDocuments({ _id: 'kept' })).toBe(1);
  expect(await collection!.findOne({ _id: 'nobody' })).toBeNull();
});

it('keeps the outbox: string values, $unset of one entry or all, and the flag found by its index', async () => {
  const collection = clients[0]!.db(database).collection<Head>('outbox');
  await collection.createIndex({ _pending: 1 });
  const value = Buffer.from([0, 1, 2, 255]).toString('base64');
  const outbox = { e1: { topic: 't', value }, e2: { topic: 't', value } };
  await collection.insertOne({ ...head('o1', 1), _outbox: outbox, _pending: true });
  await collection.insertOne(head('quiet', 1));
  // A replace that carries the pending entries on to the next version.
  await collection.replaceOne(
    { _id: 'o1', version: 1 },
    { ...head('o1', 2), _outbox: outbox, _pending: true },
  );

  const flagged = await collection.find({ _pending: true }).toArray();
  expect(flagged.map((document) => document._id)).toEqual(['o1']);
  expect(Buffer.from(flagged[0]!._outbox!.e1!.value, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
  const indexes = await collection.listIndexes().toArray();
  expect(indexes.some((index) => Object.keys(index.key as Document).includes('_pending'))).toBe(true);

  await collection.updateOne({ _id: 'o1' }, { $unset: { '_outbox.e1': '' } });
  expect(Object.keys((await collection.findOne({ _id: 'o1' }))!._outbox!)).toEqual(['e2']);
  // Cleared only at the version that was published: a newer one keeps its events.
  expect(
    (await collection.updateOne({ _id: 'o1', version: 1 }, { $unset: { _outbox: '', _pending: '' } }))
      .matchedCount,
  ).toBe(0);
  await collection.updateOne({ _id: 'o1', version: 2 }, { $unset: { _outbox: '', _pending: '' } });
  const cleared = await collection.findOne({ _id: 'o1' });
  expect([cleared?._outbox, cleared?._pending]).toEqual([undefined, undefined]);
  expect(await collection.countDocuments({ _pending: true })).toBe(0);
});

it('lists by nested fields: equality, $lte on ISO times, sorted either way, limited, projected', async () => {
  const collection = clients[0]!.db(database).collection<Head>('listed');
  await collection.createIndex({ 'state.status': 1 });
  await collection.insertMany([
    head('a', 1, 'ready'),
    head('b', 2, 'ready'),
    head('c', 3, 'ready'),
    head('d', 4, 'done'),
    head('e', 8, 'ready'),
  ]);
  const due = { 'state.status': 'ready', 'state.readyAt': { $lte: '2026-12-01T10:05:00.000Z' } };
  const oldest = await collection
    .find(due, { projection: { state: 1 } })
    .sort({ at: 1 })
    .limit(2)
    .toArray();
  expect(oldest.map((document) => document._id)).toEqual(['a', 'b']);
  expect(Object.keys(oldest[0]!).sort()).toEqual(['_id', 'state']);
  const newest = await collection.find(due).sort({ at: -1 }).limit(10).toArray();
  expect(newest.map((document) => document._id)).toEqual(['c', 'b', 'a']);
  expect(await collection.find({ 'state.status': { $in: ['done'] } }).toArray()).toHaveLength(1);

  // A millisecond before the cutoff is always found; one after may be (second precision).
  await collection.insertMany([
    { ...head('f', 6, 'late'), state: { status: 'late', readyAt: '2026-12-01T10:05:00.999Z' } },
    { ...head('g', 7, 'late'), state: { status: 'late', readyAt: '2026-12-01T10:05:01.001Z' } },
  ]);
  const late = await collection
    .find({ 'state.status': 'late', 'state.readyAt': { $lte: '2026-12-01T10:05:01.000Z' } })
    .toArray();
  expect(late.map((document) => document._id)).toContain('f');
});

it('takes one unordered bulk of 1,000 statements, and names the inserts that hit an existing key', async () => {
  const collection = clients[0]!.db(database).collection<Head>('bulk');
  await collection.insertMany(Array.from({ length: 500 }, (_, i) => head(`b-${i}`, 1)));
  const replaces = Array.from({ length: 500 }, (_, i) => ({
    replaceOne: { filter: { _id: `b-${i}`, version: i % 2 === 0 ? 1 : 9 }, replacement: head(`b-${i}`, 2) },
  }));
  const inserts = Array.from({ length: 500 }, (_, i) => ({ insertOne: { document: head(`n-${i}`, 1) } }));
  const result = await collection.bulkWrite([...replaces, ...inserts], { ordered: false });
  // Every other replace was guarded by a version the document does not have.
  expect([result.matchedCount, result.insertedCount]).toEqual([250, 500]);
  expect(await collection.countDocuments({ version: 2 })).toBe(250);

  const again = [head('n-7', 1), head('fresh-1', 1), head('n-9', 1), head('fresh-2', 1)];
  const failure = await collection.insertMany(again, { ordered: false }).then(
    () => undefined,
    (error: unknown) => error as { writeErrors?: unknown },
  );
  const writeErrors = [failure?.writeErrors ?? []].flat() as { index: number; code: number }[];
  expect(writeErrors.map(({ index, code }) => [index, code]).sort()).toEqual([
    [0, 11000],
    [2, 11000],
  ]);
  expect(await collection.countDocuments({ _id: { $in: ['fresh-1', 'fresh-2'] } })).toBe(2);
});

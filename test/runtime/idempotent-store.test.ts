/**
 * Exactly-once effects on the real document store: a redelivered batch changes nothing and
 * is counted as duplicates, changes to one aggregate keep their order, and the marker
 * history stays bounded.
 */
import { MongoClient } from 'mongodb';
import { applyChanges, type AggregateChange, type AggregateDocument } from '@runtime/idempotent-store';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';

const endpoints = testEndpoints();

describe('idempotent state writes', () => {
  const mongo = new MongoClient(endpoints.mongoUrl);
  const database = uniqueName('idempotent');

  beforeAll(() => mongo.connect());
  afterAll(async () => {
    await mongo.db(database).dropDatabase();
    await mongo.close();
  });

  const deposit = (account: string, eventId: string, amount: number): AggregateChange => ({
    id: account,
    eventId,
    update: { $inc: { balance: amount }, $push: { history: eventId }, $setOnInsert: { opened: eventId } },
  });

  it('applies a batch once, however often it is delivered, in order per aggregate', async () => {
    const accounts = mongo.db(database).collection<AggregateDocument>('accounts');
    const batch = [
      deposit('a', 'e1', 10),
      deposit('b', 'e2', 5),
      deposit('a', 'e3', 7),
      deposit('a', 'e4', -2),
    ];

    expect(await applyChanges(accounts, batch)).toEqual({ applied: 4, duplicates: 0 });
    // A redelivery, then a batch that overlaps the first one at both ends.
    expect(await applyChanges(accounts, batch)).toEqual({ applied: 0, duplicates: 4 });
    const overlapping = [
      deposit('a', 'e4', -2),
      deposit('b', 'e5', 1),
      deposit('a', 'e1', 10),
      deposit('a', 'e6', 100),
    ];
    expect(await applyChanges(accounts, overlapping)).toEqual({ applied: 2, duplicates: 2 });

    const a = await accounts.findOne({ _id: 'a' });
    expect(a?.balance).toBe(10 + 7 - 2 + 100);
    expect(a?.history).toEqual(['e1', 'e3', 'e4', 'e6']);
    expect(a?.opened).toBe('e1');
    const b = await accounts.findOne({ _id: 'b' });
    expect(b?.balance).toBe(6);
  });

  it('keeps a bounded history of markers', async () => {
    const counters = mongo.db(database).collection<AggregateDocument>('counters');
    const changes = Array.from({ length: 12 }, (_, i) => ({
      id: 'c',
      eventId: `e${i}`,
      update: { $inc: { n: 1 } },
    }));
    await applyChanges(counters, changes, { historySize: 5 });
    const c = await counters.findOne({ _id: 'c' });
    expect(c?.n).toBe(12);
    expect(c?._applied).toEqual(['e7', 'e8', 'e9', 'e10', 'e11']);
    // Within the history, a redelivery is still recognised.
    expect(await applyChanges(counters, [changes[11]!], { historySize: 5 })).toEqual({
      applied: 0,
      duplicates: 1,
    });
  });

  it('applies each event once when two instances write the same batch at the same time', async () => {
    const stock = mongo.db(database).collection<AggregateDocument>('stock');
    const batch = Array.from({ length: 40 }, (_, i) => deposit(`sku-${i % 4}`, `r${i}`, 1));
    const outcomes = await Promise.all([applyChanges(stock, batch), applyChanges(stock, batch)]);
    const documents = await stock.find().toArray();
    expect(documents.map((d) => d.balance)).toEqual([10, 10, 10, 10]);
    // The effect is exact; the split between applied and duplicate is what each write was
    // told by the store, which under a race on FerretDB can claim a no-op as a change.
    for (const outcome of outcomes) expect(outcome.applied + outcome.duplicates).toBe(40);
  });
});

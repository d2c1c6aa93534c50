/**
 * The aggregate store on the real document store: racing writers (several connections, as
 * several instances would be) never lose an update, a cause applied once is recognised, and an
 * aggregate is one document however many changes it went through.
 */
import { MongoClient } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { createAggregateStore } from '@runtime/aggregate-store';
import { accepted, refused, type Decider } from '@runtime/decider';
import { createEventWriter } from '@runtime/event-writer';
import { RegistryClient, Serde } from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';

interface Counter {
  readonly value: number;
  readonly limit: number;
}
type Take = { readonly kind: 'Take' };
type Taken = { readonly type: 'Taken' };

/** A stock of 10 units: each Take removes one, and is refused at zero. */
const counter: Decider<Counter, Take, Taken> = {
  decide: (_input, state) =>
    (state?.value ?? 0) < (state?.limit ?? 10)
      ? accepted<Taken>({ type: 'Taken' })
      : refused('CONFLICT', 'none left'),
  evolve: (state) => ({ value: (state?.value ?? 0) + 1, limit: state?.limit ?? 10 }),
  publish: () => [],
};

/** Remembers the time it was given: the state is `{ at }`. */
const stamped: Decider<{ at: string }, string, string> = {
  decide: (at) => accepted(at),
  evolve: (_state, at) => ({ at }),
  publish: () => [],
};

const endpoints = testEndpoints();
/** The deciders here publish nothing: the writer never asks the registry anything. */
const newWriter = () =>
  createEventWriter(
    new Serde({ registry: new RegistryClient({ url: endpoints.schemaRegistryUrl }) }),
    'inventory',
  );
const database = uniqueName('aggregate-store').replaceAll('-', '_');
const clients: MongoClient[] = [];

afterAll(async () => {
  await clients[0]?.db(database).dropDatabase();
  await Promise.all(clients.map((client) => client.close()));
});

it('racing writers on several connections hand out exactly the units there are', async () => {
  for (let i = 0; i < 4; i += 1) clients.push(await new MongoClient(endpoints.mongoUrl).connect());
  const writer = newWriter();
  const stores = await Promise.all(
    clients.map((client) =>
      createAggregateStore({ db: client.db(database), name: 'counters', decider: counter, writer }),
    ),
  );
  const now = new Date();
  const outcomes = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      stores[i % stores.length]!.execute(
        'sku',
        { kind: 'Take' },
        { causeId: `take-${i}`, causationId: null, correlationId: 'sku', now },
      ),
    ),
  );
  const changed = outcomes.filter((outcome) => outcome.kind === 'changed');
  const refusedCount = outcomes.filter((outcome) => outcome.kind === 'refused').length;
  expect([changed.length, refusedCount]).toEqual([10, 30]);
  const latest = await stores[0]!.load('sku');
  expect(latest).toMatchObject({ state: { value: 10 }, version: 10 });
  // One document, whose causes are the ten winners, each once.
  const heads = await stores[0]!.collection.find({}).toArray();
  expect(heads).toHaveLength(1);
  const winners = outcomes.flatMap((outcome, i) => (outcome.kind === 'changed' ? [`take-${i}`] : []));
  expect([...heads[0]!.causes].sort()).toEqual(winners.sort());
});

it('a cause applied before is a duplicate, even when it races with itself', async () => {
  const store = await createAggregateStore({
    db: clients[0]!.db(database),
    name: 'counters',
    decider: counter,
    writer: newWriter(),
  });
  const id = `sku-${randomUUID()}`;
  const now = new Date();
  const same = await Promise.all(
    Array.from({ length: 8 }, () =>
      store.execute(
        id,
        { kind: 'Take' },
        { causeId: 'redelivered', causationId: null, correlationId: id, now },
      ),
    ),
  );
  expect(same.filter((outcome) => outcome.kind === 'changed')).toHaveLength(1);
  expect(same.filter((outcome) => outcome.kind === 'duplicate')).toHaveLength(7);
  expect(await store.load(id)).toMatchObject({ state: { value: 1 }, version: 1 });
});

it('lists the latest state of each aggregate, which is its only document, however long its history', async () => {
  const store = await createAggregateStore({
    db: clients[0]!.db(database),
    name: 'listed',
    decider: counter,
    writer: newWriter(),
  });
  const start = Date.now();
  for (let aggregate = 0; aggregate < 12; aggregate += 1) {
    const now = new Date(start + aggregate * 1_000);
    for (let take = 0; take <= aggregate % 4; take += 1)
      await store.execute(
        `a-${aggregate}`,
        { kind: 'Take' },
        { causeId: `t-${aggregate}-${take}`, causationId: null, correlationId: 'x', now },
      );
  }
  const listed = await store.list({}, { limit: 12 });
  expect(listed).toHaveLength(12);
  expect(listed.map((state) => state.value).sort()).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  // Filters see the latest state only: a value an aggregate had before is not a match.
  expect(await store.list({ 'state.value': 1 })).toHaveLength(3);
  // 30 changes, 12 documents: nothing of the history is kept.
  expect(await store.collection.countDocuments()).toBe(12);
  // Exact to the millisecond, whatever precision the store compares times with.
  const times = await createAggregateStore({
    db: clients[0]!.db(database),
    name: 'timed',
    decider: stamped,
    writer: newWriter(),
  });
  for (const [id, at] of [
    ['early', '2026-12-01T10:00:00.100Z'],
    ['late', '2026-12-01T10:00:00.900Z'],
  ] as const)
    await times.execute(id, at, { causeId: id, causationId: null, correlationId: id, now: new Date() });
  const due = await times.list({ 'state.at': { $lte: '2026-12-01T10:00:00.500Z' } });
  expect(due.map((state) => state.at)).toEqual(['2026-12-01T10:00:00.100Z']);
  // Oldest first, when asked: the aggregates in the order of their last change (a-0, a-1, a-2).
  const oldest = await store.list({}, { order: 'oldest', limit: 3 });
  expect(oldest.map((state) => state.value)).toEqual([1, 2, 3]);
});

it('executes a batch with one read and one write, in order per aggregate, and exactly once under a race', async () => {
  const client = await new MongoClient(endpoints.mongoUrl, { monitorCommands: true }).connect();
  clients.push(client);
  const commands: string[] = [];
  client.on('commandStarted', (event) => commands.push(event.commandName));
  const writer = newWriter();
  const [mine, theirs] = await Promise.all(
    [client, clients[1]!].map((connection) =>
      createAggregateStore({ db: connection.db(database), name: 'batched', decider: counter, writer }),
    ),
  );
  const now = new Date();
  // 4 aggregates, 12 takes each: the 11th and 12th of each are refused (10 units).
  const batch = Array.from({ length: 48 }, (_, i) => ({
    id: `b-${i % 4}`,
    input: { kind: 'Take' } as const,
    options: { causeId: `take-${i}`, causationId: null, correlationId: 'x', now },
  }));
  commands.length = 0;
  const outcomes = await mine!.executeAll(batch);
  // One read, one write command (the driver sends a bulk of inserts as one `insert`).
  expect(commands).toEqual(['find', 'insert']);
  expect(outcomes.map((outcome) => outcome.kind)).toEqual(
    batch.map((_, i) => (i < 40 ? 'changed' : 'refused')),
  );
  expect(outcomes[4]).toMatchObject({ kind: 'changed', version: 2 });

  // The same batch again, from two instances at once: every change is recognised, none applied.
  const again = await Promise.all([mine!.executeAll(batch), theirs!.executeAll(batch)]);
  for (const outcome of again.flat()) expect(['duplicate', 'refused']).toContain(outcome.kind);

  // Two instances racing with different batches for the same aggregates: the losers fall back
  // to one change at a time, and no unit is handed out twice.
  const fresh = (prefix: string) =>
    Array.from({ length: 8 }, (_, i) => ({
      id: `r-${i % 2}`,
      input: { kind: 'Take' } as const,
      options: { causeId: `${prefix}-${i}`, causationId: null, correlationId: 'x', now },
    }));
  const raced = await Promise.all([mine!.executeAll(fresh('a')), theirs!.executeAll(fresh('b'))]);
  expect(raced.flat().filter((outcome) => outcome.kind === 'changed')).toHaveLength(16);
  expect((await mine!.load('r-0'))?.state.value).toBe(8);
  expect((await mine!.load('r-1'))?.state.value).toBe(8);
});

/**
 * Runs a context's decider against the document store, one document per aggregate (its head):
 * `_id` is the aggregate's id, and the document holds the latest state, its version, the recent
 * causes applied (for deduplication) and the events still to publish (the outbox).
 *
 * Every access is by `_id`: a change reads the head, decides in memory, and replaces the head
 * only if its version is still the one read (`{_id, version}`), a single-document conditional
 * write that every conformant MongoDB-wire store applies atomically (pinned by
 * `test/store-conformance.test.ts`). The loser of a race (another instance after a rebalance, an
 * HTTP command beside a consumer) matches nothing, reloads and decides again: optimistic
 * concurrency. A new aggregate is an insert, whose unique `_id` plays the same part.
 *
 * Nothing else is written: no version history, so the collection holds one document per
 * aggregate whatever its past, and the cost of a change does not grow with it.
 *
 * Idempotency: the cause of each change (the id of the event consumed, or of the command) joins
 * the head's bounded list of causes in the same write, so a redelivered cause is recognised
 * before deciding, and a racing redelivery loses the version check and is recognised on reload.
 *
 * Outbox: the events a change publishes are written into the same head (so neither exists
 * without the other) and handed at once, from memory, to the process's relay, which publishes
 * them and clears them. A crash in between leaves them in the head, flagged `_pending` (an
 * indexed field), where the relay's recovery finds them without reading anything else.
 */
import {
  MongoBulkWriteError,
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Filter,
  type IndexSpecification,
  type OptionalId,
} from 'mongodb';
import sift from 'sift';
import { evolveAll, type Decider, type Publication, type Refusal } from './decider';
import { classify, duplicateKeysOnly, errorCodes, isDuplicateKey, transient } from './errors';
import type { EventWriter } from './event-writer';
import { outboxField, pendingField, storedEvents, type OutboxDocument, type PendingWrite } from './outbox';

export interface HeadDocument<S> extends OutboxDocument {
  version: number;
  state: S;
  /** Recent causes applied to this aggregate, newest last (bounded). */
  causes: string[];
  /** When the latest change was decided. */
  at: Date;
}

export interface Loaded<S> {
  readonly state: S;
  readonly version: number;
  readonly causes: readonly string[];
}

export type Execution<S, F> =
  | {
      readonly kind: 'changed';
      readonly state: S;
      readonly version: number;
      readonly facts: readonly F[];
      readonly published: readonly Publication[];
    }
  /** Accepted with no facts: nothing to do (e.g. an input already reflected in the state). */
  | { readonly kind: 'unchanged'; readonly state: S | undefined }
  /** This cause was applied before (a redelivery or a retried request). */
  | { readonly kind: 'duplicate'; readonly state: S | undefined }
  | Refusal;

export interface ExecuteOptions {
  /** Id of the event or command that causes the change: the dedup key (any string). */
  readonly causeId: string;
  /** The `eventId` of the event consumed, or null for a command (see `Causation`). */
  readonly causationId: string | null;
  /** The order the events belong to. */
  readonly correlationId: string;
  readonly now: Date;
}

export interface Change<I> {
  readonly id: string;
  readonly input: I;
  readonly options: ExecuteOptions;
}

export interface AggregateStore<S, I, F> {
  readonly collection: Collection<HeadDocument<S>>;
  /** The same collection, as the outbox relay sees it. */
  readonly outbox: Collection<OutboxDocument>;
  load(id: string): Promise<Loaded<S> | undefined>;
  /** The latest states of `ids`, in one read; an aggregate never written is absent. */
  loadAll(ids: readonly string[]): Promise<Map<string, Loaded<S>>>;
  /** Decides `input` against the latest state and writes the outcome; retries lost races. */
  execute(id: string, input: I, options: ExecuteOptions): Promise<Execution<S, F>>;
  /**
   * Executes changes in order per aggregate, as a batch: every aggregate read once, its
   * changes decided one after another in memory, and all written together in one bulk command.
   * An aggregate whose write lost a race is done again alone, change by change, with `execute`.
   */
  executeAll(changes: readonly Change<I>[]): Promise<Execution<S, F>[]>;
  /**
   * States whose head matches `filter` (on `state.*` fields), most recently changed first, or
   * oldest first with `order: 'oldest'`.
   */
  list(
    filter: Filter<HeadDocument<S>>,
    options?: { limit?: number; order?: 'newest' | 'oldest' },
  ): Promise<S[]>;
}

export interface AggregateStoreOptions<S, I, F> {
  db: Db;
  /** Collection name; one per aggregate kind, owned by one context. */
  name: string;
  decider: Decider<S, I, F>;
  writer: EventWriter;
  /** Receives every write that added events, for the relay to publish at once. */
  onWritten?: (write: PendingWrite) => void;
  /** Told after every change written (e.g. to wake the context's auto-advance). */
  onChanged?: () => void;
  /**
   * Told after every change written, with the state before it (undefined for a new aggregate)
   * and after it: what journey metrics are counted from (`runtime/journey.ts`). A batch that
   * wrote several changes of one aggregate at once tells the first state and the last.
   */
  onTransition?: (before: S | undefined, after: S) => void;
  /** Indexes the context's lists need (beyond `_id`, `at` and the outbox flag). */
  indexes?: readonly IndexSpecification[];
  /** Causes remembered per aggregate for deduplication. */
  historySize?: number;
  /** Lost races retried before giving up with a transient error. */
  attempts?: number;
}

export async function createAggregateStore<S, I, F>(
  options: AggregateStoreOptions<S, I, F>,
): Promise<AggregateStore<S, I, F>> {
  const { db, name, decider, writer, historySize = 200, attempts = 20 } = options;
  const collection = db.collection<HeadDocument<S>>(name);
  const outboxCollection = db.collection<OutboxDocument>(name);
  for (const index of [{ at: -1 }, { [pendingField]: 1 }, ...(options.indexes ?? [])])
    await collection.createIndex(index);

  async function read(id: string): Promise<HeadDocument<S> | null> {
    return collection.findOne({ _id: id } as Filter<HeadDocument<S>>) as Promise<HeadDocument<S> | null>;
  }

  const loaded = (head: HeadDocument<S>): Loaded<S> => ({
    state: head.state,
    version: head.version,
    causes: head.causes,
  });

  async function load(id: string): Promise<Loaded<S> | undefined> {
    const head = await read(id);
    return head === null ? undefined : loaded(head);
  }

  async function loadAll(ids: readonly string[]): Promise<Map<string, Loaded<S>>> {
    if (ids.length === 0) return new Map();
    const heads = await collection
      .find({ _id: { $in: [...new Set(ids)] } } as Filter<HeadDocument<S>>)
      .toArray();
    return new Map((heads as HeadDocument<S>[]).map((head) => [head._id, loaded(head)]));
  }

  /** One aggregate as a batch sees it: the head read, and the head its changes lead to. */
  interface Draft {
    readonly read: HeadDocument<S> | null;
    next: HeadDocument<S> | null;
  }

  /** Decides one change on top of `draft` and folds its outcome into `draft.next`. */
  function decideOn(draft: Draft, { id, input, options: execution }: Change<I>): Execution<S, F> {
    const { causeId, causationId, correlationId, now } = execution;
    const current = draft.next;
    if (current?.causes.includes(causeId)) return { kind: 'duplicate', state: current.state };
    const decision = decider.decide(input, current?.state, now);
    if (decision.kind === 'refused') return decision;
    if (decision.facts.length === 0) return { kind: 'unchanged', state: current?.state };

    const state = evolveAll(decider, current?.state, decision.facts);
    if (state === undefined) throw new Error(`${name}: facts left aggregate ${id} without a state`);
    const published = decision.facts.flatMap((fact) => decider.publish(fact, state));
    const events = writer.outgoing(published, {
      causeId,
      causationId,
      correlationId,
      now,
      scope: `${name}/${id}`,
    });
    const version = (current?.version ?? 0) + 1;
    // Events a crashed or slower publisher left in the head stay pending in the next version.
    const outbox = { ...(current?.[outboxField] ?? {}), ...storedEvents(events, version) };
    const pending = Object.keys(outbox).length > 0;
    draft.next = {
      _id: id,
      version,
      state,
      causes: [...(current?.causes ?? []), causeId].slice(-historySize),
      at: now,
      ...(pending ? { [outboxField]: outbox, [pendingField]: true } : {}),
    };
    return { kind: 'changed', state, version, facts: decision.facts, published };
  }

  /** Tells the relay about a written head's pending events, and whoever watches changes. */
  function handOver(before: HeadDocument<S> | null, head: HeadDocument<S>): void {
    options.onChanged?.();
    options.onTransition?.(before?.state, head.state);
    const events = head[outboxField];
    if (events !== undefined && Object.keys(events).length > 0)
      options.onWritten?.({ collection: outboxCollection, id: head._id, version: head.version, events });
  }

  async function execute(id: string, input: I, execution: ExecuteOptions): Promise<Execution<S, F>> {
    for (let attempt = 1; ; attempt += 1) {
      const draft: Draft = { read: await read(id), next: null };
      draft.next = draft.read;
      const outcome = decideOn(draft, { id, input, options: execution });
      if (outcome.kind !== 'changed' || draft.next === null) return outcome;
      if (await written(draft.read, draft.next)) {
        handOver(draft.read, draft.next);
        return outcome;
      }
      // Another writer changed this aggregate first: decide again on what it wrote.
      if (attempt >= attempts)
        throw transient(errorCodes.CONCURRENT_UPDATE, `${name} ${id}: lost ${attempts} races in a row`);
    }
  }

  async function executeAll(changes: readonly Change<I>[]): Promise<Execution<S, F>[]> {
    if (changes.length <= 1)
      return Promise.all(changes.map((change) => execute(change.id, change.input, change.options)));
    const ids = [...new Set(changes.map((change) => change.id))];
    const heads = await collection.find({ _id: { $in: ids } } as Filter<HeadDocument<S>>).toArray();
    const drafts = new Map<string, Draft>(ids.map((id) => [id, { read: null, next: null }]));
    for (const head of heads as HeadDocument<S>[]) drafts.set(head._id, { read: head, next: head });
    const outcomes = changes.map((change) => decideOn(drafts.get(change.id)!, change));

    const changed = [...drafts.values()].filter(
      (draft): draft is { read: HeadDocument<S> | null; next: HeadDocument<S> } =>
        draft.next !== null && draft.next !== draft.read,
    );
    if (changed.length === 0) return outcomes;
    const lost = await writeAll(changed);
    for (const draft of changed) if (!lost.has(draft.next._id)) handOver(draft.read, draft.next);
    // A lost race: that aggregate's changes again, alone and in order, on what the winner wrote.
    for (const [i, change] of changes.entries())
      if (lost.has(change.id)) outcomes[i] = await execute(change.id, change.input, change.options);
    return outcomes;
  }

  /**
   * Writes the drafts in one unordered bulk command (inserts for new aggregates, version-guarded
   * replaces for the others); returns the ids whose write lost a race. The bulk result counts
   * but does not name them, so when the count falls short the heads are read back.
   */
  async function writeAll(
    drafts: readonly { read: HeadDocument<S> | null; next: HeadDocument<S> }[],
  ): Promise<Set<string>> {
    const operations = drafts.map(
      ({ read: current, next }): AnyBulkWriteOperation<HeadDocument<S>> =>
        current === null
          ? { insertOne: { document: next as OptionalId<HeadDocument<S>> } as never }
          : {
              replaceOne: {
                filter: { _id: next._id, version: current.version } as Filter<HeadDocument<S>>,
                replacement: next,
              },
            },
    );
    let written: number;
    try {
      const result = await collection.bulkWrite(operations, { ordered: false });
      written = result.insertedCount + result.matchedCount;
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || duplicateKeysOnly(error) === undefined)
        throw classify(error);
      written = error.result.insertedCount + error.result.matchedCount;
    }
    if (written === drafts.length) return new Set();
    const now = await collection
      .find({ _id: { $in: drafts.map(({ next }) => next._id) } } as Filter<HeadDocument<S>>, {
        projection: { version: 1, causes: 1 },
      })
      .toArray();
    const landed = new Set(
      drafts
        .filter(({ next }) => {
          const head = now.find((document) => document._id === next._id);
          return head?.version === next.version && head.causes.at(-1) === next.causes.at(-1);
        })
        .map(({ next }) => next._id),
    );
    return new Set(drafts.map(({ next }) => next._id).filter((id) => !landed.has(id)));
  }

  /** Writes `head` if `current` is still the latest; false when another writer came first. */
  async function written(current: HeadDocument<S> | null, head: HeadDocument<S>): Promise<boolean> {
    try {
      if (current === null) {
        await collection.insertOne(head as Parameters<typeof collection.insertOne>[0]);
        return true;
      }
      const result = await collection.replaceOne(
        { _id: head._id, version: current.version } as Filter<HeadDocument<S>>,
        head,
      );
      return result.matchedCount === 1;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw classify(error);
    }
  }

  async function list(
    filter: Filter<HeadDocument<S>>,
    { limit = 100, order = 'newest' }: { limit?: number; order?: 'newest' | 'oldest' } = {},
  ): Promise<S[]> {
    // The store narrows, this decides. The embedded store serves equalities from its indexes
    // but answers a range condition by reading the whole collection (and compares times to the
    // second), so ranges are left out of the query and the whole filter is applied here, with
    // MongoDB's exact semantics, reading on until `limit` states match. What is read is bounded
    // by the equalities (the aggregates in one status), not by the collection's history.
    const matches = sift(filter as Parameters<typeof sift>[0]);
    const cursor = collection
      .find(withoutRanges(filter), { projection: { state: 1 } })
      .sort({ at: order === 'newest' ? -1 : 1 })
      .batchSize(Math.max(limit, 100));
    const states: S[] = [];
    try {
      for await (const head of cursor) {
        if (matches(head)) states.push(head.state);
        if (states.length >= limit) break;
      }
    } finally {
      await cursor.close();
    }
    return states;
  }

  return { collection, outbox: outboxCollection, load, loadAll, execute, executeAll, list };
}

const rangeOperators = new Set(['$lt', '$lte', '$gt', '$gte']);

/** `filter` without its range conditions (`{field: {$lte: …}}`), which the caller applies itself. */
function withoutRanges<T>(filter: Filter<T>): Filter<T> {
  return Object.fromEntries(
    Object.entries(filter).filter(
      ([, condition]) =>
        !(
          typeof condition === 'object' &&
          condition !== null &&
          !Array.isArray(condition) &&
          !(condition instanceof Date) &&
          Object.keys(condition).length > 0 &&
          Object.keys(condition).every((operator) => rangeOperators.has(operator))
        ),
    ),
  ) as Filter<T>;
}

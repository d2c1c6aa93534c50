/**
 * Runs a context's decider against the document store: every change appends a new version of the
 * aggregate (`<id>@<version>`), holding the whole state, the ids of the causes applied so far and
 * the events to publish (outbox).
 *
 * Why append rather than update one document in place: on FerretDB (SQLite) a conditional update
 * (`{_id, version: n}` or `{available: {$gte: q}}`) is not atomic between connections. Measured
 * here: 40 racing writers with a version filter all saw "modified", and one in ten rounds two of
 * them both won, so a SKU handed out 11 units of 10. A unique key is atomic on every
 * MongoDB-wire store: two writers of version n+1 cannot both insert it, the loser gets E11000,
 * reloads and decides again (optimistic concurrency). The same code is correct on MongoDB.
 *
 * Idempotency: the cause of each change (the id of the event consumed, or of the command) is
 * kept in the state's recent history, so a redelivered cause is recognised before deciding, and a
 * racing redelivery loses the insert and is recognised on the reload.
 *
 * Older versions stay as the aggregate's history (and hold events the relay has not published
 * yet); reads and lists consider only the latest version of each aggregate.
 */
import type { Collection, Db, Filter } from 'mongodb';
import { evolveAll, type Decider, type Publication, type Refusal } from './decider';
import { classify, errorCodes, transient } from './errors';
import type { EventWriter } from './event-writer';
import type { Logger } from './log';
import type { AggregateDocument } from './idempotent-store';
import { outboxField, outboxOf, type OutgoingEvent } from './outbox';

export interface VersionDocument<S> extends AggregateDocument {
  aggregateId: string;
  version: number;
  state: S;
  /** Recent causes applied to this aggregate, newest last (bounded). */
  causes: string[];
  causeId: string;
  at: Date;
  /** Set once a later version exists, so lists skip history without reading it. */
  superseded?: boolean;
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

export interface AggregateStore<S, I, F> {
  readonly collection: Collection<VersionDocument<S>>;
  /** The same collection, as the outbox relay sees it. */
  readonly outbox: Collection<AggregateDocument>;
  load(id: string): Promise<Loaded<S> | undefined>;
  /** Decides `input` against the latest state and appends the outcome; retries lost races. */
  execute(id: string, input: I, options: ExecuteOptions): Promise<Execution<S, F>>;
  /** Latest states whose document matches `filter` (on `state.*` fields), newest change first. */
  list(filter: Filter<VersionDocument<S>>, options?: { limit?: number }): Promise<S[]>;
}

export interface AggregateStoreOptions<S, I, F> {
  db: Db;
  /** Collection name; one per aggregate kind, owned by one context. */
  name: string;
  decider: Decider<S, I, F>;
  writer: EventWriter;
  /** Called after a write that added events to the outbox (the relay publishes soon). */
  onPublished?: (events: readonly OutgoingEvent[]) => void;
  /** Causes remembered per aggregate for deduplication. */
  historySize?: number;
  /** Lost races retried before giving up with a transient error. */
  attempts?: number;
  log?: Logger;
}

const duplicateKey = 11000;

export async function createAggregateStore<S, I, F>(
  options: AggregateStoreOptions<S, I, F>,
): Promise<AggregateStore<S, I, F>> {
  const { db, name, decider, writer, historySize = 200, attempts = 20, log } = options;
  const collection = db.collection<VersionDocument<S>>(name);
  await collection.createIndex({ aggregateId: 1, version: -1 });
  await collection.createIndex({ superseded: 1, at: -1 });

  async function load(id: string): Promise<Loaded<S> | undefined> {
    const [latest] = await collection.find({ aggregateId: id }).sort({ version: -1 }).limit(1).toArray();
    return latest === undefined
      ? undefined
      : { state: latest.state, version: latest.version, causes: latest.causes };
  }

  async function execute(id: string, input: I, execution: ExecuteOptions): Promise<Execution<S, F>> {
    const { causeId, causationId, correlationId, now } = execution;
    for (let attempt = 1; ; attempt += 1) {
      const current = await load(id);
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
      const document: VersionDocument<S> = {
        _id: `${id}@${version}`,
        aggregateId: id,
        version,
        state,
        causes: [...(current?.causes ?? []), causeId].slice(-historySize),
        causeId,
        at: now,
      };
      try {
        await collection.insertOne(
          events.length === 0 ? document : { ...document, [outboxField]: outboxOf(events, now.getTime()) },
        );
      } catch (error) {
        if (codeOf(error) !== duplicateKey) throw classify(error);
        // Another writer appended this version first: decide again on what it wrote.
        if (attempt >= attempts)
          throw transient(
            errorCodes.CONCURRENT_UPDATE,
            `${name} ${id}: lost ${attempts} races in a row`,
            error,
          );
        continue;
      }
      if (events.length > 0) options.onPublished?.(events);
      // Housekeeping, not atomic with the insert and need not be: only versions below one that
      // exists are marked, so a race or a crash can leave one unmarked, never mark a latest one.
      await collection
        .updateMany(
          { aggregateId: id, version: { $lt: version }, superseded: { $ne: true } } as Filter<
            VersionDocument<S>
          >,
          {
            $set: { superseded: true } as Partial<VersionDocument<S>>,
          },
        )
        .catch((error: unknown) => log?.warn('could not mark superseded versions', { name, id, error }));
      return { kind: 'changed', state, version, facts: decision.facts, published };
    }
  }

  async function list(filter: Filter<VersionDocument<S>>, { limit = 100 } = {}): Promise<S[]> {
    // Candidates may be stale versions; keep those that are their aggregate's latest.
    const candidates = await collection
      .find(filter)
      .sort({ at: -1 })
      .limit(limit * 4)
      .toArray();
    if (candidates.length === 0) return [];
    const ids = [...new Set(candidates.map((document) => document.aggregateId))];
    const versions = await collection
      .find({ aggregateId: { $in: ids } } as Filter<VersionDocument<S>>, {
        projection: { aggregateId: 1, version: 1 },
      })
      .toArray();
    const latest = new Map<string, number>();
    for (const { aggregateId, version } of versions)
      latest.set(aggregateId, Math.max(version, latest.get(aggregateId) ?? 0));
    return candidates
      .filter((document) => latest.get(document.aggregateId) === document.version)
      .slice(0, limit)
      .map((document) => document.state);
  }

  return { collection, outbox: db.collection<AggregateDocument>(name), load, execute, list };
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import { classify } from './errors';

/**
 * Exactly-once effects without multi-document transactions (FerretDB has none, and a
 * consumer must run on it and on MongoDB alike): the event id is written into the
 * aggregate's document by the same single-document update that changes its state. The
 * update's filter says "this event is not yet applied"; when it is, the filter matches
 * nothing, the upsert tries to insert an existing _id, and the store answers E11000:
 * that is a duplicate, and nothing changed.
 */
/** A document keyed by its aggregate's id (an order id, a SKU…), never an ObjectId. */
export interface AggregateDocument extends Document {
  _id: string;
  /** Ids of the latest events applied to this aggregate (bounded). */
  _applied?: string[];
  _appliedCount?: number;
}

export interface AggregateChange {
  /** The aggregate's document id. */
  id: string;
  /** The dedup marker: the id of the event that causes the change. */
  eventId: string;
  /** Update operators for the state change. `$setOnInsert` seeds a new aggregate. */
  update: Document;
}

export interface ApplyOutcome {
  applied: number;
  duplicates: number;
}

const duplicateKey = 11000;

/**
 * Applies changes, keeping the order of the changes to each aggregate, and counts the
 * duplicates it skips.
 *
 * The batch is cut into rounds: round k holds the k-th change of every aggregate, so one
 * bulk write per round keeps per-aggregate order (most batches are one round). Before each
 * round the markers are read, and changes already applied are left out: FerretDB stops a
 * bulk write at its first error even when asked for an unordered one, and reports wrong
 * indexes, so a duplicate must not reach the write. The read is an optimisation, not the
 * guard: the guard is the filter of each update. If another writer applies the same event
 * between read and write (a redelivery to another instance after a rebalance), the upsert
 * fails with E11000 and the round is read and written again.
 */
export async function applyChanges(
  collection: Collection<AggregateDocument>,
  changes: readonly AggregateChange[],
  { historySize = 500, attempts = 5 }: { historySize?: number; attempts?: number } = {},
): Promise<ApplyOutcome> {
  let duplicates = 0;
  for (const round of rounds(changes)) {
    for (let attempt = 1; ; attempt += 1) {
      const applied = await appliedMarkers(collection, round);
      const fresh = round.filter((change) => !applied.get(change.id)?.has(change.eventId));
      try {
        // What the store says it changed, not what was sent: a write that lost a race to
        // another instance may match nothing without an error.
        const written = fresh.length > 0 ? await collection.bulkWrite(fresh.map(changeOperation)) : undefined;
        duplicates += round.length - ((written?.upsertedCount ?? 0) + (written?.modifiedCount ?? 0));
        if (fresh.length > 0)
          await collection.bulkWrite(fresh.map((change) => trimOperation(change, historySize)));
        break;
      } catch (error) {
        const codes = writeErrorCodes(error);
        const raced = codes !== undefined && codes.every((code) => code === duplicateKey);
        if (!raced || attempt >= attempts) throw classify(error);
      }
    }
  }
  return { applied: changes.length - duplicates, duplicates };
}

async function appliedMarkers(
  collection: Collection<AggregateDocument>,
  round: readonly AggregateChange[],
): Promise<Map<string, Set<string>>> {
  const documents = await collection
    .find({ _id: { $in: round.map((change) => change.id) } }, { projection: { _applied: 1 } })
    .toArray();
  return new Map(documents.map((document) => [document._id, new Set(document._applied ?? [])]));
}

function changeOperation(change: AggregateChange): AnyBulkWriteOperation<AggregateDocument> {
  return {
    updateOne: {
      filter: { _id: change.id, _applied: { $ne: change.eventId } },
      update: withMarker(change),
      upsert: true,
    },
  };
}

/**
 * Housekeeping, not atomic with the change: `$push` with `$slice` would bound the history in
 * the same update, but FerretDB ignores `$slice`, so it is bounded with `$pop`.
 */
function trimOperation(
  change: AggregateChange,
  historySize: number,
): AnyBulkWriteOperation<AggregateDocument> {
  return {
    updateOne: {
      filter: { _id: change.id, _appliedCount: { $gt: historySize } },
      update: { $pop: { _applied: -1 }, $inc: { _appliedCount: -1 } },
    },
  };
}

function rounds(changes: readonly AggregateChange[]): AggregateChange[][] {
  const seen = new Map<string, number>();
  const result: AggregateChange[][] = [];
  for (const change of changes) {
    const round = seen.get(change.id) ?? 0;
    seen.set(change.id, round + 1);
    (result[round] ??= []).push(change);
  }
  return result;
}

/** The change's own operators plus the marker; built as a plain document because the
 *  driver's operator types cannot express a merge of two `$push`es. */
function withMarker(change: AggregateChange): Document {
  const { update } = change;
  return {
    ...update,
    $push: { ...update.$push, _applied: change.eventId },
    $inc: { ...update.$inc, _appliedCount: 1 },
  };
}

/** The codes of a bulk write's per-operation errors; undefined for any other failure. */
function writeErrorCodes(error: unknown): number[] | undefined {
  if (typeof error !== 'object' || error === null || !('writeErrors' in error)) return undefined;
  const { writeErrors } = error;
  const list: unknown[] = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  const codes = list.map((entry) =>
    typeof entry === 'object' && entry !== null && 'code' in entry && typeof entry.code === 'number'
      ? entry.code
      : NaN,
  );
  return codes.length > 0 ? codes : undefined;
}

/**
 * The offline compatibility gate, as pure functions over schemas (the CLI in
 * contracts/check-compatibility.ts feeds it the working tree and the committed history).
 *
 * Rule: FULL_TRANSITIVE per event type (= per registry subject, see contracts/topics.ts): every
 * version can read data written with every other version, both ways. New consumers read old data
 * still on the topics, and old consumers, still running during a rollout, read new data.
 *
 * Resolution is decided by avsc's `createResolver`, which throws exactly when Avro's resolution
 * rules cannot read the writer's data with the reader's schema (a reader field without default
 * missing from the writer, a type that does not promote, an enum symbol the reader lacks without
 * an enum default...). On top of that, a logical type must agree on both sides: Avro resolution
 * only sees the underlying type, so `decimal(15,2)` read as `decimal(15,0)` would "resolve" and
 * silently multiply every amount by a hundred.
 */
import type { Type } from 'avsc';
import { avroType } from './avro-type';
import { groupByType, type EventSchema, type SchemaSet } from './loader';
import {
  deref,
  namedTypesIn,
  parseSchema,
  type JsonValue,
  type LogicalType,
  type NamedNode,
  type SchemaNode,
} from './schema-model';

export interface SchemaCandidate {
  /** Shown in findings, e.g. `OrderPlaced v2 (schemas/order/OrderPlaced.v2.avsc)`. */
  readonly label: string;
  /** A resolved, self-contained Avro schema. */
  readonly schema: JsonValue;
}

export interface Incompatibility {
  readonly reader: string;
  readonly writer: string;
  readonly reason: string;
}

interface Prepared {
  readonly label: string;
  readonly type: Type;
  readonly node: SchemaNode;
  readonly named: ReadonlyMap<string, NamedNode>;
}

function prepare(candidate: SchemaCandidate): Prepared {
  const node = parseSchema(candidate.label, candidate.schema);
  return {
    label: candidate.label,
    type: avroType(candidate.schema),
    node,
    named: new Map(namedTypesIn(node).map((named) => [named.fullName, named])),
  };
}

function describeLogical(logical: LogicalType | undefined, underlying: string): string {
  if (logical === undefined) return `plain ${underlying}`;
  return logical.name === 'decimal' ? `decimal(${logical.precision},${logical.scale})` : logical.name;
}

function withoutNull(node: SchemaNode): SchemaNode | undefined {
  if (node.kind !== 'union') return node;
  const values = node.branches.filter((branch) => !(branch.kind === 'primitive' && branch.type === 'null'));
  return values.length === 1 ? values[0] : undefined;
}

/** Walks reader and writer the way Avro resolution pairs them, and reports the first logical type that differs. */
function logicalMismatch(reader: Prepared, writer: Prepared): string | undefined {
  const visited = new Set<string>();
  const visit = (readerNode: SchemaNode, writerNode: SchemaNode, path: string): string | undefined => {
    const r = withoutNull(deref(readerNode, reader.named));
    const w = withoutNull(deref(writerNode, writer.named));
    if (r === undefined || w === undefined) return undefined;
    const rd = deref(r, reader.named);
    const wd = deref(w, writer.named);
    if (rd.kind === 'primitive' && wd.kind === 'primitive') {
      const same = JSON.stringify(rd.logical ?? null) === JSON.stringify(wd.logical ?? null);
      return same
        ? undefined
        : `${path}: written as ${describeLogical(wd.logical, wd.type)}, read as ${describeLogical(rd.logical, rd.type)}`;
    }
    if (rd.kind === 'record' && wd.kind === 'record') {
      const key = `${rd.fullName}<-${wd.fullName}`;
      if (visited.has(key)) return undefined;
      visited.add(key);
      for (const field of rd.fields) {
        const names = [field.name, ...field.aliases];
        const source = wd.fields.find((candidate) => names.includes(candidate.name));
        if (source === undefined) continue;
        const found = visit(field.type, source.type, path === '' ? field.name : `${path}.${field.name}`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (rd.kind === 'array' && wd.kind === 'array') return visit(rd.items, wd.items, `${path}[]`);
    if (rd.kind === 'map' && wd.kind === 'map') return visit(rd.values, wd.values, `${path}{}`);
    return undefined;
  };
  return visit(reader.node, writer.node, '');
}

function readProblemPrepared(reader: Prepared, writer: Prepared): string | undefined {
  try {
    reader.type.createResolver(writer.type);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return logicalMismatch(reader, writer);
}

/** Why data written with `writer` cannot be read with `reader`, or undefined when it can. */
export function readProblem(reader: JsonValue, writer: JsonValue): string | undefined {
  return readProblemPrepared(
    prepare({ label: 'reader', schema: reader }),
    prepare({ label: 'writer', schema: writer }),
  );
}

/**
 * FULL_TRANSITIVE over `candidates` (oldest first): each one against every earlier one, both
 * directions. `mustCheck` limits the pairs to those involving at least one candidate it accepts
 * (pairs of historical schemas were checked when they were committed).
 */
export function checkFullTransitive(
  candidates: readonly SchemaCandidate[],
  mustCheck: (candidate: SchemaCandidate) => boolean = () => true,
): Incompatibility[] {
  const prepared = candidates.map(prepare);
  const found: Incompatibility[] = [];
  prepared.forEach((later, j) => {
    prepared.slice(0, j).forEach((earlier, i) => {
      const laterCandidate = candidates[j];
      const earlierCandidate = candidates[i];
      if (laterCandidate === undefined || earlierCandidate === undefined) return;
      if (!mustCheck(laterCandidate) && !mustCheck(earlierCandidate)) return;
      const backward = readProblemPrepared(later, earlier);
      if (backward !== undefined)
        found.push({ reader: later.label, writer: earlier.label, reason: backward });
      const forward = readProblemPrepared(earlier, later);
      if (forward !== undefined) found.push({ reader: earlier.label, writer: later.label, reason: forward });
    });
  });
  return found;
}

export interface Finding {
  readonly severity: 'error' | 'note';
  readonly path: string;
  readonly message: string;
}

export interface Snapshot {
  /** A commit id or ref name, for labels. */
  readonly ref: string;
  readonly set: SchemaSet;
}

export interface GateInput {
  /** The schemas as they are now (the working tree). */
  readonly head: SchemaSet;
  /** The published state: committed version files must be unchanged in `head`. */
  readonly base: Snapshot | undefined;
  /** Every committed state that may have reached a registry, oldest first (may include `base`). */
  readonly history: readonly Snapshot[];
}

const shortRef = (ref: string): string => (/^[0-9a-f]{40}$/.test(ref) ? ref.slice(0, 8) : ref);

/**
 * A committed version file is immutable: it may have been registered and used to write data
 * that is still on a topic. So, against `base`:
 * - deleting it is an error (the gate would also lose it as history);
 * - changing what it says (anything but docs) is an error: add `<Event>.v<N+1>.avsc` instead;
 * - a change that comes only from a shared type it embeds is allowed when compatible, because
 *   the transitive check below includes the committed form as an earlier version;
 * - a docs-only change is a note (the registry will store a new, equivalent version).
 */
export function checkImmutability(base: Snapshot, head: SchemaSet): Finding[] {
  const findings: Finding[] = [];
  const headByPath = new Map(head.events.map((event) => [event.path, event]));
  for (const committed of base.set.events) {
    const current = headByPath.get(committed.path);
    const at = `committed at ${shortRef(base.ref)}`;
    if (current === undefined) {
      findings.push({
        severity: 'error',
        path: committed.path,
        message: `deleted, but ${at}: committed versions stay (consumers may still meet data written with them)`,
      });
    } else if (current.ownForm !== committed.ownForm) {
      findings.push({
        severity: 'error',
        path: committed.path,
        message: `edited in place, but ${at}: committed versions are immutable; put the change in ${committed.type}.v${nextVersion(head, committed.type)}.avsc`,
      });
    } else if (current.resolvedForm !== committed.resolvedForm) {
      findings.push({
        severity: 'note',
        path: committed.path,
        message: `changes through a shared type it embeds; checked for compatibility with its committed form`,
      });
    } else if (JSON.stringify(current.json) !== JSON.stringify(committed.json)) {
      findings.push({ severity: 'note', path: committed.path, message: 'documentation changed' });
    }
  }
  return findings;
}

function nextVersion(set: SchemaSet, type: string): number {
  return Math.max(0, ...set.events.filter((event) => event.type === type).map((event) => event.version)) + 1;
}

/** Runs every check; the gate passes when no finding is an error. */
export function runGate(input: GateInput): Finding[] {
  const findings: Finding[] = input.base === undefined ? [] : checkImmutability(input.base, input.head);
  const headCandidates = new Set<SchemaCandidate>();

  for (const [type, versions] of groupByType(input.head.events)) {
    const seen = new Set<string>();
    const candidates: SchemaCandidate[] = [];
    const add = (event: EventSchema, label: string, fromHead: boolean): void => {
      if (seen.has(event.resolvedForm)) return;
      seen.add(event.resolvedForm);
      const candidate = { label, schema: event.json };
      candidates.push(candidate);
      if (fromHead) headCandidates.add(candidate);
    };
    // Committed forms first (oldest first), then the working tree: "earlier" means what may
    // already be in a registry or on a topic.
    const headForms = new Set(versions.map((event) => event.resolvedForm));
    for (const snapshot of input.history) {
      for (const event of snapshot.set.events) {
        if (event.type !== type || headForms.has(event.resolvedForm)) continue;
        add(event, `${type} v${event.version} as committed at ${shortRef(snapshot.ref)}`, false);
      }
    }
    for (const event of versions) add(event, `${type} v${event.version} (${event.path})`, true);

    const path = versions[versions.length - 1]?.path ?? type;
    for (const problem of checkFullTransitive(candidates, (candidate) => headCandidates.has(candidate))) {
      findings.push({
        severity: 'error',
        path,
        message: `${problem.reader} cannot read data written by ${problem.writer}: ${problem.reason}`,
      });
    }
  }
  return findings;
}

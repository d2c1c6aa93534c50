/**
 * Loads `schemas/` into a checked, self-contained set of event schemas.
 *
 * Layout: `schemas/<vocabulary>/<EventName>.v<N>.avsc` is version N of an event; a file without a
 * version, `schemas/<vocabulary>/<TypeName>.avsc`, is a shared named type (the envelope
 * `common/EventMetadata.avsc`, `common/Money.avsc`, an address...).
 *
 * Shared types are INLINED: the loader replaces the first reference to a shared type in each
 * event schema by its full definition (later references stay names, as Avro requires), so every
 * event schema that leaves this module is self-contained. Why not registry schema references:
 * - every Confluent-compatible client, in any language, can read a self-contained schema; schema
 *   references need reference-aware clients and the same subject/version layout in every
 *   registry (Confluent and Apicurio differ in the details);
 * - one source file per shared type still keeps the envelope identical everywhere, which a
 *   copy pasted into each event file would not;
 * - the compatibility gate compares resolved schemas, so a change to a shared type is checked
 *   for every event that embeds it.
 * The cost: changing a shared type changes the registered schema of every event that embeds it
 * (a new registry version per subject), so the gate only lets such a change through when it is
 * compatible with every earlier version of every affected event.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { avroType } from './avro-type';
import {
  assertNever,
  contractForm,
  namespaceOf,
  parseJson,
  parseSchema,
  printSchema,
  SchemaSyntaxError,
  simpleNameOf,
  type FieldNode,
  type JsonValue,
  type NamedNode,
  type RecordNode,
  type SchemaNode,
} from './schema-model';

export const schemasDir = 'schemas';
export const namespaceRoot = 'com.scmplatform';
export const commonVocabulary = 'common';
export const envelopeFullName = `${namespaceRoot}.${commonVocabulary}.EventMetadata`;

export interface SchemaFile {
  /** Repository-relative, with forward slashes: `schemas/order/OrderPlaced.v1.avsc`. */
  readonly path: string;
  readonly text: string;
}

export interface EventSchema {
  /** The event type: the record's simple name, e.g. `OrderPlaced`. */
  readonly type: string;
  readonly version: number;
  /** The folder: `order` or `scm`. */
  readonly vocabulary: string;
  readonly path: string;
  readonly fullName: string;
  /** As written in the file: shared types are still references. */
  readonly own: RecordNode;
  /** Self-contained: what is registered and what readers resolve against. */
  readonly resolved: RecordNode;
  readonly ownForm: string;
  readonly resolvedForm: string;
  /** `resolved` printed with its docs: the JSON registered in the schema registry. */
  readonly json: JsonValue;
}

export interface SharedType {
  readonly vocabulary: string;
  readonly path: string;
  readonly fullName: string;
  readonly node: NamedNode;
}

export interface SchemaSet {
  /** Sorted by vocabulary, type, version. */
  readonly events: readonly EventSchema[];
  readonly shared: readonly SharedType[];
}

export interface Problem {
  readonly path: string;
  readonly message: string;
}

export interface LoadResult {
  readonly set: SchemaSet;
  readonly problems: readonly Problem[];
}

const filePattern = /^schemas\/([a-z][a-z0-9-]*)\/([A-Z][A-Za-z0-9]*)(?:\.v([1-9][0-9]*))?\.avsc$/;

export function vocabularyNamespace(vocabulary: string): string {
  return `${namespaceRoot}.${vocabulary.replace(/-/g, '_')}`;
}

function problemOf(path: string, error: unknown): Problem {
  if (error instanceof SchemaSyntaxError) {
    // The error's path starts with the file's; keep only where inside the file.
    const inside = error.path.startsWith(path)
      ? error.path.slice(path.length).replace(/^\./, '')
      : error.path;
    return { path, message: inside === '' ? error.reason : `${inside}: ${error.reason}` };
  }
  return { path, message: error instanceof Error ? error.message : String(error) };
}

const byPath = (a: Problem, b: Problem): number => a.path.localeCompare(b.path);

/**
 * Replaces the first reference to each shared type by its definition, depth-first in field order,
 * which is the order in which Avro parsers meet names.
 */
function inlineSharedTypes(
  path: string,
  root: RecordNode,
  shared: ReadonlyMap<string, SharedType>,
): RecordNode {
  const defined = new Set<string>();
  const define = (fullName: string): void => {
    if (defined.has(fullName)) throw new SchemaSyntaxError(path, `${fullName} is defined twice`);
    defined.add(fullName);
  };
  const visit = (node: SchemaNode): SchemaNode => {
    switch (node.kind) {
      case 'primitive':
        return node;
      case 'ref': {
        if (defined.has(node.fullName)) return node;
        const target = shared.get(node.fullName);
        if (target === undefined) throw new SchemaSyntaxError(path, `unknown type ${node.fullName}`);
        return visit(target.node);
      }
      case 'record':
        define(node.fullName);
        return {
          ...node,
          fields: node.fields.map((field): FieldNode => ({ ...field, type: visit(field.type) })),
        };
      case 'enum':
      case 'fixed':
        define(node.fullName);
        return node;
      case 'array':
        return { kind: 'array', items: visit(node.items) };
      case 'map':
        return { kind: 'map', values: visit(node.values) };
      case 'union':
        return { kind: 'union', branches: node.branches.map(visit) };
      default:
        return assertNever(node);
    }
  };
  const resolved = visit(root);
  if (resolved.kind !== 'record') throw new SchemaSyntaxError(path, 'an event schema must be a record');
  return resolved;
}

/**
 * Parses and resolves a set of schema files. Pure: the files come in as text, so the same code
 * loads the working tree and any committed snapshot (see contracts/git.ts). Checks only what is
 * needed to use the schemas; the house rules are `lintSchemaSet`'s job, so that an older commit
 * written before a rule existed can still be loaded as history.
 */
export function loadSchemaSet(files: readonly SchemaFile[]): LoadResult {
  const problems: Problem[] = [];
  const shared = new Map<string, SharedType>();
  const parsedEvents: { path: string; vocabulary: string; type: string; version: number; own: RecordNode }[] =
    [];

  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    if (!file.path.endsWith('.avsc')) continue;
    const match = filePattern.exec(file.path);
    if (match === null) {
      problems.push({
        path: file.path,
        message:
          'expected schemas/<vocabulary>/<Name>.avsc (shared type) or <Name>.v<N>.avsc (event version)',
      });
      continue;
    }
    const [, vocabulary = '', name = '', versionText] = match;
    try {
      const node = parseSchema(file.path, parseJson(file.text));
      if (node.kind !== 'record' && node.kind !== 'enum' && node.kind !== 'fixed') {
        throw new SchemaSyntaxError(file.path, 'a schema file must define one named type');
      }
      if (simpleNameOf(node.fullName) !== name) {
        throw new SchemaSyntaxError(file.path, `defines ${node.fullName}; the file name says ${name}`);
      }
      if (versionText === undefined) {
        const existing = shared.get(node.fullName);
        if (existing !== undefined)
          throw new SchemaSyntaxError(file.path, `${node.fullName} is also defined in ${existing.path}`);
        shared.set(node.fullName, { vocabulary, path: file.path, fullName: node.fullName, node });
      } else {
        if (node.kind !== 'record')
          throw new SchemaSyntaxError(file.path, 'an event schema must be a record');
        parsedEvents.push({
          path: file.path,
          vocabulary,
          type: name,
          version: Number(versionText),
          own: node,
        });
      }
    } catch (error) {
      problems.push(problemOf(file.path, error));
    }
  }

  const events: EventSchema[] = [];
  for (const parsed of parsedEvents) {
    try {
      const resolved = inlineSharedTypes(parsed.path, parsed.own, shared);
      const json = printSchema(resolved);
      // avsc checks what our parser does not: defaults against their types (a union's default
      // must match its first branch), duplicate field names, name resolution.
      avroType(json);
      events.push({
        type: parsed.type,
        version: parsed.version,
        vocabulary: parsed.vocabulary,
        path: parsed.path,
        fullName: parsed.own.fullName,
        own: parsed.own,
        resolved,
        ownForm: contractForm(parsed.own),
        resolvedForm: contractForm(resolved),
        json,
      });
    } catch (error) {
      problems.push(problemOf(parsed.path, error));
    }
  }
  events.sort(
    (a, b) =>
      a.vocabulary.localeCompare(b.vocabulary) || a.type.localeCompare(b.type) || a.version - b.version,
  );

  problems.push(...checkVersions(events));
  return { set: { events, shared: [...shared.values()] }, problems: problems.sort(byPath) };
}

/** Versions of one event are 1..N without gaps and share one full name (hence one subject). */
function checkVersions(events: readonly EventSchema[]): Problem[] {
  const problems: Problem[] = [];
  for (const [type, versions] of groupByType(events)) {
    versions.forEach((event, index) => {
      if (event.version !== index + 1) {
        problems.push({
          path: event.path,
          message: `${type} has no v${index + 1}: versions must be 1..N without gaps`,
        });
      }
      const first = versions[0];
      if (first !== undefined && event.fullName !== first.fullName) {
        problems.push({
          path: event.path,
          message: `${event.fullName} differs from ${first.fullName} in ${first.path}: all versions of an event share one record name`,
        });
      }
    });
  }
  return problems;
}

export function groupByType(events: readonly EventSchema[]): Map<string, EventSchema[]> {
  const groups = new Map<string, EventSchema[]>();
  for (const event of events) {
    const group = groups.get(event.type) ?? [];
    group.push(event);
    groups.set(event.type, group);
  }
  for (const group of groups.values()) group.sort((a, b) => a.version - b.version);
  return groups;
}

interface Visit {
  readonly node: SchemaNode;
  /** e.g. `data.lines[].unitPrice` */
  readonly at: string;
  readonly field: FieldNode | undefined;
}

function walk(node: SchemaNode, at: string, field: FieldNode | undefined, visit: (v: Visit) => void): void {
  visit({ node, at, field });
  switch (node.kind) {
    case 'record':
      for (const child of node.fields)
        walk(child.type, at === '' ? child.name : `${at}.${child.name}`, child, visit);
      return;
    case 'array':
      walk(node.items, `${at}[]`, undefined, visit);
      return;
    case 'map':
      walk(node.values, `${at}{}`, undefined, visit);
      return;
    case 'union':
      for (const branch of node.branches) walk(branch, at, undefined, visit);
      return;
    case 'primitive':
    case 'enum':
    case 'fixed':
    case 'ref':
      return;
    default:
      assertNever(node);
  }
}

/**
 * The house rules, applied to the working tree (not to history):
 * - every named type, field and enum symbol is documented;
 * - namespaces follow the folder (`com.scmplatform.<vocabulary>`);
 * - an event record is exactly `{ metadata: EventMetadata, data: <Event>Data }`;
 * - unions are only `["null", T]`, so the TypeScript shape is `T | null` in every client;
 * - every enum has a default symbol, so adding a symbol later stays forward compatible (an old
 *   reader maps the unknown symbol to the default instead of failing);
 * - a vocabulary uses only its own shared types and `common`: SCM schemas cannot borrow order
 *   terms (the anti-corruption boundary, enforced at the schema level);
 * - event type names are unique across vocabularies (they are the `type` discriminant).
 */
export function lintSchemaSet(set: SchemaSet): Problem[] {
  const problems: Problem[] = [];
  const sharedByName = new Map(set.shared.map((shared) => [shared.fullName, shared]));

  const checkNode = (path: string, vocabulary: string, root: SchemaNode, rootLabel: string): void => {
    walk(root, '', undefined, ({ node, at, field }) => {
      const where = at === '' ? rootLabel : `${rootLabel} ${at}`;
      const report = (message: string): void => void problems.push({ path, message: `${where}: ${message}` });
      if (field !== undefined && (field.doc ?? '').trim() === '') report('field has no doc');
      switch (node.kind) {
        case 'record':
        case 'enum':
        case 'fixed': {
          if ((node.doc ?? '').trim() === '') report(`${node.fullName} has no doc`);
          if (namespaceOf(node.fullName) !== vocabularyNamespace(vocabulary)) {
            report(`${node.fullName} must be in namespace ${vocabularyNamespace(vocabulary)}`);
          }
          if (sharedByName.has(node.fullName) && root !== sharedByName.get(node.fullName)?.node) {
            report(
              `${node.fullName} is a shared type (${sharedByName.get(node.fullName)?.path}): reference it, do not redefine it`,
            );
          }
          if (node.kind === 'enum') {
            if (node.default === undefined) report(`enum ${node.fullName} needs a "default" symbol`);
            for (const symbol of node.symbols) {
              if ((node.symbolDocs[symbol] ?? '').trim() === '')
                report(`enum symbol ${symbol} has no entry in "symbolDocs"`);
            }
            for (const symbol of Object.keys(node.symbolDocs)) {
              if (!node.symbols.includes(symbol))
                report(`"symbolDocs" documents ${symbol}, which is not a symbol`);
            }
          }
          return;
        }
        case 'union': {
          const [first, second, ...rest] = node.branches;
          const nullFirst = first?.kind === 'primitive' && first.type === 'null';
          const valueSecond =
            second !== undefined && !(second.kind === 'primitive' && second.type === 'null');
          if (!nullFirst || !valueSecond || rest.length > 0)
            report('unions must be exactly ["null", <type>]');
          return;
        }
        case 'ref': {
          const target = sharedByName.get(node.fullName);
          if (
            target !== undefined &&
            target.vocabulary !== vocabulary &&
            target.vocabulary !== commonVocabulary
          ) {
            report(
              `uses ${node.fullName} from vocabulary "${target.vocabulary}"; only "${vocabulary}" and "${commonVocabulary}" types are allowed here`,
            );
          }
          return;
        }
        case 'primitive':
        case 'array':
        case 'map':
          return;
        default:
          assertNever(node);
      }
    });
  };

  for (const shared of set.shared) checkNode(shared.path, shared.vocabulary, shared.node, shared.fullName);

  const vocabularyOfType = new Map<string, string>();
  for (const event of set.events) {
    const label = `${event.type} v${event.version}`;
    if (event.vocabulary === commonVocabulary) {
      problems.push({
        path: event.path,
        message: `"${commonVocabulary}" holds shared types only, not events`,
      });
    }
    const seen = vocabularyOfType.get(event.type);
    if (seen !== undefined && seen !== event.vocabulary) {
      problems.push({
        path: event.path,
        message: `event type ${event.type} also exists in vocabulary "${seen}"`,
      });
    }
    vocabularyOfType.set(event.type, event.vocabulary);
    checkNode(event.path, event.vocabulary, event.own, label);

    const [metadata, data, ...extra] = event.own.fields;
    const envelopeOk =
      metadata?.name === 'metadata' &&
      metadata.type.kind === 'ref' &&
      metadata.type.fullName === envelopeFullName;
    const dataName = `${vocabularyNamespace(event.vocabulary)}.${event.type}Data`;
    const dataOk = data?.name === 'data' && data.type.kind === 'record' && data.type.fullName === dataName;
    if (!envelopeOk || !dataOk || extra.length > 0) {
      problems.push({
        path: event.path,
        message: `${label}: fields must be exactly [metadata: ${envelopeFullName}, data: record ${dataName}]`,
      });
    }
  }
  return problems.sort(byPath);
}

/** Reads every file under `<root>/schemas` (I/O; the rest of this module is pure). */
export function readSchemaFiles(root: string): SchemaFile[] {
  const files: SchemaFile[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) visit(full);
      else files.push({ path: relative(root, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  visit(join(root, schemasDir));
  return files;
}

import { checkFullTransitive, readProblem, runGate, type Snapshot } from './compatibility';
import { loadSchemaSet, type SchemaFile, type SchemaSet } from './loader';
import type { JsonObject, JsonValue } from './schema-model';

// Inline schemas only: these tests prove the rules, not the current contents of schemas/.

const record = (fields: readonly JsonValue[]): JsonObject => ({
  type: 'record',
  name: 'Thing',
  namespace: 'test',
  fields,
});
const id = { name: 'id', type: 'string' };
const count = { name: 'count', type: 'int' };
const note = { name: 'note', type: ['null', 'string'], default: null };

describe('readProblem (one direction: can `reader` read what `writer` wrote?)', () => {
  it('accepts a new field with a default, both ways', () => {
    const v1 = record([id, count]);
    const v2 = record([id, count, note]);
    expect(readProblem(v2, v1)).toBeUndefined();
    expect(readProblem(v1, v2)).toBeUndefined();
  });

  it('refuses a removed field without default: an old reader cannot read the new data', () => {
    const v1 = record([id, count]);
    const v2 = record([id]);
    expect(readProblem(v2, v1)).toBeUndefined();
    expect(readProblem(v1, v2)).toMatch(/no matching field for default-less test\.Thing\.count/);
  });

  it('refuses a new field without default: a new reader cannot read the old data', () => {
    expect(readProblem(record([id, count]), record([id]))).toMatch(/default-less test\.Thing\.count/);
  });

  it('refuses a changed type both ways, and a widening (int -> long) forward', () => {
    const asString = record([id, { name: 'count', type: 'string' }]);
    expect(readProblem(asString, record([id, count]))).toMatch(/cannot read "int" as "string"/);
    expect(readProblem(record([id, count]), asString)).toMatch(/cannot read "string" as "int"/);

    const asLong = record([id, { name: 'count', type: 'long' }]);
    expect(readProblem(asLong, record([id, count]))).toBeUndefined();
    expect(readProblem(record([id, count]), asLong)).toMatch(/cannot read "long" as "int"/);
  });

  it('accepts a renamed field when the new name carries the old one as alias (new reader, old data)', () => {
    const renamed = record([{ name: 'key', type: 'string', aliases: ['id'] }, count]);
    expect(readProblem(renamed, record([id, count]))).toBeUndefined();
  });

  it('accepts a new enum symbol only when old readers have an enum default to fall back on', () => {
    const status = (symbols: readonly string[], withDefault: boolean): JsonObject =>
      record([
        {
          name: 'status',
          type: { type: 'enum', name: 'Status', symbols, ...(withDefault ? { default: 'UNKNOWN' } : {}) },
        },
      ]);
    expect(readProblem(status(['UNKNOWN', 'A'], true), status(['UNKNOWN', 'A', 'B'], true))).toBeUndefined();
    expect(readProblem(status(['UNKNOWN', 'A'], false), status(['UNKNOWN', 'A', 'B'], false))).toBeDefined();
  });

  it('refuses a changed logical type that Avro resolution alone would let through', () => {
    const amount = (scale: number): JsonObject =>
      record([{ name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 15, scale } }]);
    expect(readProblem(amount(0), amount(2))).toBe('amount: written as decimal(15,2), read as decimal(15,0)');

    const at = (type: JsonValue): JsonObject => record([{ name: 'at', type }]);
    expect(readProblem(at('long'), at({ type: 'long', logicalType: 'timestamp-millis' }))).toBe(
      'at: written as timestamp-millis, read as plain long',
    );
    expect(
      readProblem(
        at({ type: 'long', logicalType: 'timestamp-millis' }),
        at({ type: 'long', logicalType: 'timestamp-millis' }),
      ),
    ).toBeUndefined();
  });
});

describe('checkFullTransitive', () => {
  const label = (version: number, schema: JsonObject): { label: string; schema: JsonObject } => ({
    label: `Thing v${version}`,
    schema,
  });

  it('accepts a history of compatible versions', () => {
    expect(
      checkFullTransitive([
        label(1, record([id])),
        label(2, record([id, note])),
        label(3, record([id, note, count].map((f) => (f === count ? { ...count, default: 0 } : f)))),
      ]),
    ).toEqual([]);
  });

  it('refuses a version compatible with its predecessor but not with an older one', () => {
    // v2 gives `count` a default, so v3 may drop it as far as v2 is concerned; v1 readers, which
    // have no default for `count`, could not read v3's data.
    const v1 = record([id, count]);
    const v2 = record([id, { ...count, default: 0 }]);
    const v3 = record([id]);
    expect(checkFullTransitive([label(1, v1), label(2, v2)])).toEqual([]);
    expect(checkFullTransitive([label(2, v2), label(3, v3)])).toEqual([]);

    const problems = checkFullTransitive([label(1, v1), label(2, v2), label(3, v3)]);
    expect(problems).toEqual([
      {
        reader: 'Thing v1',
        writer: 'Thing v3',
        reason: 'no matching field for default-less test.Thing.count',
      },
    ]);
  });
});

// A miniature repository: the envelope, one shared type and one event, written like schemas/.
const envelope: SchemaFile = {
  path: 'schemas/common/EventMetadata.avsc',
  text: JSON.stringify({
    type: 'record',
    name: 'EventMetadata',
    namespace: 'com.scmplatform.common',
    doc: 'Envelope.',
    fields: [{ name: 'eventId', doc: 'Id.', type: 'string' }],
  }),
};
const parcel = (extraFields: readonly JsonValue[] = []): SchemaFile => ({
  path: 'schemas/scm/Parcel.avsc',
  text: JSON.stringify({
    type: 'record',
    name: 'Parcel',
    namespace: 'com.scmplatform.scm',
    doc: 'A parcel.',
    fields: [{ name: 'weight', doc: 'Grams.', type: 'int' }, ...extraFields],
  }),
});
const shipped = (version: number, dataFields: readonly JsonValue[], doc = 'Shipped.'): SchemaFile => ({
  path: `schemas/scm/Shipped.v${version}.avsc`,
  text: JSON.stringify({
    type: 'record',
    name: 'Shipped',
    namespace: 'com.scmplatform.scm',
    doc,
    fields: [
      { name: 'metadata', doc: 'Envelope.', type: 'com.scmplatform.common.EventMetadata' },
      {
        name: 'data',
        doc: 'Data.',
        type: { type: 'record', name: 'ShippedData', doc: 'Data.', fields: dataFields },
      },
    ],
  }),
});
const shipmentId = { name: 'shipmentId', doc: 'Id.', type: 'string' };
const parcelField = { name: 'parcel', doc: 'The parcel.', type: 'Parcel' };

function load(files: readonly SchemaFile[]): SchemaSet {
  const { set, problems } = loadSchemaSet(files);
  expect(problems).toEqual([]);
  return set;
}

const committed = (files: readonly SchemaFile[]): Snapshot => ({ ref: 'main', set: load(files) });
const errors = (findings: ReturnType<typeof runGate>): string[] =>
  findings
    .filter((finding) => finding.severity === 'error')
    .map((finding) => `${finding.path}: ${finding.message}`);

describe('runGate against the committed state', () => {
  const base = committed([envelope, parcel(), shipped(1, [shipmentId, parcelField])]);

  it('passes an unchanged tree and a new compatible version', () => {
    const head = load([
      envelope,
      parcel(),
      shipped(1, [shipmentId, parcelField]),
      shipped(2, [shipmentId, parcelField, note]),
    ]);
    expect(errors(runGate({ head, base, history: [base] }))).toEqual([]);
  });

  it('refuses a committed version edited in place, even compatibly', () => {
    const head = load([envelope, parcel(), shipped(1, [shipmentId, parcelField, note])]);
    expect(errors(runGate({ head, base, history: [base] }))).toEqual([
      'schemas/scm/Shipped.v1.avsc: edited in place, but committed at main: committed versions are immutable; put the change in Shipped.v2.avsc',
    ]);
  });

  it('refuses a deleted committed version', () => {
    const head = load([envelope, parcel()]);
    expect(errors(runGate({ head, base, history: [base] }))).toEqual([
      'schemas/scm/Shipped.v1.avsc: deleted, but committed at main: committed versions stay (consumers may still meet data written with them)',
    ]);
  });

  it('lets documentation change, with a note', () => {
    const head = load([envelope, parcel(), shipped(1, [shipmentId, parcelField], 'Better words.')]);
    const findings = runGate({ head, base, history: [base] });
    expect(errors(findings)).toEqual([]);
    expect(findings).toContainEqual({
      severity: 'note',
      path: 'schemas/scm/Shipped.v1.avsc',
      message: 'documentation changed',
    });
  });

  it('lets a shared type evolve compatibly, and refuses an incompatible shared-type change', () => {
    const compatible = load([envelope, parcel([note]), shipped(1, [shipmentId, parcelField])]);
    expect(errors(runGate({ head: compatible, base, history: [base] }))).toEqual([]);

    const breaking = load([
      envelope,
      parcel([{ name: 'fragile', doc: 'Handle with care.', type: 'boolean' }]),
      shipped(1, [shipmentId, parcelField]),
    ]);
    expect(errors(runGate({ head: breaking, base, history: [base] }))).toEqual([
      'schemas/scm/Shipped.v1.avsc: Shipped v1 (schemas/scm/Shipped.v1.avsc) cannot read data written by Shipped v1 as committed at main: no matching field for default-less com.scmplatform.scm.Parcel.fragile',
    ]);
  });

  it('checks a new version against forms that exist only in history', () => {
    // The parcel gained `note` in an earlier commit and lost it again; data written in between
    // may still be on a topic, so a new version must read it too.
    const older = {
      ref: 'aaaaaaaa',
      set: load([
        envelope,
        parcel([{ name: 'label', doc: 'Label.', type: 'string' }]),
        shipped(1, [shipmentId, parcelField]),
      ]),
    };
    const head = load([envelope, parcel(), shipped(1, [shipmentId, parcelField])]);
    const found = errors(runGate({ head, base: undefined, history: [older] }));
    expect(found).toEqual([
      'schemas/scm/Shipped.v1.avsc: Shipped v1 as committed at aaaaaaaa cannot read data written by Shipped v1 (schemas/scm/Shipped.v1.avsc): no matching field for default-less com.scmplatform.scm.Parcel.label',
    ]);
  });
});

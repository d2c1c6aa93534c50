import { CodegenError, emitTypeScript } from './emit-types';
import { loadSchemaSet, type SchemaFile } from './loader';
import type { JsonValue } from './schema-model';

const file = (path: string, json: JsonValue): SchemaFile => ({ path, text: JSON.stringify(json) });
const envelope = file('schemas/common/EventMetadata.avsc', {
  type: 'record',
  name: 'EventMetadata',
  namespace: 'com.scmplatform.common',
  doc: 'Envelope.',
  fields: [{ name: 'eventId', doc: 'Id.', type: 'string' }],
});
const line = (fields: readonly JsonValue[]): JsonValue => ({
  type: 'record',
  name: 'Line',
  doc: 'A line.',
  fields,
});
const event = (name: string, version: number, dataFields: readonly JsonValue[]): SchemaFile =>
  file(`schemas/scm/${name}.v${version}.avsc`, {
    type: 'record',
    name,
    namespace: 'com.scmplatform.scm',
    doc: `${name}.`,
    fields: [
      { name: 'metadata', doc: 'Envelope.', type: 'com.scmplatform.common.EventMetadata' },
      {
        name: 'data',
        doc: 'Data.',
        type: { type: 'record', name: `${name}Data`, doc: 'Data.', fields: dataFields },
      },
    ],
  });
const sku = { name: 'sku', doc: 'SKU.', type: 'string' };
const note = { name: 'note', doc: 'Note.', type: ['null', 'string'], default: null };
const lines = (items: JsonValue): JsonValue => ({
  name: 'lines',
  doc: 'Lines.',
  type: { type: 'array', items },
});

function emit(files: readonly SchemaFile[]): Map<string, string> {
  const { set, problems } = loadSchemaSet([envelope, ...files]);
  expect(problems).toEqual([]);
  return emitTypeScript(set);
}

describe('emitTypeScript', () => {
  it('gives each version its event and data types, and the versions a discriminated union', () => {
    const scm =
      emit([event('Picked', 1, [sku]), event('Picked', 2, [sku, note])]).get('contracts/generated/scm.ts') ??
      '';
    expect(scm).toContain("export interface PickedV1 {\n  readonly type: 'Picked';");
    expect(scm).toContain('  readonly version: 2;');
    expect(scm).toContain('  readonly note: string | null;');
    expect(scm).toContain('export type Picked = PickedV1 | PickedV2;');
    expect(scm).toContain('export type LatestScmEvent = PickedV2;');
  });

  it('keeps the plain name for the latest form of a nested type that changed between versions', () => {
    const scm =
      emit([event('Packed', 1, [lines(line([sku]))]), event('Packed', 2, [lines(line([sku, note]))])]).get(
        'contracts/generated/scm.ts',
      ) ?? '';
    expect(scm).toContain('export interface Line {');
    expect(scm).toContain('export interface LineV1 {');
    expect(scm).toMatch(/interface PackedV1Data \{[^}]*readonly lines: readonly LineV1\[\];/);
    expect(scm).toMatch(/interface PackedV2Data \{[^}]*readonly lines: readonly Line\[\];/);
  });

  it('refuses one record name defined differently by two events', () => {
    expect(() =>
      emit([event('Packed', 1, [lines(line([sku]))]), event('Picked', 1, [lines(line([sku, note]))])]),
    ).toThrow(CodegenError);
  });

  it('maps logical types to the TypeScript the serde produces', () => {
    const scm =
      emit([
        event('Billed', 1, [
          { name: 'at', doc: 'When.', type: { type: 'long', logicalType: 'timestamp-millis' } },
          {
            name: 'amount',
            doc: 'How much.',
            type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 },
          },
        ]),
      ]).get('contracts/generated/scm.ts') ?? '';
    expect(scm).toContain('  readonly at: Date;');
    expect(scm).toContain('  readonly amount: string;');
    expect(scm).toContain('Avro `decimal(9,2)`, as a decimal string with 2 decimals, e.g. "12500.00".');
  });
});

import { lintSchemaSet, loadSchemaSet, type SchemaFile } from './loader';
import { printSchema, type JsonValue } from './schema-model';

const file = (path: string, json: JsonValue): SchemaFile => ({ path, text: JSON.stringify(json) });

const envelope = file('schemas/common/EventMetadata.avsc', {
  type: 'record',
  name: 'EventMetadata',
  namespace: 'com.scmplatform.common',
  doc: 'Envelope.',
  fields: [{ name: 'eventId', doc: 'Id.', type: 'string' }],
});
const money = file('schemas/common/Money.avsc', {
  type: 'record',
  name: 'Money',
  namespace: 'com.scmplatform.common',
  doc: 'Money.',
  fields: [
    {
      name: 'amount',
      doc: 'Amount.',
      type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 },
    },
  ],
});

function event(
  path: string,
  name: string,
  dataFields: readonly JsonValue[],
  namespace = 'com.scmplatform.order',
): SchemaFile {
  return file(path, {
    type: 'record',
    name,
    namespace,
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
}

const paid = event('schemas/order/Paid.v1.avsc', 'Paid', [
  { name: 'total', doc: 'Total.', type: 'com.scmplatform.common.Money' },
  { name: 'tip', doc: 'Tip.', type: 'com.scmplatform.common.Money' },
]);

describe('loadSchemaSet', () => {
  it('inlines a shared type at its first use and refers to it by name afterwards', () => {
    const { set, problems } = loadSchemaSet([envelope, money, paid]);
    expect(problems).toEqual([]);
    const [loaded] = set.events;
    const json = JSON.stringify(
      printSchema(loaded?.resolved ?? { kind: 'ref', fullName: 'missing' }, { docs: false }),
    );
    expect(json).toContain('"name":"metadata","type":{"type":"record","name":"EventMetadata"');
    expect(json).toContain(
      '"name":"total","type":{"type":"record","name":"Money","namespace":"com.scmplatform.common"',
    );
    expect(json).toContain('"name":"tip","type":"com.scmplatform.common.Money"');
    expect(loaded).toMatchObject({
      type: 'Paid',
      version: 1,
      vocabulary: 'order',
      fullName: 'com.scmplatform.order.Paid',
    });
  });

  it('reports an unknown type, an unknown attribute, a bad default and a version gap', () => {
    const { problems } = loadSchemaSet([
      envelope,
      event('schemas/order/Lost.v1.avsc', 'Lost', [
        { name: 'x', doc: 'X.', type: 'com.scmplatform.common.Nowhere' },
      ]),
      event('schemas/order/Typo.v1.avsc', 'Typo', [
        { name: 'x', doc: 'X.', type: ['null', 'string'], defualt: null },
      ]),
      event('schemas/order/Bad.v1.avsc', 'Bad', [
        { name: 'x', doc: 'X.', type: ['null', 'string'], default: 'text' },
      ]),
      event('schemas/order/Gap.v2.avsc', 'Gap', [{ name: 'x', doc: 'X.', type: 'string' }]),
    ]);
    const messages = problems.map((problem) => `${problem.path}: ${problem.message}`);
    expect(messages).toEqual([
      expect.stringContaining('schemas/order/Bad.v1.avsc: incompatible field default "text"'),
      'schemas/order/Gap.v2.avsc: Gap has no v1: versions must be 1..N without gaps',
      'schemas/order/Lost.v1.avsc: unknown type com.scmplatform.common.Nowhere',
      'schemas/order/Typo.v1.avsc: fields[1].data.fields[0]: unsupported attribute "defualt" (allowed: name, doc, type, default, aliases)',
    ]);
  });

  it('refuses Korean enum symbols and unsupported logical types', () => {
    const { problems } = loadSchemaSet([
      envelope,
      event('schemas/order/Status.v1.avsc', 'Status', [
        {
          name: 's',
          doc: 'S.',
          type: { type: 'enum', name: 'S', symbols: ['주문접수'], default: '주문접수' },
        },
      ]),
      event('schemas/order/Dated.v1.avsc', 'Dated', [
        { name: 'd', doc: 'D.', type: { type: 'int', logicalType: 'date' } },
      ]),
    ]);
    expect(problems.map((problem) => problem.message)).toEqual([
      expect.stringContaining('logical type "date" is not supported'),
      expect.stringContaining('enum symbol "주문접수" must be an ASCII identifier'),
    ]);
  });

  it('refuses a file name that does not follow the layout', () => {
    const { problems } = loadSchemaSet([file('schemas/order/paid-v1.avsc', {})]);
    expect(problems).toEqual([
      {
        path: 'schemas/order/paid-v1.avsc',
        message: expect.stringContaining('expected schemas/<vocabulary>'),
      },
    ]);
  });
});

describe('lintSchemaSet', () => {
  const lint = (files: readonly SchemaFile[]): string[] => {
    const { set, problems } = loadSchemaSet(files);
    expect(problems).toEqual([]);
    return lintSchemaSet(set).map((problem) => problem.message);
  };

  it('accepts a well-formed set', () => {
    expect(lint([envelope, money, paid])).toEqual([]);
  });

  it('requires docs, enum defaults with documented symbols, and ["null", T] unions', () => {
    expect(
      lint([
        envelope,
        event('schemas/order/Loose.v1.avsc', 'Loose', [
          { name: 'undocumented', type: 'string' },
          {
            name: 'channel',
            doc: 'C.',
            type: { type: 'enum', name: 'Channel', doc: 'C.', symbols: ['APP'] },
          },
          { name: 'either', doc: 'E.', type: ['string', 'int'] },
        ]),
      ]),
    ).toEqual([
      'Loose v1 data.undocumented: field has no doc',
      'Loose v1 data.channel: enum com.scmplatform.order.Channel needs a "default" symbol',
      'Loose v1 data.channel: enum symbol APP has no entry in "symbolDocs"',
      'Loose v1 data.either: unions must be exactly ["null", <type>]',
    ]);
  });

  it('keeps SCM schemas from using order types (the anti-corruption boundary)', () => {
    const address = file('schemas/order/Address.avsc', {
      type: 'record',
      name: 'Address',
      namespace: 'com.scmplatform.order',
      doc: 'Address.',
      fields: [{ name: 'line', doc: 'Line.', type: 'string' }],
    });
    const leaky = event(
      'schemas/scm/Shipped.v1.avsc',
      'Shipped',
      [{ name: 'to', doc: 'To.', type: 'com.scmplatform.order.Address' }],
      'com.scmplatform.scm',
    );
    expect(lint([envelope, address, leaky])).toEqual([
      'Shipped v1 data.to: uses com.scmplatform.order.Address from vocabulary "order"; only "scm" and "common" types are allowed here',
    ]);
  });

  it('requires the event shape { metadata: EventMetadata, data: <Event>Data } in the folder namespace', () => {
    const wrongNamespace = event('schemas/order/Moved.v1.avsc', 'Moved', [], 'com.scmplatform.scm');
    const flat = file('schemas/order/Flat.v1.avsc', {
      type: 'record',
      name: 'Flat',
      namespace: 'com.scmplatform.order',
      doc: 'Flat.',
      fields: [{ name: 'orderId', doc: 'Id.', type: 'string' }],
    });
    expect(lint([envelope, wrongNamespace, flat])).toEqual([
      'Flat v1: fields must be exactly [metadata: com.scmplatform.common.EventMetadata, data: record com.scmplatform.order.FlatData]',
      'Moved v1: com.scmplatform.scm.Moved must be in namespace com.scmplatform.order',
      'Moved v1 data: com.scmplatform.scm.MovedData must be in namespace com.scmplatform.order',
      'Moved v1: fields must be exactly [metadata: com.scmplatform.common.EventMetadata, data: record com.scmplatform.order.MovedData]',
    ]);
  });
});

import { avroType } from './avro-type';
import { eventSchemas, type OrderPlacedV1, type OrderPlacedV2, type EventMetadata } from './generated';
import {
  avroLogicalTypes,
  bigintToTwosComplement,
  formatDecimal,
  parseDecimal,
  twosComplementToBigint,
} from './logical-types';
import type { JsonValue } from './schema-model';

const withLogicalTypes = { logicalTypes: avroLogicalTypes };

describe('decimal', () => {
  it('encodes unscaled values as the shortest two’s complement, like Java’s BigInteger.toByteArray', () => {
    expect(bigintToTwosComplement(0n).toString('hex')).toBe('00');
    expect(bigintToTwosComplement(127n).toString('hex')).toBe('7f');
    expect(bigintToTwosComplement(128n).toString('hex')).toBe('0080');
    expect(bigintToTwosComplement(-1n).toString('hex')).toBe('ff');
    expect(bigintToTwosComplement(-128n).toString('hex')).toBe('80');
    expect(bigintToTwosComplement(-129n).toString('hex')).toBe('ff7f');
    for (const value of [0n, 1n, -1n, 1250000n, -1250000n, 999999999999999n]) {
      expect(twosComplementToBigint(bigintToTwosComplement(value))).toBe(value);
    }
  });

  it('parses and prints plain decimal strings at the schema’s scale', () => {
    expect(parseDecimal('12500', 2)).toBe(1250000n);
    expect(parseDecimal('12500.5', 2)).toBe(1250050n);
    expect(parseDecimal('-0.01', 2)).toBe(-1n);
    expect(parseDecimal('1.005', 2)).toBeUndefined();
    expect(parseDecimal('1e3', 2)).toBeUndefined();
    expect(formatDecimal(1250000n, 2)).toBe('12500.00');
    expect(formatDecimal(-1n, 2)).toBe('-0.01');
    expect(formatDecimal(7n, 0)).toBe('7');
  });

  const money = avroType({ type: 'bytes', logicalType: 'decimal', precision: 5, scale: 2 }, withLogicalTypes);

  it('round-trips through Avro bytes and normalises to the scale', () => {
    expect(money.fromBuffer(money.toBuffer('123.4'))).toBe('123.40');
    expect(money.fromBuffer(money.toBuffer('-0.05'))).toBe('-0.05');
  });

  it('refuses to round money or to exceed the precision', () => {
    expect(money.isValid('1.234')).toBe(false);
    expect(money.isValid('1000.00')).toBe(false); // 6 digits > precision 5
    expect(money.isValid(12.5)).toBe(false);
    expect(() => money.toBuffer('1.234')).toThrow();
  });

  it('refuses to resolve a different scale', () => {
    const otherScale = avroType(
      { type: 'bytes', logicalType: 'decimal', precision: 5, scale: 0 },
      withLogicalTypes,
    );
    expect(() => money.createResolver(otherScale)).toThrow();
  });
});

describe('timestamp-millis', () => {
  const at = avroType({ type: 'long', logicalType: 'timestamp-millis' }, withLogicalTypes);

  it('round-trips a Date', () => {
    const when = new Date('2025-01-02T03:04:05.678Z');
    expect(at.fromBuffer(at.toBuffer(when))).toEqual(when);
  });

  it('refuses numbers and invalid dates', () => {
    expect(at.isValid(Date.now())).toBe(false);
    expect(at.isValid(new Date('not a date'))).toBe(false);
  });
});

describe('uuid', () => {
  const id = avroType({ type: 'string', logicalType: 'uuid' }, withLogicalTypes);
  const optional = avroType(['null', { type: 'string', logicalType: 'uuid' }], withLogicalTypes);
  const uuid = '6f1c2a9e-8a34-4c61-9d55-0c2b8f3f4a10';

  it('writes only the RFC 4122 text form, as strict readers (fastavro, Java) parse it', () => {
    expect(id.fromBuffer(id.toBuffer(uuid))).toBe(uuid);
    expect(id.isValid(uuid.toUpperCase())).toBe(true);
    for (const bad of ['place:order-key-1', 'auto:deliver:ORD-20261201-ABC', '', uuid.replace(/-/g, '')])
      expect(id.isValid(bad)).toBe(false);
    expect(() => id.toBuffer('place:order-key-1')).toThrow();
  });

  it('holds in an optional field too (the envelope’s causationId)', () => {
    expect(optional.fromBuffer(optional.toBuffer(null))).toBeNull();
    expect(optional.fromBuffer(optional.toBuffer(uuid))).toBe(uuid);
    expect(() => optional.toBuffer('auto:pick:ORD-20261201-ABC')).toThrow();
  });

  it('still reads what an older writer left in the field, and a plain string', () => {
    const plain = avroType('string');
    expect(id.fromBuffer(plain.toBuffer('legacy-id'), id.createResolver(plain))).toBe('legacy-id');
  });
});

describe('generated types match what avsc decodes (OrderPlaced v1 <-> v2)', () => {
  const schemaOf = (version: number): JsonValue => {
    const found = eventSchemas.find((entry) => entry.type === 'OrderPlaced' && entry.version === version);
    if (found === undefined) throw new Error(`OrderPlaced v${version} is not generated`);
    return found.schema;
  };
  const v1 = avroType(schemaOf(1), withLogicalTypes);
  const v2 = avroType(schemaOf(2), withLogicalTypes);

  const metadata = (schemaVersion: number): EventMetadata => ({
    eventId: '6f1c2a9e-8a34-4c61-9d55-0c2b8f3f4a10',
    eventType: 'OrderPlaced',
    occurredAt: new Date('2025-03-01T09:30:00.000Z'),
    correlationId: 'ORD-20250301-000042',
    causationId: null,
    producer: 'order',
    schemaVersion,
  });
  const v1Data: OrderPlacedV1['data'] = {
    orderId: 'ORD-20250301-000042',
    customerId: 'C-1001',
    lines: [
      {
        productCode: 'PRD-BIBIMBAP',
        productName: '돌솥비빔밥',
        quantity: 2,
        unitPrice: { amount: '9500.00', currency: 'KRW' },
      },
    ],
    totalAmount: { amount: '19000.00', currency: 'KRW' },
    deliveryAddress: {
      recipientName: '김민수',
      phone: '010-1234-5678',
      postalCode: '06234',
      roadAddress: '서울특별시 강남구 테헤란로 123',
      detailAddress: null,
    },
    deliverySlot: {
      startsAt: new Date('2025-03-01T11:00:00.000Z'),
      endsAt: new Date('2025-03-01T12:00:00.000Z'),
    },
  };

  it('reads v1 data as v2, filling the new fields with their defaults', () => {
    const written: OrderPlacedV1 = { type: 'OrderPlaced', version: 1, metadata: metadata(1), data: v1Data };
    const read: unknown = v2.fromBuffer(v1.toBuffer(written), v2.createResolver(v1));
    const expected: Pick<OrderPlacedV2, 'metadata' | 'data'> = {
      metadata: metadata(1),
      data: { ...v1Data, deliveryMemo: null, salesChannel: 'UNKNOWN' },
    };
    expect(read).toEqual(expected);
  });

  it('reads v2 data as v1, dropping the fields v1 does not know', () => {
    const written: OrderPlacedV2 = {
      type: 'OrderPlaced',
      version: 2,
      metadata: metadata(2),
      data: { ...v1Data, deliveryMemo: '문 앞에 놓아주세요', salesChannel: 'APP' },
    };
    const read: unknown = v1.fromBuffer(v2.toBuffer(written), v1.createResolver(v2));
    const expected: Pick<OrderPlacedV1, 'metadata' | 'data'> = { metadata: metadata(2), data: v1Data };
    expect(read).toEqual(expected);
  });
});

/**
 * How Avro logical types look in TypeScript. The generated types (contracts/generated/) promise
 * these representations, so every serde must build its avsc types with
 * `{ logicalTypes: avroLogicalTypes }` (and @kafkajs/confluent-schema-registry with
 * `{ [SchemaType.AVRO]: { logicalTypes: avroLogicalTypes } }`):
 *
 * - `timestamp-millis` (long)  -> `Date`;
 * - `decimal` (bytes)          -> `string` in plain decimal notation with exactly `scale` decimals
 *   ("12500.00"). Not `number`: money must stay exact, and a string survives JSON, MongoDB and
 *   logs unchanged. Writing accepts fewer decimals ("12500") but never more: rounding money is a
 *   business decision, not a serializer's;
 * - `uuid` (string)            -> `string` in the RFC 4122 text form
 *   (`8-4-4-4-12` hex digits). avsc alone ignores the logical type and writes any string; strict
 *   readers (fastavro, Java's `Conversions.UUIDConversion`) parse it and fail on anything else,
 *   so writing refuses a value that is not a UUID. Reading stays lenient (any string comes back
 *   as it is): records written before the rule must stay readable to our own consumers.
 */
import { Type, types, type ForSchemaOptions, type Schema } from 'avsc';
import { isJsonObject } from './schema-model';

function schemaAttribute(schema: Schema, name: string): unknown {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema) || Type.isType(schema)) {
    return undefined;
  }
  return Reflect.get(schema, name);
}

function integerAttribute(schema: Schema, name: string): number {
  const value = schemaAttribute(schema, name);
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new Error(`decimal: "${name}" must be an integer`);
  return value;
}

/** Two's-complement big-endian, the shortest that holds the value (Avro's decimal encoding). */
export function bigintToTwosComplement(value: bigint): Buffer {
  let bytes = 1;
  while (value < -(1n << BigInt(bytes * 8 - 1)) || value >= 1n << BigInt(bytes * 8 - 1)) bytes += 1;
  const unsigned = value < 0n ? (1n << BigInt(bytes * 8)) + value : value;
  return Buffer.from(unsigned.toString(16).padStart(bytes * 2, '0'), 'hex');
}

export function twosComplementToBigint(buffer: Buffer): bigint {
  if (buffer.length === 0) return 0n;
  const unsigned = BigInt(`0x${buffer.toString('hex')}`);
  const first = buffer[0] ?? 0;
  return first & 0x80 ? unsigned - (1n << BigInt(buffer.length * 8)) : unsigned;
}

const decimalPattern = /^(-?)(\d+)(?:\.(\d+))?$/;

/** "12500" with scale 2 -> 1250000n; undefined when not a decimal or when it has too many decimals. */
export function parseDecimal(text: string, scale: number): bigint | undefined {
  const match = decimalPattern.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = ''] = match;
  if (fraction.length > scale) return undefined;
  const unscaled = BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
  return sign === '-' ? -unscaled : unscaled;
}

export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
}

export class DecimalType extends types.LogicalType {
  readonly precision: number;
  readonly scale: number;

  constructor(schema: Schema, options?: Partial<ForSchemaOptions>) {
    super(schema, options);
    this.precision = integerAttribute(schema, 'precision');
    this.scale = integerAttribute(schema, 'scale');
  }

  protected override _fromValue(value: unknown): string {
    if (!Buffer.isBuffer(value)) throw new Error('decimal: expected bytes');
    return formatDecimal(twosComplementToBigint(value), this.scale);
  }

  /** Returning undefined marks the value invalid: avsc then refuses to encode it. */
  protected override _toValue(value: unknown): Buffer | undefined {
    if (typeof value !== 'string') return undefined;
    const unscaled = parseDecimal(value, this.scale);
    if (unscaled === undefined) return undefined;
    if ((unscaled < 0n ? -unscaled : unscaled).toString().length > this.precision) return undefined;
    return bigintToTwosComplement(unscaled);
  }

  /** Only the same precision and scale: reading 1.50 written at scale 2 as scale 0 would be a different amount. */
  protected override _resolve(writer: Type): ((value: unknown) => unknown) | undefined {
    if (writer instanceof DecimalType) {
      return writer.precision <= this.precision && writer.scale === this.scale ? (value) => value : undefined;
    }
    return undefined;
  }

  protected override _export(attributes: Schema): void {
    if (isJsonObject(attributes)) Object.assign(attributes, { precision: this.precision, scale: this.scale });
  }
}

export class TimestampMillisType extends types.LogicalType {
  protected override _fromValue(value: unknown): Date {
    if (typeof value !== 'number') throw new Error('timestamp-millis: expected a long');
    return new Date(value);
  }

  protected override _toValue(value: unknown): number | undefined {
    if (!(value instanceof Date)) return undefined;
    const millis = value.getTime();
    return Number.isNaN(millis) ? undefined : millis;
  }

  protected override _resolve(writer: Type): ((value: unknown) => unknown) | undefined {
    if (writer instanceof TimestampMillisType) return (value) => value;
    // A plain long written by a client that does not know the logical type still holds millis.
    if (Type.isType(writer, 'long')) return (value) => this._fromValue(value);
    return undefined;
  }
}

/** The text form every UUID implementation reads (case-insensitive, as Java and Python parse it). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class UuidType extends types.LogicalType {
  protected override _fromValue(value: unknown): string {
    if (typeof value !== 'string') throw new Error('uuid: expected a string');
    return value;
  }

  /** Returning undefined marks the value invalid: avsc then refuses to encode it. */
  protected override _toValue(value: unknown): string | undefined {
    return typeof value === 'string' && uuidPattern.test(value) ? value : undefined;
  }

  protected override _resolve(writer: Type): ((value: unknown) => unknown) | undefined {
    // A plain string written by a client that does not know the logical type reads the same.
    if (writer instanceof UuidType || Type.isType(writer, 'string')) return (value) => value;
    return undefined;
  }
}

export const avroLogicalTypes = {
  decimal: DecimalType,
  'timestamp-millis': TimestampMillisType,
  uuid: UuidType,
} satisfies ForSchemaOptions['logicalTypes'];

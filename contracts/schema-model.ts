/**
 * A typed model of the Avro schemas in `schemas/`: a strict parser from JSON, and a printer back
 * to JSON. Everything else in contracts/ (loader, code and doc generation, compatibility gate)
 * works on this model rather than on raw JSON, so that no code needs casts or `any` to look
 * inside a schema.
 *
 * The parser accepts only the subset of Avro this platform uses, and rejects unknown attributes:
 * a typo such as `"defualt"` would otherwise be silently ignored by every Avro library and ship a
 * field without a default.
 */

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export const primitiveNames = [
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
] as const;
export type PrimitiveName = (typeof primitiveNames)[number];

/**
 * The logical types the platform maps to TypeScript (see contracts/logical-types.ts). Any other
 * logical type is refused: avsc would silently treat it as its underlying type, and the
 * generated TypeScript would then disagree with what other-language clients see.
 */
export type LogicalType =
  | { readonly name: 'timestamp-millis' }
  | { readonly name: 'uuid' }
  | { readonly name: 'decimal'; readonly precision: number; readonly scale: number };

export interface PrimitiveNode {
  readonly kind: 'primitive';
  readonly type: PrimitiveName;
  readonly logical: LogicalType | undefined;
}

export interface FieldNode {
  readonly name: string;
  readonly doc: string | undefined;
  readonly type: SchemaNode;
  /** `undefined` means "no default"; JSON `null` is a real default (of a nullable field). */
  readonly default: JsonValue | undefined;
  readonly aliases: readonly string[];
}

export interface RecordNode {
  readonly kind: 'record';
  readonly fullName: string;
  readonly doc: string | undefined;
  readonly aliases: readonly string[];
  readonly fields: readonly FieldNode[];
}

export interface EnumNode {
  readonly kind: 'enum';
  readonly fullName: string;
  readonly doc: string | undefined;
  readonly aliases: readonly string[];
  readonly symbols: readonly string[];
  readonly default: string | undefined;
  /**
   * Per-symbol documentation. Not part of the Avro specification, which allows extra attributes
   * as metadata (registries keep them): Avro has no per-symbol `doc`, and the symbols must be
   * ASCII while the people-facing labels (주문접수, 조리중...) are Korean.
   */
  readonly symbolDocs: Readonly<Record<string, string>>;
}

export interface FixedNode {
  readonly kind: 'fixed';
  readonly fullName: string;
  readonly doc: string | undefined;
  readonly aliases: readonly string[];
  readonly size: number;
}

export interface ArrayNode {
  readonly kind: 'array';
  readonly items: SchemaNode;
}

export interface MapNode {
  readonly kind: 'map';
  readonly values: SchemaNode;
}

export interface UnionNode {
  readonly kind: 'union';
  readonly branches: readonly SchemaNode[];
}

/** A use of a named type defined elsewhere (earlier in the same schema, or in a shared file). */
export interface RefNode {
  readonly kind: 'ref';
  readonly fullName: string;
}

export type NamedNode = RecordNode | EnumNode | FixedNode;
export type SchemaNode = PrimitiveNode | NamedNode | ArrayNode | MapNode | UnionNode | RefNode;

export class SchemaSyntaxError extends Error {
  constructor(
    /** The file, followed by where in it: `schemas/order/X.v1.avsc.fields[1].data`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'SchemaSyntaxError';
  }
}

/** The `never` check that ends every switch over a union: adding a kind breaks the build here. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Narrows the `any` of JSON.parse to the JSON model without a cast. */
export function toJsonValue(value: unknown): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a JSON number: ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toJsonValue(item);
    return out;
  }
  throw new Error(`not a JSON value: ${typeof value}`);
}

export function parseJson(text: string): JsonValue {
  const parsed: unknown = JSON.parse(text);
  return toJsonValue(parsed);
}

export function namespaceOf(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? '' : fullName.slice(0, dot);
}

export function simpleNameOf(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isPrimitiveName(value: string): value is PrimitiveName {
  return primitiveNames.some((name) => name === value);
}

const allowedKeys = {
  record: ['type', 'name', 'namespace', 'doc', 'aliases', 'fields'],
  field: ['name', 'doc', 'type', 'default', 'aliases'],
  enum: ['type', 'name', 'namespace', 'doc', 'aliases', 'symbols', 'default', 'symbolDocs'],
  fixed: ['type', 'name', 'namespace', 'doc', 'aliases', 'size'],
  array: ['type', 'items'],
  map: ['type', 'values'],
  primitive: ['type', 'logicalType', 'precision', 'scale'],
} as const;

function checkKeys(path: string, object: JsonObject, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new SchemaSyntaxError(path, `unsupported attribute "${key}" (allowed: ${allowed.join(', ')})`);
    }
  }
}

function optionalString(path: string, object: JsonObject, key: string): string | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new SchemaSyntaxError(path, `"${key}" must be a string`);
  return value;
}

function requiredString(path: string, object: JsonObject, key: string): string {
  const value = optionalString(path, object, key);
  if (value === undefined) throw new SchemaSyntaxError(path, `"${key}" is required`);
  return value;
}

function stringList(path: string, object: JsonObject, key: string): readonly string[] {
  const value = object[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new SchemaSyntaxError(path, `"${key}" must be an array of strings`);
  return value.map((item, index) => {
    if (typeof item !== 'string') throw new SchemaSyntaxError(`${path}.${key}[${index}]`, 'must be a string');
    return item;
  });
}

function integer(path: string, object: JsonObject, key: string): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new SchemaSyntaxError(path, `"${key}" must be an integer`);
  }
  return value;
}

/** Qualifies a name by the Avro rules: a dotted name is already full, otherwise the namespace applies. */
function qualify(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

function parseName(path: string, object: JsonObject, enclosingNamespace: string): string {
  const name = requiredString(path, object, 'name');
  const namespace = optionalString(path, object, 'namespace') ?? enclosingNamespace;
  const fullName = qualify(name, namespace);
  for (const part of fullName.split('.')) {
    if (!namePattern.test(part)) throw new SchemaSyntaxError(path, `invalid name "${fullName}"`);
  }
  return fullName;
}

function parseLogical(path: string, object: JsonObject, type: PrimitiveName): LogicalType | undefined {
  const logicalType = optionalString(path, object, 'logicalType');
  if (logicalType === undefined) {
    if (object.precision !== undefined || object.scale !== undefined) {
      throw new SchemaSyntaxError(path, '"precision"/"scale" only belong to a decimal');
    }
    return undefined;
  }
  const expect = (underlying: PrimitiveName): void => {
    if (type !== underlying)
      throw new SchemaSyntaxError(path, `${logicalType} must annotate "${underlying}"`);
  };
  switch (logicalType) {
    case 'timestamp-millis':
      expect('long');
      return { name: 'timestamp-millis' };
    case 'uuid':
      expect('string');
      return { name: 'uuid' };
    case 'decimal': {
      // Decimals on `fixed` are legal Avro, but one representation keeps the serde simple.
      expect('bytes');
      const precision = integer(path, object, 'precision');
      const scale = integer(path, object, 'scale');
      if (precision < 1 || scale < 0 || scale > precision) {
        throw new SchemaSyntaxError(path, `invalid decimal(${precision},${scale})`);
      }
      return { name: 'decimal', precision, scale };
    }
    default:
      throw new SchemaSyntaxError(
        path,
        `logical type "${logicalType}" is not supported (timestamp-millis, uuid, decimal are)`,
      );
  }
}

function parseSymbolDocs(path: string, object: JsonObject): Readonly<Record<string, string>> {
  const value = object.symbolDocs;
  if (value === undefined) return {};
  if (!isJsonObject(value)) throw new SchemaSyntaxError(path, '"symbolDocs" must map symbols to strings');
  const docs: Record<string, string> = {};
  for (const [symbol, doc] of Object.entries(value)) {
    if (typeof doc !== 'string')
      throw new SchemaSyntaxError(`${path}.symbolDocs.${symbol}`, 'must be a string');
    docs[symbol] = doc;
  }
  return docs;
}

function parseField(path: string, json: JsonValue, namespace: string): FieldNode {
  if (!isJsonObject(json)) throw new SchemaSyntaxError(path, 'a field must be an object');
  checkKeys(path, json, allowedKeys.field);
  const name = requiredString(path, json, 'name');
  if (!namePattern.test(name)) throw new SchemaSyntaxError(path, `invalid field name "${name}"`);
  const type = json.type;
  if (type === undefined) throw new SchemaSyntaxError(`${path}.${name}`, '"type" is required');
  return {
    name,
    doc: optionalString(path, json, 'doc'),
    type: parseNode(`${path}.${name}`, type, namespace),
    default: json.default,
    aliases: stringList(path, json, 'aliases'),
  };
}

/**
 * Parses one schema. `path` only labels errors (e.g. `schemas/order/OrderPlaced.v1.avsc`).
 * Named-type references are kept as `ref` nodes, fully qualified; resolving them is the loader's job.
 */
export function parseSchema(path: string, json: JsonValue, enclosingNamespace = ''): SchemaNode {
  return parseNode(path, json, enclosingNamespace);
}

function parseNode(path: string, json: JsonValue, namespace: string): SchemaNode {
  if (typeof json === 'string') {
    if (isPrimitiveName(json)) return { kind: 'primitive', type: json, logical: undefined };
    return { kind: 'ref', fullName: qualify(json, namespace) };
  }
  if (Array.isArray(json)) {
    return {
      kind: 'union',
      branches: json.map((branch, index) => parseNode(`${path}[${index}]`, branch, namespace)),
    };
  }
  if (!isJsonObject(json))
    throw new SchemaSyntaxError(path, 'a schema must be a string, an array or an object');
  const type = json.type;
  if (typeof type !== 'string') {
    throw new SchemaSyntaxError(path, '"type" must be a string here (nest unions as a field type instead)');
  }
  switch (type) {
    case 'record': {
      checkKeys(path, json, allowedKeys.record);
      const fullName = parseName(path, json, namespace);
      const fields = json.fields;
      if (!Array.isArray(fields)) throw new SchemaSyntaxError(path, '"fields" must be an array');
      const inner = namespaceOf(fullName);
      return {
        kind: 'record',
        fullName,
        doc: optionalString(path, json, 'doc'),
        aliases: stringList(path, json, 'aliases'),
        fields: fields.map((field, index) => parseField(`${path}.fields[${index}]`, field, inner)),
      };
    }
    case 'enum': {
      checkKeys(path, json, allowedKeys.enum);
      const symbols = stringList(path, json, 'symbols');
      if (symbols.length === 0) throw new SchemaSyntaxError(path, 'an enum needs symbols');
      for (const symbol of symbols) {
        if (!namePattern.test(symbol)) {
          throw new SchemaSyntaxError(path, `enum symbol "${symbol}" must be an ASCII identifier`);
        }
      }
      const defaultSymbol = optionalString(path, json, 'default');
      if (defaultSymbol !== undefined && !symbols.includes(defaultSymbol)) {
        throw new SchemaSyntaxError(path, `enum default "${defaultSymbol}" is not a symbol`);
      }
      return {
        kind: 'enum',
        fullName: parseName(path, json, namespace),
        doc: optionalString(path, json, 'doc'),
        aliases: stringList(path, json, 'aliases'),
        symbols,
        default: defaultSymbol,
        symbolDocs: parseSymbolDocs(path, json),
      };
    }
    case 'fixed':
      checkKeys(path, json, allowedKeys.fixed);
      return {
        kind: 'fixed',
        fullName: parseName(path, json, namespace),
        doc: optionalString(path, json, 'doc'),
        aliases: stringList(path, json, 'aliases'),
        size: integer(path, json, 'size'),
      };
    case 'array': {
      checkKeys(path, json, allowedKeys.array);
      const items = json.items;
      if (items === undefined) throw new SchemaSyntaxError(path, '"items" is required');
      return { kind: 'array', items: parseNode(`${path}.items`, items, namespace) };
    }
    case 'map': {
      checkKeys(path, json, allowedKeys.map);
      const values = json.values;
      if (values === undefined) throw new SchemaSyntaxError(path, '"values" is required');
      return { kind: 'map', values: parseNode(`${path}.values`, values, namespace) };
    }
    default:
      if (!isPrimitiveName(type)) {
        throw new SchemaSyntaxError(
          path,
          `"${type}" as an object type: write a named type reference as a string`,
        );
      }
      checkKeys(path, json, allowedKeys.primitive);
      return { kind: 'primitive', type, logical: parseLogical(path, json, type) };
  }
}

export interface PrintOptions {
  /** Drop `doc` and `symbolDocs`: what remains is everything that changes how bytes are read. */
  readonly docs: boolean;
}

/**
 * Prints a node back to Avro JSON in a stable key order. Named types always carry an explicit
 * `namespace`, so an inlined shared type keeps its own namespace wherever it lands.
 */
export function printSchema(node: SchemaNode, options: PrintOptions = { docs: true }): JsonValue {
  const withDoc = (doc: string | undefined): JsonObject => (options.docs && doc !== undefined ? { doc } : {});
  const withAliases = (aliases: readonly string[]): JsonObject => (aliases.length > 0 ? { aliases } : {});
  switch (node.kind) {
    case 'primitive': {
      const logical = node.logical;
      if (logical === undefined) return node.type;
      if (logical.name === 'decimal') {
        return {
          type: node.type,
          logicalType: 'decimal',
          precision: logical.precision,
          scale: logical.scale,
        };
      }
      return { type: node.type, logicalType: logical.name };
    }
    case 'ref':
      return node.fullName;
    case 'array':
      return { type: 'array', items: printSchema(node.items, options) };
    case 'map':
      return { type: 'map', values: printSchema(node.values, options) };
    case 'union':
      return node.branches.map((branch) => printSchema(branch, options));
    case 'record':
      return {
        type: 'record',
        name: simpleNameOf(node.fullName),
        namespace: namespaceOf(node.fullName),
        ...withDoc(node.doc),
        ...withAliases(node.aliases),
        fields: node.fields.map((field) => ({
          name: field.name,
          ...withDoc(field.doc),
          type: printSchema(field.type, options),
          ...(field.default === undefined ? {} : { default: field.default }),
          ...withAliases(field.aliases),
        })),
      };
    case 'enum':
      return {
        type: 'enum',
        name: simpleNameOf(node.fullName),
        namespace: namespaceOf(node.fullName),
        ...withDoc(node.doc),
        ...withAliases(node.aliases),
        symbols: node.symbols,
        ...(node.default === undefined ? {} : { default: node.default }),
        ...(options.docs && Object.keys(node.symbolDocs).length > 0 ? { symbolDocs: node.symbolDocs } : {}),
      };
    case 'fixed':
      return {
        type: 'fixed',
        name: simpleNameOf(node.fullName),
        namespace: namespaceOf(node.fullName),
        ...withDoc(node.doc),
        ...withAliases(node.aliases),
        size: node.size,
      };
    default:
      return assertNever(node);
  }
}

/**
 * The schema without its documentation, as one string: two schemas with the same contract form
 * read and write the same bytes with the same defaults. Unlike Avro's Parsing Canonical Form it
 * keeps defaults and aliases, which change how a reader resolves old data.
 */
export function contractForm(node: SchemaNode): string {
  return JSON.stringify(printSchema(node, { docs: false }));
}

/** Every named type defined (not merely referenced) inside `node`, in document order. */
export function namedTypesIn(node: SchemaNode): NamedNode[] {
  const found: NamedNode[] = [];
  const visit = (current: SchemaNode): void => {
    switch (current.kind) {
      case 'record':
        found.push(current);
        current.fields.forEach((field) => visit(field.type));
        return;
      case 'enum':
      case 'fixed':
        found.push(current);
        return;
      case 'array':
        visit(current.items);
        return;
      case 'map':
        visit(current.values);
        return;
      case 'union':
        current.branches.forEach(visit);
        return;
      case 'primitive':
      case 'ref':
        return;
      default:
        assertNever(current);
    }
  };
  visit(node);
  return found;
}

/** Follows a `ref` to its definition among `named`; other nodes are returned as they are. */
export function deref(node: SchemaNode, named: ReadonlyMap<string, NamedNode>): SchemaNode {
  if (node.kind !== 'ref') return node;
  const target = named.get(node.fullName);
  if (target === undefined) throw new Error(`unresolved reference to ${node.fullName}`);
  return target;
}

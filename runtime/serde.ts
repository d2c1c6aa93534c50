/**
 * Event serde: the Confluent wire format (magic byte 0, big-endian int32 schema id, Avro body)
 * over the schema registry's REST API, with avsc types built from the generated schemas.
 *
 * - Registration happens once, at startup or from a command (`registerSchemas`): for every event
 *   type a process writes, the subject (TopicRecordNameStrategy, contracts/topics.ts) is set to
 *   FULL_TRANSITIVE, then each version is registered in order. Registering identical content
 *   again returns the same id, so it is idempotent.
 * - `encode` never calls the registry: it needs the ids that registration returned.
 * - `decode` calls the registry only the first time it meets a writer schema id it does not know
 *   (`GET /schemas/ids/{id}`), and caches the writer type and the resolver into the reader version
 *   this process declares for that event type. In steady state the registry sees no request;
 *   every request that does happen is reported to `onRequest` (the
 *   `scm_schema_registry_requests_total` metric via `countRegistryRequests`).
 *
 * Plain `fetch` rather than `@kafkajs/confluent-schema-registry`: the library re-parses the reader
 * schema and builds a resolver on every `decode(buffer, { readerSchema })` call
 * (../shared/docs/PERFORMANCE.md), and does not let us count its HTTP calls.
 */
import type { Resolver, Type } from 'avsc';
import { avroType } from '@contracts/avro-type';
import { avroLogicalTypes } from '@contracts/logical-types';
import type { JsonValue } from '@contracts/schema-model';
import { placementOf, subjectName, topics, type WriterContext } from '@contracts/topics';
import {
  eventSchemas,
  type AnyEvent,
  type EventOf,
  type EventType,
  type EventVersion,
  type GeneratedEventSchema,
} from '@contracts/generated';
import { errorCodes, permanent, PlatformError, transient, type FailureCategory } from './errors';
import type { RuntimeMetrics } from './metrics';

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

export const magicByte = 0;
/** Magic byte plus the int32 schema id. */
export const wireHeaderLength = 5;

/** The 5-byte header that precedes the Avro body of every record written with `schemaId`. */
export function wireHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(wireHeaderLength);
  header.writeUInt8(magicByte, 0);
  header.writeInt32BE(schemaId, 1);
  return header;
}

export interface WireFrame {
  readonly schemaId: number;
  /** The Avro body, a view on the input (not a copy). */
  readonly body: Buffer;
}

/**
 * Splits a record value into schema id and Avro body. A wrong first byte is reported before a
 * short length: a 2-byte `{}` is better described as "not our wire format" than as "truncated".
 */
export function readWireFrame(buffer: Buffer): WireFrame {
  if (buffer.length === 0) {
    throw permanent(errorCodes.UNDECODABLE, 'empty record value: no Confluent wire format header');
  }
  const first = buffer[0];
  if (first !== magicByte) {
    throw permanent(
      errorCodes.WRONG_MAGIC_BYTE,
      `record value starts with byte 0x${(first ?? 0).toString(16).padStart(2, '0')}, not the Confluent magic byte 0x00`,
      undefined,
      { firstByte: first },
    );
  }
  if (buffer.length < wireHeaderLength) {
    throw permanent(
      errorCodes.UNDECODABLE,
      `record value has ${buffer.length} bytes, shorter than the ${wireHeaderLength}-byte wire format header`,
      undefined,
      { length: buffer.length },
    );
  }
  return { schemaId: buffer.readInt32BE(1), body: buffer.subarray(wireHeaderLength) };
}

// ---------------------------------------------------------------------------------------------
// Registry client
// ---------------------------------------------------------------------------------------------

/** The registry operations, the `operation` label of the request counter. */
export type RegistryOperation =
  | 'set_compatibility'
  | 'get_compatibility'
  | 'list_versions'
  | 'register'
  | 'get_schema_by_id'
  | 'delete_subject'
  | 'check_compatibility';

export type CompatibilityLevel =
  | 'NONE'
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE';

/** A registry refused a schema or a setting (e.g. 409 incompatible, 422 invalid): permanent. */
export const schemaRejectedCode = 'SCHEMA_REJECTED';

export interface RegistryClientOptions {
  /** Base URL of the Confluent-compatible API, e.g. `http://registry:8080/apis/ccompat/v7`. */
  readonly url: string;
  /** Called once per HTTP request, before it is sent. */
  readonly onRequest?: (operation: RegistryOperation) => void;
  /**
   * Called once per request that failed: unreachable, timed out or answered 5xx (transient), or
   * refused (permanent, e.g. an incompatible schema or an unknown id). Not for answers the
   * operation expects (a subject not registered yet).
   */
  readonly onFailure?: (operation: RegistryOperation, category: FailureCategory) => void;
  readonly timeoutMs?: number;
  /** HTTP basic authentication (SCHEMA_REGISTRY_USERNAME and _PASSWORD). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** For unit tests. */
  readonly fetch?: typeof fetch;
}

const contentType = 'application/vnd.schemaregistry.v1+json';

/** Adapts the runtime metrics to `RegistryClientOptions.onFailure`. */
export function countRegistryFailures(
  metrics: Pick<RuntimeMetrics, 'schemaRegistryErrors'>,
): (operation: RegistryOperation, category: FailureCategory) => void {
  return (operation, category) => metrics.schemaRegistryErrors.inc({ operation, category });
}

/** Adapts the runtime metrics to `RegistryClientOptions.onRequest`. */
export function countRegistryRequests(
  metrics: Pick<RuntimeMetrics, 'schemaRegistryRequests'>,
): (operation: RegistryOperation) => void {
  return (operation) => metrics.schemaRegistryRequests.inc({ operation });
}

/**
 * The subset of the Confluent schema registry REST API the platform uses. Failures are platform
 * errors: network faults, timeouts and 5xx/408/429 answers are transient REGISTRY_UNAVAILABLE.
 */
export class RegistryClient {
  private readonly url: string;
  private readonly onRequest: (operation: RegistryOperation) => void;
  private readonly onFailure: (operation: RegistryOperation, category: FailureCategory) => void;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly authorization: Record<string, string>;

  constructor(options: RegistryClientOptions) {
    const { auth } = options;
    this.authorization =
      auth === undefined
        ? {}
        : { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
    this.url = options.url.replace(/\/+$/, '');
    this.onRequest = options.onRequest ?? (() => undefined);
    this.onFailure = options.onFailure ?? (() => undefined);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchFn = options.fetch ?? fetch;
  }

  /** `PUT /config/{subject}`; idempotent. */
  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    await this.call('set_compatibility', 'PUT', `/config/${encodeURIComponent(subject)}`, {
      compatibility: level,
    });
  }

  /**
   * The compatibility level in force for a subject: `GET /config/{subject}`, and the registry's
   * global one (`GET /config`) when that is 404 (Confluent's answer for a subject without a level
   * of its own, and everyone's for an unknown subject; `own` is then false). Apicurio's ccompat
   * API answers a registered subject without a level of its own with the global level instead,
   * so there `own` can be true for an inherited level: the level itself is right either way.
   */
  async compatibilityOf(subject: string): Promise<{ level: string; own: boolean }> {
    const levelIn = (answer: unknown): string => {
      const level = fieldOf(answer, 'compatibilityLevel') ?? fieldOf(answer, 'compatibility');
      if (typeof level !== 'string')
        throw permanent(errorCodes.UNEXPECTED, `registry answered a configuration without a level`);
      return level;
    };
    const own = await this.call(
      'get_compatibility',
      'GET',
      `/config/${encodeURIComponent(subject)}`,
      undefined,
      (status) => (status === 404 ? null : undefined),
    );
    if (own !== undefined) return { level: levelIn(own), own: true };
    return { level: levelIn(await this.call('get_compatibility', 'GET', '/config')), own: false };
  }

  /** `GET /subjects/{subject}/versions`: the version numbers registered; none for an unknown subject. */
  async subjectVersions(subject: string): Promise<number[]> {
    const answer = await this.call(
      'list_versions',
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      undefined,
      (status) => (status === 404 ? null : undefined),
    );
    if (answer === undefined) return [];
    if (!Array.isArray(answer) || !answer.every((v) => typeof v === 'number'))
      throw permanent(errorCodes.UNEXPECTED, `registry answered the versions of ${subject} with no list`);
    return answer;
  }

  /** `POST /subjects/{subject}/versions`; the same content under the same subject gets the same id. */
  async register(subject: string, schema: JsonValue | string): Promise<number> {
    const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
    const answer = await this.call('register', 'POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schema: text,
    });
    const id = fieldOf(answer, 'id');
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw permanent(errorCodes.UNEXPECTED, `registry answered a registration without an id`, undefined, {
        subject,
      });
    }
    return id;
  }

  /**
   * `POST /compatibility/subjects/{subject}/versions/latest`: would the registry accept this
   * schema under the subject's rule (FULL_TRANSITIVE for ours)? A subject without versions
   * accepts anything.
   */
  async isCompatible(subject: string, schema: JsonValue | string): Promise<boolean> {
    const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
    const answer = await this.call(
      'check_compatibility',
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
      { schema: text },
      (status) => (status === 404 ? null : undefined),
    );
    return answer === undefined || fieldOf(answer, 'is_compatible') === true;
  }

  /**
   * `GET /schemas/ids/{id}`: the schema text. A 404 is permanent UNKNOWN_SCHEMA_ID: the registry
   * confirms that nobody registered the id.
   */
  async schemaById(id: number): Promise<string> {
    const answer = await this.call('get_schema_by_id', 'GET', `/schemas/ids/${id}`, undefined, (status) =>
      status === 404
        ? permanent(errorCodes.UNKNOWN_SCHEMA_ID, `schema id ${id} is unknown to the registry`, undefined, {
            schemaId: id,
          })
        : undefined,
    );
    const schema = fieldOf(answer, 'schema');
    if (typeof schema !== 'string') {
      throw permanent(errorCodes.UNEXPECTED, `registry answered schema id ${id} without a schema`);
    }
    return schema;
  }

  /** `DELETE /subjects/{subject}` (soft), then with `?permanent=true` when asked. 404 is fine. */
  async deleteSubject(subject: string, options: { permanent?: boolean } = {}): Promise<void> {
    const path = `/subjects/${encodeURIComponent(subject)}`;
    const ignoreMissing = (status: number): PlatformError | null | undefined =>
      status === 404 ? null : undefined;
    await this.call('delete_subject', 'DELETE', path, undefined, ignoreMissing);
    if (options.permanent) {
      await this.call('delete_subject', 'DELETE', `${path}?permanent=true`, undefined, ignoreMissing);
    }
  }

  /**
   * One request. `onStatus` may turn a non-2xx status into a specific error, or `null` to accept
   * it (the answer is then `undefined`).
   */
  private async call(
    operation: RegistryOperation,
    method: string,
    path: string,
    body?: unknown,
    onStatus?: (status: number) => PlatformError | null | undefined,
  ): Promise<unknown> {
    this.onRequest(operation);
    try {
      return await this.send(operation, method, path, body, onStatus);
    } catch (error) {
      this.onFailure(operation, error instanceof PlatformError ? error.category : 'transient');
      throw error;
    }
  }

  private async send(
    operation: RegistryOperation,
    method: string,
    path: string,
    body: unknown,
    onStatus: ((status: number) => PlatformError | null | undefined) | undefined,
  ): Promise<unknown> {
    const target = `${this.url}${path}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(target, {
        method,
        headers:
          body === undefined
            ? { accept: contentType, ...this.authorization }
            : { accept: contentType, 'content-type': contentType, ...this.authorization },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw transient(
        errorCodes.REGISTRY_UNAVAILABLE,
        `schema registry unreachable (${method} ${path}): ${messageOf(error)}`,
        error,
        { operation },
      );
    }
    if (!response.ok) {
      const specific = onStatus?.(response.status);
      if (specific === null) return undefined;
      if (specific !== undefined) throw specific;
      const details = { operation, status: response.status, answer: text.slice(0, 500) };
      const message = `schema registry answered ${response.status} to ${method} ${path}: ${text.slice(0, 300)}`;
      // 5xx, timeouts and throttling say "later"; any other answer to a well-formed request is a
      // refusal (incompatible or invalid schema) that retrying cannot change.
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        throw transient(errorCodes.REGISTRY_UNAVAILABLE, message, undefined, details);
      }
      throw permanent(schemaRejectedCode, message, undefined, details);
    }
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw transient(
        errorCodes.REGISTRY_UNAVAILABLE,
        `schema registry answered non-JSON to ${method} ${path}`,
        error,
        {
          operation,
        },
      );
    }
  }
}

function fieldOf(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, name) : undefined;
}

function messageOf(error: unknown): string {
  const message = fieldOf(error, 'message');
  return typeof message === 'string' ? message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

export interface RegisteredSchema {
  readonly type: EventType;
  readonly version: number;
  readonly subject: string;
  readonly id: number;
}

export interface RegistrationOptions {
  /** The event types the process writes, e.g. `eventTypesWrittenBy('inventory')`. */
  readonly types: readonly EventType[];
  /** The topic of each event type; the catalogue's by default. Tests pass unique names. */
  readonly topicOf?: (type: EventType) => string;
  /** The schemas to register; the generated ones by default. */
  readonly schemas?: readonly GeneratedEventSchema[];
}

/** The event types on the topics a context writes, in catalogue order. */
export function eventTypesWrittenBy(writer: WriterContext): EventType[] {
  return topics
    .filter((topic) => topic.writer === writer)
    .flatMap((topic) => topic.events.map((e) => e.type));
}

/** Every version of `type`, oldest first. */
export function versionsOf(
  type: EventType,
  schemas: readonly GeneratedEventSchema[] = eventSchemas,
): GeneratedEventSchema[] {
  return schemas.filter((schema) => schema.type === type).sort((a, b) => a.version - b.version);
}

/**
 * For each event type: FULL_TRANSITIVE on its subject (idempotent), then every version in order,
 * so that the registry checks each against all earlier ones. Sequential on purpose: versions must
 * be registered in order, and this runs once at startup.
 */
export async function registerSchemas(
  client: RegistryClient,
  options: RegistrationOptions,
): Promise<RegisteredSchema[]> {
  const topicOf = options.topicOf ?? ((type: EventType) => placementOf(type).topic);
  const schemas = options.schemas ?? eventSchemas;
  const registered: RegisteredSchema[] = [];
  for (const type of new Set(options.types)) {
    const versions = versionsOf(type, schemas);
    const first = versions[0];
    if (first === undefined) throw new Error(`no schema for event type ${type}`);
    const subject = subjectName(topicOf(type), first.fullName);
    await client.setCompatibility(subject, expectedCompatibility);
    for (const schema of versions) {
      const id = await client.register(subject, schema.schema);
      registered.push({ type, version: schema.version, subject, id });
    }
  }
  return registered;
}

/** One subject's verdict from the live part of the compatibility gate. */
export interface RegistryVerdict {
  readonly subject: string;
  readonly type: EventType;
  readonly version: number;
  readonly compatible: boolean;
}

/**
 * The live part of the compatibility gate: asks the registry whether every local version of
 * every event would be accepted under its subject's rule, without registering anything.
 */
export async function checkAgainstRegistry(
  client: RegistryClient,
  options: RegistrationOptions,
): Promise<RegistryVerdict[]> {
  const topicOf = options.topicOf ?? ((type: EventType) => placementOf(type).topic);
  const schemas = options.schemas ?? eventSchemas;
  const verdicts: RegistryVerdict[] = [];
  for (const type of new Set(options.types)) {
    for (const schema of versionsOf(type, schemas)) {
      const subject = subjectName(topicOf(type), schema.fullName);
      verdicts.push({
        subject,
        type,
        version: schema.version,
        compatible: await client.isCompatible(subject, schema.schema),
      });
    }
  }
  return verdicts;
}

/** The level `registerSchemas` sets on every subject, and the one `inspectRegistry` expects. */
export const expectedCompatibility: CompatibilityLevel = 'FULL_TRANSITIVE';

/** What the registry in use says about one subject the platform expects. */
export interface SubjectReport {
  readonly subject: string;
  readonly type: EventType;
  /** The level in force: the subject's own, or the registry's global one when `ownLevel` is false. */
  readonly level: string;
  readonly ownLevel: boolean;
  /** Version numbers registered under the subject; empty when nobody registered it yet. */
  readonly registered: readonly number[];
  /** Local schema versions of the event, each with the registry's verdict on it. */
  readonly versions: readonly { readonly version: number; readonly compatible: boolean }[];
  /** What is wrong, for people; empty when nothing is. */
  readonly problems: readonly string[];
}

/**
 * The registry in use, checked: for every subject the platform expects (one per event type,
 * TopicRecordNameStrategy), the compatibility level in force, which versions are registered,
 * and whether every local version would be accepted. A registered subject below
 * FULL_TRANSITIVE is a problem (the registry would let a breaking version in); so is a refused
 * version. A subject nobody registered yet is not: the platform registers it at start, with
 * the right level.
 */
export async function inspectRegistry(
  client: RegistryClient,
  options: RegistrationOptions,
): Promise<SubjectReport[]> {
  const topicOf = options.topicOf ?? ((type: EventType) => placementOf(type).topic);
  const schemas = options.schemas ?? eventSchemas;
  const reports: SubjectReport[] = [];
  for (const type of new Set(options.types)) {
    const local = versionsOf(type, schemas);
    const first = local[0];
    if (first === undefined) throw new Error(`no schema for event type ${type}`);
    const subject = subjectName(topicOf(type), first.fullName);
    const registered = await client.subjectVersions(subject);
    const { level, own } = await client.compatibilityOf(subject);
    const versions = [];
    for (const schema of local)
      versions.push({
        version: schema.version,
        compatible: await client.isCompatible(subject, schema.schema),
      });
    const problems: string[] = [];
    if (registered.length > 0 && level !== expectedCompatibility)
      problems.push(
        `compatibility level is ${level}${own ? '' : ' (the global default)'}, expected ${expectedCompatibility}`,
      );
    for (const { version, compatible } of versions)
      if (!compatible) problems.push(`v${version} would be refused`);
    reports.push({ subject, type, level, ownLevel: own, registered, versions, problems });
  }
  return reports;
}

// ---------------------------------------------------------------------------------------------
// Serde
// ---------------------------------------------------------------------------------------------

/** The reader version a consumer was built against, per event type; the latest when omitted. */
export type ReaderVersions = { readonly [T in EventType]?: EventVersion<T> };

/** What `decode` returns: the event in the reader's version, plus the writer's schema id. */
export type DecodedEvent = AnyEvent & { readonly schemaId: number };

/** What `encode` needs of an event: its envelope and data (`type` and `version` are arguments). */
export type EventBody<T extends EventType, V extends EventVersion<T>> = {
  readonly [K in 'metadata' | 'data']: EventOf<T, V> extends { readonly [P in K]: infer F } ? F : never;
};

export interface SerdeOptions {
  readonly registry: RegistryClient;
  readonly readers?: ReaderVersions;
  readonly schemas?: readonly GeneratedEventSchema[];
}

interface Writer {
  readonly id: number;
  readonly avro: Type;
  readonly header: Buffer;
}

/** How to read the bytes of one writer schema id: into which event type and reader version. */
interface Reading {
  readonly type: EventType;
  readonly version: number;
  readonly reader: Type;
  /** Undefined when the writer schema is the reader's (no resolution needed). */
  readonly resolver: Resolver | undefined;
}

interface EventRecord {
  readonly metadata: { readonly schemaVersion: number; readonly eventType: string };
  readonly data: unknown;
}

/**
 * One per process (it holds the caches). Readers are fixed per instance, so the resolver cache is
 * keyed by writer schema id alone.
 */
export class Serde {
  private readonly registry: RegistryClient;
  private readonly readers: ReaderVersions;
  private readonly schemas: readonly GeneratedEventSchema[];
  private readonly typeByFullName: ReadonlyMap<string, EventType>;
  /** avsc types of the local schemas, built on first use. */
  private readonly localTypes = new Map<string, Type>();
  /** `type@version` -> writer, filled by registration. */
  private readonly writers = new Map<string, Writer>();
  /** Writer schema id -> local schema it is known to be (from registration), to skip a fetch. */
  private readonly knownIds = new Map<number, GeneratedEventSchema>();
  private readonly readings = new Map<number, Reading>();
  /** Lookups in flight, so a batch of records with a new id causes one request, not one each. */
  private readonly pending = new Map<number, Promise<Reading>>();
  /** Where `encode` writes the Avro body, after `wireHeaderLength` bytes; grows on demand. */
  private scratch = Buffer.allocUnsafe(16 * 1024);

  constructor(options: SerdeOptions) {
    this.registry = options.registry;
    this.readers = options.readers ?? {};
    this.schemas = options.schemas ?? eventSchemas;
    this.typeByFullName = new Map(this.schemas.map((schema) => [schema.fullName, schema.type]));
  }

  /** Registers the schemas (see `registerSchemas`) and makes their ids available to `encode`. */
  async register(options: Omit<RegistrationOptions, 'schemas'>): Promise<RegisteredSchema[]> {
    const registered = await registerSchemas(this.registry, { ...options, schemas: this.schemas });
    this.adopt(registered);
    return registered;
  }

  /** Uses ids registered elsewhere (by a command, or another instance) without calling the registry. */
  adopt(registered: readonly RegisteredSchema[]): void {
    for (const { type, version, id } of registered) {
      const schema = this.localSchema(type, version);
      this.writers.set(key(type, version), { id, avro: this.localType(schema), header: wireHeader(id) });
      this.knownIds.set(id, schema);
    }
  }

  /** The writer schema id of a registered version, or undefined. */
  schemaIdOf(type: EventType, version: number): number | undefined {
    return this.writers.get(key(type, version))?.id;
  }

  /**
   * Avro-encodes an event in the Confluent wire format; no registry call. `metadata.eventType`
   * and `metadata.schemaVersion` are set from `type` and `version`. Throws permanent
   * INVALID_CONTENT when the event does not fit the schema.
   */
  encode<T extends EventType, V extends EventVersion<T>>(
    type: T,
    version: V,
    event: EventBody<T, V>,
  ): Buffer {
    return this.encodeRecord(type, version as number, event as unknown as EventRecord);
  }

  /** `encode` for an event whose type and version are known only at run time (same checks). */
  encodeEvent(event: AnyEvent): Buffer {
    return this.encodeRecord(event.type, event.version, event);
  }

  private encodeRecord(type: EventType, version: number, event: EventRecord): Buffer {
    const writer = this.writers.get(key(type, version));
    if (writer === undefined) {
      throw permanent(
        errorCodes.UNEXPECTED,
        `${type} v${String(version)} is not registered by this process: register it at startup`,
      );
    }
    const { metadata, data } = event;
    const record =
      metadata.eventType === type && metadata.schemaVersion === version
        ? { metadata, data }
        : { metadata: { ...metadata, eventType: type, schemaVersion: version }, data };
    // One pass into a reused scratch buffer that already holds room for the header, then one
    // copy out: `toBuffer` + `Buffer.concat` allocated and copied the body twice, which cost
    // encode+decode ~20% against bare avsc (docs/benchmarks.md). `encode` is synchronous, so
    // sharing the scratch buffer within the instance is safe.
    let end: number;
    try {
      end = writer.avro.encode(record, this.scratch, wireHeaderLength);
      if (end < 0) {
        // Too small: avsc says by how much. Grow (kept for later events) and write again.
        this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end));
        end = writer.avro.encode(record, this.scratch, wireHeaderLength);
      }
    } catch (error) {
      throw permanent(
        errorCodes.INVALID_CONTENT,
        `${type} v${String(version)} does not fit its schema: ${messageOf(error)}`,
        error,
        {
          eventType: type,
        },
      );
    }
    const bytes = Buffer.allocUnsafe(end);
    writer.header.copy(bytes, 0);
    this.scratch.copy(bytes, wireHeaderLength, wireHeaderLength, end);
    return bytes;
  }

  /**
   * Decodes a record value into the reader version declared for its event type. Calls the
   * registry only for a writer schema id this instance has not met yet. Rejects with permanent
   * WRONG_MAGIC_BYTE, UNDECODABLE or UNKNOWN_SCHEMA_ID, or transient REGISTRY_UNAVAILABLE.
   */
  async decode(buffer: Buffer): Promise<DecodedEvent> {
    const { schemaId, body } = readWireFrame(buffer);
    const reading = this.readings.get(schemaId) ?? (await this.readingFor(schemaId));
    let value: EventRecord;
    try {
      value = reading.reader.fromBuffer(body, reading.resolver) as EventRecord;
    } catch (error) {
      throw permanent(
        errorCodes.UNDECODABLE,
        `body does not decode with schema id ${schemaId} (${reading.type}): ${messageOf(error)}`,
        error,
        { schemaId, eventType: reading.type },
      );
    }
    return {
      schemaId,
      type: reading.type,
      version: reading.version,
      metadata: value.metadata,
      data: value.data,
    } as DecodedEvent;
  }

  /**
   * The event type of a record value, from its writer schema id alone: the body is not decoded.
   * The same cached lookup as `decode` (the registry is asked once per writer id, and `decode`
   * of the record afterwards costs no request), so a consumer can apply its filter policy to a
   * record written without our headers by any Confluent client. Rejects like `decode`:
   * WRONG_MAGIC_BYTE, UNDECODABLE (empty or short value, a schema that is not one of our
   * events), UNKNOWN_SCHEMA_ID, or transient REGISTRY_UNAVAILABLE.
   */
  async eventTypeOf(buffer: Buffer): Promise<EventType> {
    const { schemaId } = readWireFrame(buffer);
    return (this.readings.get(schemaId) ?? (await this.readingFor(schemaId))).type;
  }

  /** Fetches (once) and prepares the reading of a writer schema id, e.g. ahead of a replay. */
  async warm(schemaId: number): Promise<void> {
    if (!this.readings.has(schemaId)) await this.readingFor(schemaId);
  }

  private readingFor(schemaId: number): Promise<Reading> {
    let pending = this.pending.get(schemaId);
    if (pending === undefined) {
      pending = this.prepare(schemaId).finally(() => this.pending.delete(schemaId));
      this.pending.set(schemaId, pending);
    }
    return pending;
  }

  private async prepare(schemaId: number): Promise<Reading> {
    const local = this.knownIds.get(schemaId);
    const writer = local !== undefined ? this.localType(local) : await this.fetchWriter(schemaId);
    const type = this.typeByFullName.get(writer.name ?? '');
    if (type === undefined) {
      throw permanent(
        errorCodes.UNDECODABLE,
        `schema id ${schemaId} is ${writer.name ?? 'an unnamed type'}, not an event this process knows`,
        undefined,
        { schemaId },
      );
    }
    const readerSchema = this.readerSchema(type);
    const reader = this.localType(readerSchema);
    let resolver: Resolver | undefined;
    if (writer !== reader && !reader.equals(writer)) {
      try {
        resolver = reader.createResolver(writer);
      } catch (error) {
        throw permanent(
          errorCodes.UNDECODABLE,
          `${type} written with schema id ${schemaId} cannot be read as v${readerSchema.version}: ${messageOf(error)}`,
          error,
          { schemaId, eventType: type },
        );
      }
    }
    const reading: Reading = { type, version: readerSchema.version, reader, resolver };
    this.readings.set(schemaId, reading);
    return reading;
  }

  private async fetchWriter(schemaId: number): Promise<Type> {
    const text = await this.registry.schemaById(schemaId);
    try {
      return avroType(JSON.parse(text) as JsonValue, { logicalTypes: avroLogicalTypes });
    } catch (error) {
      throw permanent(
        errorCodes.UNDECODABLE,
        `schema id ${schemaId} is not a usable Avro schema: ${messageOf(error)}`,
        error,
        {
          schemaId,
        },
      );
    }
  }

  private readerSchema(type: EventType): GeneratedEventSchema {
    const versions = versionsOf(type, this.schemas);
    const wanted = this.readers[type] as number | undefined;
    const schema =
      wanted === undefined ? versions[versions.length - 1] : versions.find((s) => s.version === wanted);
    if (schema === undefined)
      throw new Error(`no reader schema for ${type}${wanted === undefined ? '' : ` v${wanted}`}`);
    return schema;
  }

  private localSchema(type: EventType, version: number): GeneratedEventSchema {
    const schema = this.schemas.find((s) => s.type === type && s.version === version);
    if (schema === undefined) throw new Error(`no schema for ${type} v${version}`);
    return schema;
  }

  private localType(schema: GeneratedEventSchema): Type {
    const k = key(schema.type, schema.version);
    let avro = this.localTypes.get(k);
    if (avro === undefined) {
      avro = avroType(schema.schema, { logicalTypes: avroLogicalTypes });
      this.localTypes.set(k, avro);
    }
    return avro;
  }
}

function key(type: string, version: number): string {
  return `${type}@${version}`;
}

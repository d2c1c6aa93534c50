/**
 * The platform's error taxonomy. Every failure that crosses a module boundary is, or is turned
 * into, a `PlatformError`: a stable `code` that code and dashboards can branch on, a `category`
 * that decides what happens next (the consumer runner retries `transient` faults with back-off
 * and dead-letters `permanent` ones; the HTTP layer answers 503 or a problem response), the
 * original `cause`, and `details` for logs and dead-letter headers.
 *
 * `transient` means "the same input will probably succeed later" (a dependency is down or slow);
 * `permanent` means "retrying the same input cannot help" (bad bytes, a broken rule, a bug).
 */
import { KafkaJSError } from 'kafkajs';
import {
  MongoBulkWriteError,
  MongoError,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';

export type FailureCategory = 'transient' | 'permanent';

/** Codes the runtime itself raises. Contexts may use their own codes beside these. */
export const errorCodes = {
  /** Nothing more specific is known: the fallback of `classify`, always permanent. */
  UNEXPECTED: 'UNEXPECTED',
  /** The bytes of a record could not be decoded at all. */
  UNDECODABLE: 'UNDECODABLE',
  /** The value does not start with the Confluent wire format's magic byte 0. */
  WRONG_MAGIC_BYTE: 'WRONG_MAGIC_BYTE',
  /** The registry confirmed that it does not know the schema id of a record. */
  UNKNOWN_SCHEMA_ID: 'UNKNOWN_SCHEMA_ID',
  /** Decoded fine, but the content breaks a contract or domain rule. */
  INVALID_CONTENT: 'INVALID_CONTENT',
  REGISTRY_UNAVAILABLE: 'REGISTRY_UNAVAILABLE',
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  BROKER_UNAVAILABLE: 'BROKER_UNAVAILABLE',
  /** A network call failed or timed out and nothing tells which dependency it was. */
  NETWORK_UNAVAILABLE: 'NETWORK_UNAVAILABLE',
  /** Writers kept racing for the same aggregate; worth another try later. */
  CONCURRENT_UPDATE: 'CONCURRENT_UPDATE',
  /** A person's command the aggregate's state does not allow (409). */
  CONFLICT: 'CONFLICT',
  INVALID_FILTER_POLICY: 'INVALID_FILTER_POLICY',
  /** An HTTP request the client got wrong (see `ProblemError`). */
  BAD_REQUEST: 'BAD_REQUEST',
  MALFORMED_JSON: 'MALFORMED_JSON',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  NOT_FOUND: 'NOT_FOUND',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
} as const;
export type KnownErrorCode = (typeof errorCodes)[keyof typeof errorCodes];

export type ErrorDetails = Readonly<Record<string, unknown>>;

export interface PlatformErrorOptions {
  readonly code: string;
  readonly category: FailureCategory;
  readonly cause?: unknown;
  readonly details?: ErrorDetails;
}

export class PlatformError extends Error {
  readonly code: string;
  readonly category: FailureCategory;
  readonly details: ErrorDetails;

  constructor(message: string, options: PlatformErrorOptions) {
    // The standard `cause` (ES2022) rather than a field of our own, so Node's inspector and
    // loggers print the chain.
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.category = options.category;
    this.details = options.details ?? {};
  }
}

export function transient(
  code: string,
  message: string,
  cause?: unknown,
  details?: ErrorDetails,
): PlatformError {
  return new PlatformError(message, { code, category: 'transient', cause, details });
}

export function permanent(
  code: string,
  message: string,
  cause?: unknown,
  details?: ErrorDetails,
): PlatformError {
  return new PlatformError(message, { code, category: 'permanent', cause, details });
}

export function isPlatformError(error: unknown): error is PlatformError {
  return error instanceof PlatformError;
}

export function isTransient(error: unknown): boolean {
  return classify(error).category === 'transient';
}

/** One invalid field of a request, reported in the `errors` extension of a problem response. */
export interface FieldError {
  /** A JSON Pointer-like path into the request body (`/items/0/quantity`) or a parameter name. */
  readonly field: string;
  readonly message: string;
}

export interface ProblemOptions {
  readonly code?: string;
  /** Short, human-readable summary of the problem type; defaults to the status's reason phrase. */
  readonly title?: string;
  /** URI reference identifying the problem type; RFC 9457 says `about:blank` when there is none. */
  readonly type?: string;
  readonly errors?: readonly FieldError[];
  readonly cause?: unknown;
  readonly details?: ErrorDetails;
  /** Extra response headers (`Allow`, `Retry-After`...). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An error whose HTTP answer is already decided. Its message is the problem's `detail` and is
 * shown to the client, so it must not carry internals; put those in `cause` and `details`.
 */
export class ProblemError extends PlatformError {
  readonly status: number;
  readonly title: string | undefined;
  readonly type: string;
  readonly errors: readonly FieldError[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, detail: string, options: ProblemOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`a problem needs an HTTP error status (400-599), got ${status}`);
    }
    super(detail, {
      code: options.code ?? defaultCodeFor(status),
      // A gateway or availability answer says "try later"; any other status says the request
      // itself (or our code) is at fault, which a retry cannot fix.
      category: status === 502 || status === 503 || status === 504 ? 'transient' : 'permanent',
      cause: options.cause,
      details: options.details,
    });
    this.status = status;
    this.title = options.title;
    this.type = options.type ?? 'about:blank';
    this.errors = options.errors ?? [];
    this.headers = options.headers ?? {};
  }
}

function defaultCodeFor(status: number): string {
  switch (status) {
    case 400:
      return errorCodes.BAD_REQUEST;
    case 404:
      return errorCodes.NOT_FOUND;
    case 413:
      return errorCodes.PAYLOAD_TOO_LARGE;
    case 415:
      return errorCodes.UNSUPPORTED_MEDIA_TYPE;
    case 422:
      return errorCodes.VALIDATION_FAILED;
    default:
      return status >= 500 ? errorCodes.UNEXPECTED : `HTTP_${status}`;
  }
}

/** 400 naming the fields at fault; `detail` summarises them for clients that ignore `errors`. */
export function validationProblem(errors: readonly FieldError[], detail?: string): ProblemError {
  const summary = errors.map((error) => `${error.field}: ${error.message}`).join('; ');
  return new ProblemError(400, detail ?? `The request is invalid: ${summary}`, {
    code: errorCodes.VALIDATION_FAILED,
    title: 'Invalid request',
    errors,
  });
}

// Node's own socket and DNS errors, plus undici's (behind `fetch`), that mean "the other side is
// unreachable or slow" rather than "the request was wrong". ENOTFOUND is here because in
// docker-compose a service name resolves only once its container is up.
const transientSystemCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

// Server error codes the MongoDB retryable-writes specification lists as retryable. Servers
// since 4.4 also attach the RetryableWriteError label, but FerretDB and older servers may send
// the bare code, so the code is checked too.
const retryableMongoServerCodes: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

const transientMongoLabels = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool'] as const;

/** How far down `cause` chains to look; real chains are 2-3 deep, and a cycle must not hang us. */
const maxCauseDepth = 8;

/**
 * Turns anything thrown into a `PlatformError`. A `PlatformError` is returned unchanged: whoever
 * raised it knew more than we can guess here. Anything else is transient when it, or an error
 * in its `cause` chain, is a known sign of an unreachable or slow dependency; otherwise it is
 * permanent with code UNEXPECTED (a bug, or a failure nobody has taught us about yet).
 *
 * The chain matters: kafkajs gives up on a broker that stays down with
 * `KafkaJSNumberOfRetriesExceeded` (or, from nested retriers, `KafkaJSNonRetriableError`), both
 * `retriable: false`, whose cause is the retriable connection error; and `fetch` throws a bare
 * `TypeError('fetch failed')` whose cause carries ECONNREFUSED.
 */
export function classify(error: unknown): PlatformError {
  if (error instanceof PlatformError) return error;
  const transientCode = transientCodeOf(error, 0);
  const message = messageOf(error);
  if (transientCode !== undefined) return transient(transientCode, message, error, originOf(error));
  return permanent(errorCodes.UNEXPECTED, message, error, originOf(error));
}

function transientCodeOf(error: unknown, depth: number): string | undefined {
  if (depth > maxCauseDepth || typeof error !== 'object' || error === null) return undefined;
  const own = ownTransientCode(error);
  if (own !== undefined) return own;
  if (error instanceof PlatformError) return error.category === 'transient' ? error.code : undefined;
  // Node 20's happy-eyeballs connect rejects with an AggregateError of one error per address.
  // Duck-typed, like the checks below: errors made by Node's internals (fetch, DOMException)
  // belong to another realm under jest's vm sandbox, where `instanceof Error` is false.
  if ('errors' in error && Array.isArray(error.errors)) {
    for (const inner of error.errors) {
      const code = transientCodeOf(inner, depth + 1);
      if (code !== undefined) return code;
    }
  }
  return 'cause' in error ? transientCodeOf(error.cause, depth + 1) : undefined;
}

function ownTransientCode(error: object): string | undefined {
  if (error instanceof KafkaJSError) return error.retriable ? errorCodes.BROKER_UNAVAILABLE : undefined;
  if (error instanceof MongoError)
    return isTransientMongoError(error) ? errorCodes.STORE_UNAVAILABLE : undefined;
  if ('code' in error && typeof error.code === 'string' && transientSystemCodes.has(error.code)) {
    return errorCodes.NETWORK_UNAVAILABLE;
  }
  // AbortSignal.timeout() rejects fetch with a DOMException named TimeoutError.
  if (nameOf(error) === 'TimeoutError') return errorCodes.NETWORK_UNAVAILABLE;
  return undefined;
}

function isTransientMongoError(error: MongoError): boolean {
  // MongoNetworkError covers MongoNetworkTimeoutError and the driver's PoolClearedError.
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (transientMongoLabels.some((label) => error.hasErrorLabel(label))) return true;
  return error instanceof MongoServerError && typeof error.code === 'number'
    ? retryableMongoServerCodes.has(error.code)
    : false;
}

function nameOf(error: object): string | undefined {
  return 'name' in error && typeof error.name === 'string' ? error.name : undefined;
}

function messageOf(error: unknown): string {
  if (
    typeof error === 'object' &&
    error !== null &&
    'message' in error &&
    typeof error.message === 'string'
  ) {
    return error.message;
  }
  if (typeof error === 'string') return error;
  try {
    return `non-error thrown: ${JSON.stringify(error)}`;
  } catch {
    return `non-error thrown: ${String(error)}`;
  }
}

/** The class name of what was thrown: dead-letter headers and logs report it as the error class. */
function originOf(error: unknown): ErrorDetails {
  const name = typeof error === 'object' && error !== null ? nameOf(error) : undefined;
  return { errorClass: name ?? typeof error };
}

/**
 * A write refused by a unique index (E11000): the sign that another writer inserted the same key
 * first, which the stores' unique inserts report atomically.
 */
export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 11000;
}

/**
 * How many inserts of an unordered bulk write lost such a race, when that is all that failed;
 * undefined for any other failure. Offered by the runtime: the aggregate store and tracking's
 * hop log both take a lost race as "already written", and must agree on what one looks like.
 */
export function duplicateKeysOnly(error: unknown): number | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined;
  const failures = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return failures.length > 0 && failures.every(isDuplicateKey) ? failures.length : undefined;
}

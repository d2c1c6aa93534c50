/**
 * Structured logs: one JSON object a line on stdout (pino), so that any log shipper can read
 * them and tests can too. The composition root chooses the level. The code sees only this
 * module's small `Logger`, so the library stays replaceable.
 *
 * What every line gets, whoever logs it:
 * - errors anywhere in the fields as their whole chain: name, message, stack, `code`, the
 *   platform's `category` (see errors.ts), their other own fields, `cause` and an
 *   AggregateError's `errors`, recursively;
 * - the fields of the work in hand (`withLogFields`: the HTTP request's `requestId`, the event's
 *   `correlationId`), however deep the call that logs;
 * - secrets censored: any field whose name looks like a password, token, secret, API key,
 *   cookie or authorization, at any depth, and the credentials of URLs (`mongodb://user:pw@…`)
 *   in any string, error messages and stacks included.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { types } from 'node:util';
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';
import { classify, isPlatformError } from './errors';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

const scope = new AsyncLocalStorage<Fields>();

/**
 * Runs `work` with `fields` on every line logged inside it, by any logger, through every await
 * (AsyncLocalStorage): the HTTP layer puts the request id there, the consumer the event's
 * correlation id. Nested calls add to the outer fields.
 */
export function withLogFields<T>(fields: Fields, work: () => T): T {
  return scope.run({ ...scope.getStore(), ...fields }, work);
}

/**
 * `write` receives each line without its newline (tests capture lines with it); by default
 * lines go to stdout synchronously, so that nothing logged before a `process.exit` is lost.
 */
export function createLogger(
  level: LogLevel = 'info',
  base: Fields = {},
  write?: (line: string) => void,
): Logger {
  const destination: DestinationStream | undefined = write && {
    write: (chunk: string) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk),
  };
  const options = {
    level,
    messageKey: 'message',
    base: { pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (fields: Fields) => sanitized(fields) as Fields,
    },
    // The scope's fields are sanitised with the line's own fields (pino merges them first).
    mixin: () => scope.getStore() ?? {},
  };
  // pino's own default stdout stream writes asynchronously: a line logged just before a SIGKILL
  // (the fault hook's) or a process.exit could be lost, so stdout is written synchronously here.
  return wrap(pino(options, destination ?? pino.destination({ dest: 1, sync: true })), base);
}

/**
 * A child's fields are merged here rather than bound with pino's `child`, which appends
 * bindings as they come: a field bound twice (a runner's `group` under its context's) would
 * appear twice in one JSON object.
 */
function wrap(logger: pino.Logger, bound: Fields): Logger {
  const emit =
    (at: LogLevel) =>
    (message: string, fields?: Fields): void => {
      if (logger.isLevelEnabled(at)) logger[at]({ ...bound, ...fields }, message);
    };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => wrap(logger, { ...bound, ...fields }),
  };
}

// Field names whose values are never written. `key` alone would hit `aggregateKey` and Kafka's
// message keys (order ids, which are not secret), so only `apiKey`-like names count.
const secretName = /pass(word|wd|phrase)?$|secret|token|authori[sz]ation|api[-_]?key|cookie|credential/i;
const redacted = '[redacted]';
// `scheme://user:password@host` and `scheme://token@host`: everything before the `@` goes.
const urlCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;
const maxDepth = 8;

/** Censors a string's URL credentials (`MONGO_URL`-like values, messages that quote them). */
export function withoutCredentials(text: string): string {
  return text.replace(urlCredentials, `$1${redacted}@`);
}

function sanitized(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return withoutCredentials(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (seen.has(value)) return '[circular]';
  if (depth >= maxDepth) return '[too deep]';
  seen.add(value);
  try {
    if (isError(value)) return errorChain(value, depth, seen);
    if (Array.isArray(value)) return value.map((item) => sanitized(item, depth + 1, seen));
    const result: Fields = {};
    for (const [name, item] of Object.entries(value)) {
      result[name] = secretName.test(name) ? redacted : sanitized(item, depth + 1, seen);
    }
    return result;
  } finally {
    seen.delete(value);
  }
}

/**
 * An error as a log shows it: the whole chain, with the platform's view of it. A top-level
 * error that is not a `PlatformError` gets the category `classify` gives it (what the runner
 * would do with it: retry or dead-letter).
 */
function errorChain(error: object, depth: number, seen: WeakSet<object>): Fields {
  const own: Fields = {};
  for (const [name, item] of Object.entries(error)) {
    if (['name', 'message', 'stack', 'cause', 'errors'].includes(name)) continue;
    if (name === 'details' && isEmpty(item)) continue;
    own[name] = secretName.test(name) ? redacted : sanitized(item, depth + 1, seen);
  }
  const field = (name: string): unknown => (error as Record<string, unknown>)[name];
  const message = field('message');
  const stack = field('stack');
  const cause = field('cause');
  const errors = field('errors');
  return {
    type: typeof field('name') === 'string' ? field('name') : error.constructor.name,
    message: typeof message === 'string' ? withoutCredentials(message) : String(message),
    ...own,
    ...(depth <= 1 && !isPlatformError(error) ? { category: classify(error).category } : {}),
    ...(typeof stack === 'string' ? { stack: withoutCredentials(stack) } : {}),
    ...(cause === undefined ? {} : { cause: sanitized(cause, depth + 1, seen) }),
    ...(Array.isArray(errors) ? { errors: errors.map((inner) => sanitized(inner, depth + 1, seen)) } : {}),
  };
}

function isEmpty(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

function isError(value: object): boolean {
  // Errors made by Node's internals (fetch, DOMException) belong to another realm under jest's
  // vm sandbox, where `instanceof Error` is false.
  return value instanceof Error || types.isNativeError(value);
}

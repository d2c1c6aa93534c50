/**
 * The HTTP side of every process: one Koa app with the probes (`/health`, `/ready`), the
 * contexts' routers behind authentication, and a single error boundary that turns every failure
 * into an RFC 9457 (formerly 7807) problem response; a second, unauthenticated app that serves
 * only `/metrics` on a listener of its own (for Prometheus); plus a strict JSON body reader and a
 * server that shuts down gracefully.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { types } from 'node:util';
import Router from '@koa/router';
import Koa from 'koa';
import type { Registry } from 'prom-client';
import { classify, errorCodes, ProblemError, type FieldError } from './errors';
import { withLogFields, type Logger } from './log';
import { httpMetricsOn, type HttpMetrics } from './metrics';

/** Liveness: is this process still worth keeping? `down` asks the supervisor to restart it. */
export interface HealthReport {
  readonly status: 'up' | 'down';
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Readiness: should traffic and probes count on this process now (consumers joined, caught up)? */
export interface ReadinessReport {
  readonly ready: boolean;
  /** Why not ready, one sentence each; empty when ready. */
  readonly reasons: readonly string[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface HttpAppOptions {
  /** Where requests are counted; `/metrics` itself is served by `createMetricsApp`. */
  readonly metricsRegistry: Registry;
  readonly health: () => HealthReport;
  readonly readiness: () => Promise<ReadinessReport>;
  readonly routers: readonly Router[];
  /**
   * Requests announcing a larger body (Content-Length) are refused with 413 before any route
   * runs. Routes still pass their own limit to `readJsonBody`, which also catches bodies sent
   * without a length.
   */
  readonly bodyLimitBytes: number;
  /** A readiness check that hangs must not hang the probe; it counts as not ready. Default 2 s. */
  readonly readinessTimeoutMs?: number;
  /** Gets a debug line per request; every line logged while a request is handled has its id. */
  readonly log?: Logger;
  /**
   * Authentication and rate limiting (`createHttpAuth`), in front of every route but the probes,
   * inside the error boundary. Guarded routers (`guard`) refuse every request without it.
   */
  readonly auth?: Koa.Middleware;
}

/** Answered without credentials: supervisors and load balancers probe them. */
export const publicPaths: readonly string[] = ['/health', '/ready'];

export const requestIdHeader = 'X-Request-Id';
// An incoming id is echoed and logged, so it must be short and harmless in a header and a log.
const acceptedRequestId = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

/**
 * The request id: the caller's `X-Request-Id` (a proxy's or a client's, so one id follows a
 * request across systems), or a new one. It is echoed in the response, problem responses
 * included, and put on every log line of the request (see `withLogFields`).
 */
function requestIds(log: Logger | undefined): Koa.Middleware {
  return async (ctx, next) => {
    const given = ctx.get(requestIdHeader);
    const requestId = acceptedRequestId.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    const started = process.hrtime.bigint();
    try {
      await withLogFields({ requestId }, next);
    } finally {
      // After the chain: the error boundary clears the headers of an answer that failed.
      if (!ctx.headerSent) ctx.set(requestIdHeader, requestId);
      log?.debug('http request', {
        requestId,
        method: ctx.method,
        // The path only: a query string may hold what does not belong in logs.
        path: ctx.path,
        status: ctx.status,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      });
    }
  };
}

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts and times every request by method, route template (`/orders/:id`, as the router
 * matched it: a raw path would make a series per order) and status, `unmatched` when no route
 * matched. Outside the error boundary, so that the status is the one the client got.
 */
function requestMetrics(metrics: HttpMetrics): Koa.Middleware {
  return async (ctx, next) => {
    const stopTimer = metrics.duration.startTimer();
    try {
      await next();
    } finally {
      const matched: unknown = '_matchedRoute' in ctx ? ctx._matchedRoute : undefined;
      const labels = {
        method: knownMethods.has(ctx.method) ? ctx.method : 'other',
        route: typeof matched === 'string' ? matched : 'unmatched',
        status: String(ctx.status),
      };
      metrics.requests.inc(labels);
      stopTimer(labels);
    }
  };
}

const problemContentType = 'application/problem+json';

/**
 * Server errors (5xx) are emitted as the app's `error` event with the original error, which is
 * where its stack goes: listen with `app.on('error', (error, ctx) => ...)` in the composition
 * root. Without a listener Koa prints them to stderr. Clients never see a stack.
 */
export function createHttpApp(options: HttpAppOptions): Koa {
  const app = new Koa();
  const ops = new Router();
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 2_000;

  ops.get('/health', (ctx) => {
    let report: HealthReport;
    try {
      report = options.health();
    } catch (error) {
      report = { status: 'down', details: { error: classify(error).message } };
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = report.status === 'up' ? 200 : 503;
    ctx.body = report;
  });

  ops.get('/ready', async (ctx) => {
    const report = await readinessWithin(options.readiness, readinessTimeoutMs);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = report.ready ? 200 : 503;
    ctx.body = {
      status: report.ready ? 'ready' : 'not ready',
      reasons: report.reasons,
      details: report.details,
    };
  });

  app.use(requestMetrics(httpMetricsOn(options.metricsRegistry)));
  app.use(requestIds(options.log));
  app.use(problemDetails);
  if (options.auth) app.use(options.auth);
  app.use(async (ctx, next) => {
    const declared = ctx.request.length;
    if (declared !== undefined && declared > options.bodyLimitBytes) {
      throw payloadTooLarge(options.bodyLimitBytes);
    }
    await next();
  });
  for (const router of [ops, ...options.routers]) {
    app.use(router.routes());
    // 405 with `Allow` for a known path and another method, 501 for an unknown method; the
    // error boundary gives both a problem body.
    app.use(router.allowedMethods());
  }
  return app;
}

/**
 * `/metrics` alone, for a listener of its own (`METRICS_PORT`, loopback by default): Prometheus
 * scrapes it without credentials, and nothing else is reachable there. Its requests are counted
 * with the API's, under the route `/metrics`.
 */
export function createMetricsApp(metricsRegistry: Registry): Koa {
  const app = new Koa();
  const router = metricsRouter(metricsRegistry);
  app.use(requestMetrics(httpMetricsOn(metricsRegistry)));
  app.use(problemDetails);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/** `GET /metrics` from a registry, in the Prometheus text format. */
export function metricsRouter(metricsRegistry: Registry): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const text = await metricsRegistry.metrics();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Type', metricsRegistry.contentType);
    ctx.body = text;
  });
  return router;
}

async function readinessWithin(
  readiness: () => Promise<ReadinessReport>,
  timeoutMs: number,
): Promise<ReadinessReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessReport>((resolve) => {
    timer = setTimeout(
      () => resolve({ ready: false, reasons: [`the readiness check did not answer within ${timeoutMs} ms`] }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      // Through a promise, so that a check that throws instead of rejecting is caught too.
      Promise.resolve()
        .then(readiness)
        .catch(
          (error: unknown): ReadinessReport => ({
            ready: false,
            reasons: [`the readiness check failed: ${classify(error).message}`],
          }),
        ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Problem {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly code: string;
  readonly errors: readonly FieldError[];
  readonly headers: Readonly<Record<string, string>>;
}

/** The error boundary: the outermost middleware, so nothing escapes it unmapped. */
async function problemDetails(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    await next();
  } catch (error) {
    const problem = problemFor(error);
    // Koa's default listener refuses (throws on) anything that is not an Error.
    if (problem.status >= 500) ctx.app.emit('error', isError(error) ? error : classify(error), ctx);
    if (ctx.headerSent || !ctx.writable) return;
    // Headers a handler set before failing (caching, a half-built Location...) belong to the
    // answer it did not give.
    for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
    writeProblem(ctx, problem);
    return;
  }
  // Nothing answered (Koa's default 404), or a route or allowedMethods set an error status
  // without a body: answer in the same format as every other error, keeping headers like Allow.
  if (ctx.body == null && ctx.status >= 400 && !ctx.headerSent) {
    writeProblem(ctx, problemForBareStatus(ctx.status, ctx.method, ctx.path));
  }
}

function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

function writeProblem(ctx: Koa.Context, problem: Problem): void {
  ctx.status = problem.status;
  ctx.set(problem.headers);
  ctx.type = problemContentType;
  ctx.body = {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    instance: ctx.path,
    code: problem.code,
    ...(problem.errors.length > 0 ? { errors: problem.errors } : {}),
  };
}

function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

function problemFor(error: unknown): Problem {
  if (error instanceof ProblemError) {
    return {
      status: error.status,
      type: error.type,
      title: error.title ?? reasonPhrase(error.status),
      detail: error.message,
      code: error.code,
      errors: error.errors,
      headers: error.headers,
    };
  }
  const http = httpErrorFields(error);
  if (http !== undefined) return http;
  const classified = classify(error);
  if (classified.category === 'transient') {
    // A dependency is down: the request may well succeed later, and saying which dependency
    // (by code) helps the caller without revealing internals.
    return genericProblem(
      503,
      'A service this request depends on is unavailable; retry later.',
      classified.code,
    );
  }
  return genericProblem(500, 'The server failed to handle this request.', errorCodes.UNEXPECTED);
}

/**
 * Errors from `ctx.throw`, http-errors and Koa's own checks carry `status` and `expose`. Only
 * exposed messages (4xx by default) reach the client.
 */
function httpErrorFields(error: unknown): Problem | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  const { status } = error;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    return undefined;
  const exposed = 'expose' in error && error.expose === true;
  const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
  const problem = genericProblem(
    status,
    exposed && message !== '' ? message : defaultDetail(status),
    status >= 500 ? errorCodes.UNEXPECTED : `HTTP_${status}`,
  );
  return { ...problem, headers: 'headers' in error ? stringRecord(error.headers) : {} };
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

function genericProblem(status: number, detail: string, code: string): Problem {
  return { status, type: 'about:blank', title: reasonPhrase(status), detail, code, errors: [], headers: {} };
}

function defaultDetail(status: number): string {
  return status >= 500 ? 'The server failed to handle this request.' : reasonPhrase(status);
}

function problemForBareStatus(status: number, method: string, path: string): Problem {
  switch (status) {
    case 404:
      return genericProblem(404, `No resource at ${path}.`, errorCodes.NOT_FOUND);
    case 405:
      return genericProblem(405, `${method} is not allowed on ${path}.`, 'HTTP_405');
    case 501:
      return genericProblem(501, `The method ${method} is not supported.`, 'HTTP_501');
    default:
      return genericProblem(
        status,
        defaultDetail(status),
        status >= 500 ? errorCodes.UNEXPECTED : `HTTP_${status}`,
      );
  }
}

function payloadTooLarge(limitBytes: number): ProblemError {
  return new ProblemError(413, `The request body exceeds the limit of ${limitBytes} bytes.`, {
    // The rest of the body is not read: closing the connection keeps it from being parsed as
    // the next request.
    headers: { Connection: 'close' },
  });
}

function unsupportedMediaType(detail: string): ProblemError {
  return new ProblemError(415, detail, { headers: { Accept: 'application/json' } });
}

function malformedJson(detail: string): ProblemError {
  return new ProblemError(400, detail, { code: errorCodes.MALFORMED_JSON, title: 'Malformed JSON' });
}

/**
 * Reads the request body as one JSON document, strictly:
 * - 415 unless the content type is `application/json` or `application/*+json` in UTF-8 (the
 *   only encoding RFC 8259 allows between systems), and unless it is uncompressed;
 * - 413 as soon as the body is known to exceed `limitBytes`, from its Content-Length or while
 *   reading, without buffering more than the limit;
 * - 400 for an empty body, bytes that are not UTF-8, or malformed JSON, saying where it broke.
 *
 * Returns `unknown`: checking the shape, and naming the fields at fault, is the route's job.
 */
export async function readJsonBody(
  ctx: { readonly req: IncomingMessage },
  limitBytes: number,
): Promise<unknown> {
  const { req } = ctx;
  checkJsonContentType(req.headers['content-type']);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new ProblemError(415, `Compressed request bodies (${encoding}) are not accepted.`, {
      headers: { 'Accept-Encoding': 'identity' },
    });
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) throw payloadTooLarge(limitBytes);

  const bytes = await readAtMost(req, limitBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformedJson('The request body is not valid UTF-8.');
  }
  if (/^[ \t\n\r]*$/.test(text))
    throw malformedJson('The request body is empty; a JSON document was expected.');
  try {
    const value: unknown = JSON.parse(text);
    return value;
  } catch (error) {
    const location = locateJsonError(text);
    throw malformedJson(
      location === undefined
        ? `The request body is not valid JSON: ${classify(error).message}`
        : `The request body is not valid JSON: at line ${location.line}, column ${location.column}: ` +
            `expected ${location.expected}, found ${location.found}.`,
    );
  }
}

function checkJsonContentType(header: string | undefined): void {
  const expected = 'Expected a JSON body (Content-Type: application/json).';
  if (header === undefined) throw unsupportedMediaType(`The request has no Content-Type. ${expected}`);
  const [mediaType = '', ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(mediaType)) {
    throw unsupportedMediaType(`Content-Type ${mediaType || '(empty)'} is not accepted. ${expected}`);
  }
  for (const parameter of parameters) {
    const [name, rawValue = ''] = parameter.split('=', 2).map((part) => part.trim());
    const value = rawValue.replace(/^"(.*)"$/, '$1');
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      throw unsupportedMediaType(`Charset ${value} is not accepted; JSON must be UTF-8.`);
    }
  }
}

// Kept hand-written rather than raw-body or co-body: on the limit they stop the stream, where a
// client still sending needs it drained to read its 413, so the same handlers would be needed.
function readAtMost(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  if (req.readableDidRead || req.readableEnded) {
    return Promise.reject(new Error('the request body has already been read'));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limitBytes) {
        cleanup();
        // Stop buffering but let the bytes drain, so that the client, still sending, can read
        // the 413 instead of meeting a reset connection.
        req.resume();
        reject(payloadTooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, received));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new ProblemError(400, 'The request body could not be read.', { cause: error }));
    };
    const onClose = (): void => {
      cleanup();
      reject(new ProblemError(400, 'The client closed the connection before sending the whole body.'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

interface JsonErrorLocation {
  readonly line: number;
  readonly column: number;
  readonly expected: string;
  readonly found: string;
}

/**
 * Finds the first syntax error in `text`, which JSON.parse has just refused. Kept hand-written:
 * Node 20's messages do not always give a position (`{"a": tru}` names neither line nor the `t`)
 * and no JSON library says what was expected where; clients deserve both. Iterative, with an explicit stack, because
 * the input can nest as deep as the body limit allows.
 */
function locateJsonError(text: string): JsonErrorLocation | undefined {
  type Expectation = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'commaOrClose' | 'end';
  const describe: Record<Exclude<Expectation, 'commaOrClose'>, string> = {
    value: 'a value',
    valueOrClose: "a value or ']'",
    key: 'a property name in double quotes',
    keyOrClose: "a property name in double quotes or '}'",
    colon: "':'",
    end: 'the end of the document',
  };
  const open: ('{' | '[')[] = [];
  let at = 0;
  let expect: Expectation = 'value';
  const afterValue = (): Expectation => (open.length === 0 ? 'end' : 'commaOrClose');
  const fail = (position: number, expected: string): JsonErrorLocation => {
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    const char = text[position];
    return {
      line,
      column,
      expected,
      found: char === undefined ? 'the end of the body' : JSON.stringify(char),
    };
  };

  for (;;) {
    at = skipWhitespace(text, at);
    const char = text[at];
    if (expect === 'end') return char === undefined ? undefined : fail(at, describe.end);
    if (expect === 'commaOrClose') {
      const top = open[open.length - 1];
      const close = top === '{' ? '}' : ']';
      if (char === ',') {
        expect = top === '{' ? 'key' : 'value';
        at += 1;
      } else if (char === close) {
        open.pop();
        expect = afterValue();
        at += 1;
      } else {
        return fail(at, `',' or '${close}'`);
      }
      continue;
    }
    if (expect === 'colon') {
      if (char !== ':') return fail(at, describe.colon);
      expect = 'value';
      at += 1;
      continue;
    }
    if (expect === 'key' || expect === 'keyOrClose') {
      if (expect === 'keyOrClose' && char === '}') {
        open.pop();
        expect = afterValue();
        at += 1;
        continue;
      }
      if (char !== '"') return fail(at, describe[expect]);
      const end = scanString(text, at);
      if (typeof end !== 'number') return fail(end.at, end.expected);
      expect = 'colon';
      at = end;
      continue;
    }
    // A value is expected.
    if (expect === 'valueOrClose' && char === ']') {
      open.pop();
      expect = afterValue();
      at += 1;
      continue;
    }
    if (char === '{' || char === '[') {
      open.push(char);
      expect = char === '{' ? 'keyOrClose' : 'valueOrClose';
      at += 1;
      continue;
    }
    const end = scanScalar(text, at);
    if (end === undefined) return fail(at, describe[expect]);
    if (typeof end !== 'number') return fail(end.at, end.expected);
    expect = afterValue();
    at = end;
  }
}

type ScanResult = number | { readonly at: number; readonly expected: string };

function skipWhitespace(text: string, from: number): number {
  let at = from;
  while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at += 1;
  return at;
}

/** The end of the scalar at `from`, a located error inside it, or undefined if none starts there. */
function scanScalar(text: string, from: number): ScanResult | undefined {
  const char = text[from];
  if (char === '"') return scanString(text, from);
  for (const literal of ['true', 'false', 'null']) {
    if (text.startsWith(literal, from)) return from + literal.length;
  }
  if (char === '-' || isDigit(char)) return scanNumber(text, from);
  return undefined;
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9';
}

function scanNumber(text: string, from: number): ScanResult {
  let at = from;
  const digits = (): ScanResult => {
    if (!isDigit(text[at])) return { at, expected: 'a digit' };
    while (isDigit(text[at])) at += 1;
    return at;
  };
  if (text[at] === '-') at += 1;
  // A leading zero stands alone: `01` is the number 0 followed by junk.
  const integer = text[at] === '0' ? (at += 1) : digits();
  if (typeof integer !== 'number') return integer;
  if (text[at] === '.') {
    at += 1;
    const fraction = digits();
    if (typeof fraction !== 'number') return fraction;
  }
  if (text[at] === 'e' || text[at] === 'E') {
    at += 1;
    if (text[at] === '+' || text[at] === '-') at += 1;
    const exponent = digits();
    if (typeof exponent !== 'number') return exponent;
  }
  return at;
}

function scanString(text: string, from: number): ScanResult {
  let at = from + 1;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code === 0x22) return at + 1;
    if (code < 0x20) return { at, expected: 'no control character inside a string (escape it)' };
    if (code === 0x5c) {
      const escape = text[at + 1];
      if (escape === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) {
          return { at: at + 2, expected: 'four hexadecimal digits after \\u' };
        }
        at += 6;
        continue;
      }
      if (escape === undefined || !'"\\/bfnrt'.includes(escape)) {
        return { at: at + 1, expected: 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)' };
      }
      at += 2;
      continue;
    }
    at += 1;
  }
  return { at, expected: "'\"' to close the string" };
}

export interface RunningHttpServer {
  /** Base URL to reach the server, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, lets requests in flight finish, then resolves. Connections
   * still busy after `shutdownTimeoutMs` are cut. Safe to call more than once.
   */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  /** Default 10 s: below the usual 30 s between a supervisor's SIGTERM and its SIGKILL. */
  readonly shutdownTimeoutMs?: number;
}

export async function startHttpServer(
  app: { callback(): (req: IncomingMessage, res: ServerResponse) => unknown },
  port: number,
  host = '127.0.0.1',
  options: HttpServerOptions = {},
): Promise<RunningHttpServer> {
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const handle = app.callback();
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;

  const server = createServer((req, res) => {
    inFlight.add(res);
    // Keep-alive connections outlive their requests; during shutdown, close each one as soon
    // as its last response is out instead of waiting for the client to hang up.
    if (closing !== undefined) res.setHeader('Connection', 'close');
    res.on('close', () => {
      inFlight.delete(res);
      if (closing !== undefined) setImmediate(() => server.closeIdleConnections());
    });
    handle(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`, { cause: error }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });

  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the HTTP server has no TCP address');
  const url = `http://${urlHost(address)}:${address.port}`;

  return {
    url,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), shutdownTimeoutMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function urlHost(address: AddressInfo): string {
  // A wildcard address is where the server listens, not where a client can reach it.
  if (address.address === '0.0.0.0') return '127.0.0.1';
  if (address.address === '::') return '[::1]';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

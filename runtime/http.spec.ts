import Router from '@koa/router';
import type Koa from 'koa';
import { MongoNetworkError } from 'mongodb';
import { Counter, Registry } from 'prom-client';
import { ProblemError, validationProblem } from './errors';
import { createLogger } from './log';
import { createRuntimeMetrics } from './metrics';
import {
  createHttpApp,
  createMetricsApp,
  readJsonBody,
  startHttpServer,
  type HealthReport,
  type HttpAppOptions,
  type ReadinessReport,
  type RunningHttpServer,
} from './http';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface Harness {
  readonly server: RunningHttpServer;
  readonly app: Koa;
  /** Errors the app reported as server errors (its `error` event). */
  readonly reported: unknown[];
}

const servers: RunningHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(overrides: Partial<HttpAppOptions> = {}): Promise<Harness> {
  const app = createHttpApp({
    metricsRegistry: new Registry(),
    health: () => ({ status: 'up' }),
    readiness: async () => ({ ready: true, reasons: [] }),
    routers: [],
    bodyLimitBytes: 1024,
    ...overrides,
  });
  const reported: unknown[] = [];
  app.on('error', (error: unknown) => reported.push(error));
  const server = await startHttpServer(app, 0);
  servers.push(server);
  return { server, app, reported };
}

async function json(response: Response): Promise<unknown> {
  return JSON.parse(await response.text());
}

describe('operational endpoints', () => {
  it('GET /health answers 200 with the report while the process is up', async () => {
    const { server } = await start({ health: () => ({ status: 'up', details: { consumers: 2 } }) });
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await json(response)).toEqual({ status: 'up', details: { consumers: 2 } });
  });

  it('GET /health answers 503 when the process is down, or when the check itself throws', async () => {
    let report = (): HealthReport => ({ status: 'down', details: { crashed: 'inventory' } });
    const { server } = await start({ health: () => report() });

    const down = await fetch(`${server.url}/health`);
    expect(down.status).toBe(503);
    expect(await json(down)).toEqual({ status: 'down', details: { crashed: 'inventory' } });

    report = () => {
      throw new Error('health check broke');
    };
    const broken = await fetch(`${server.url}/health`);
    expect(broken.status).toBe(503);
    expect(await json(broken)).toEqual({ status: 'down', details: { error: 'health check broke' } });
  });

  it('GET /ready answers 200 when ready and 503 with the reasons when not', async () => {
    let report: ReadinessReport = { ready: true, reasons: [] };
    const { server } = await start({ readiness: async () => report });

    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({ status: 'ready', reasons: [] });

    report = { ready: false, reasons: ['group inventory has not joined', 'group tracking lags 42 records'] };
    const notReady = await fetch(`${server.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(await json(notReady)).toEqual({
      status: 'not ready',
      reasons: ['group inventory has not joined', 'group tracking lags 42 records'],
    });
  });

  it('GET /ready answers 503 when the check fails or does not answer in time', async () => {
    let readiness = (): Promise<ReadinessReport> => Promise.reject(new Error('admin client disconnected'));
    const { server } = await start({ readiness: () => readiness(), readinessTimeoutMs: 100 });

    const failed = await fetch(`${server.url}/ready`);
    expect(failed.status).toBe(503);
    expect(await json(failed)).toEqual({
      status: 'not ready',
      reasons: ['the readiness check failed: admin client disconnected'],
    });

    readiness = () => {
      throw new Error('not even a promise');
    };
    const thrown = await fetch(`${server.url}/ready`);
    expect(thrown.status).toBe(503);
    expect(await json(thrown)).toMatchObject({ reasons: ['the readiness check failed: not even a promise'] });

    readiness = () => new Promise<ReadinessReport>(() => undefined);
    const hung = await fetch(`${server.url}/ready`);
    expect(hung.status).toBe(503);
    expect(await json(hung)).toEqual({
      status: 'not ready',
      reasons: ['the readiness check did not answer within 100 ms'],
    });
  });

  it('GET /metrics serves the given registry in the Prometheus text format, on its own app only', async () => {
    const registry = new Registry();
    new Counter({ name: 'scm_spec_total', help: 'A counter of the spec.', registers: [registry] }).inc(7);
    const { server } = await start({ metricsRegistry: registry });
    const metricsServer = await startHttpServer(createMetricsApp(registry), 0);
    servers.push(metricsServer);

    const response = await fetch(`${metricsServer.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text).toContain('# TYPE scm_spec_total counter');
    expect(text).toContain('scm_spec_total 7');
    // The API's port serves no metrics, and the metrics port nothing else.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${metricsServer.url}/health`)).status).toBe(404);
  });
});

describe('request metrics', () => {
  it('counts and times requests by method, route template and status, never by raw path', async () => {
    const registry = new Registry();
    const router = new Router();
    router.get('/orders/:id', (ctx) => {
      if (ctx.params['id'] === 'missing') throw new ProblemError(404, 'No such order.');
      ctx.body = { id: ctx.params['id'] };
    });
    const { server } = await start({ metricsRegistry: registry, routers: [router] });

    for (const id of ['ORD-1', 'ORD-2', 'missing']) await (await fetch(`${server.url}/orders/${id}`)).text();
    await (await fetch(`${server.url}/no/such/path/42`)).text();
    await (await fetch(`${server.url}/orders/ORD-3`, { method: 'DELETE' })).text();

    const text = await registry.metrics();
    const samples = text.split('\n').filter((line) => line.startsWith('scm_http_requests_total{'));
    expect(samples.sort()).toEqual(
      [
        'scm_http_requests_total{method="GET",route="/orders/:id",status="200"} 2',
        'scm_http_requests_total{method="GET",route="/orders/:id",status="404"} 1',
        'scm_http_requests_total{method="GET",route="unmatched",status="404"} 1',
        'scm_http_requests_total{method="DELETE",route="unmatched",status="405"} 1',
      ].sort(),
    );
    expect(text).toContain(
      'scm_http_request_duration_seconds_count{method="GET",route="/orders/:id",status="200"} 2',
    );
    expect(text).not.toContain('ORD-1');
  });

  it('shares the metrics a registry already has (the runtime creates them first)', async () => {
    const registry = new Registry();
    const metrics = createRuntimeMetrics(registry);
    const { server } = await start({ metricsRegistry: registry });
    await (await fetch(`${server.url}/health`)).text();
    expect(await metrics.http.requests.get()).toMatchObject({
      values: [{ labels: { method: 'GET', route: '/health', status: '200' }, value: 1 }],
    });
  });
});

describe('problem responses', () => {
  const problemType = /^application\/problem\+json/;

  function throwingRouter(): Router {
    const router = new Router();
    router.get('/orders/:id', (ctx) => {
      throw new ProblemError(404, `No order ${ctx.params['id']}.`, { code: 'ORDER_NOT_FOUND' });
    });
    router.post('/orders', () => {
      throw validationProblem([
        { field: '/items/0/quantity', message: 'must be a positive integer' },
        { field: '/deliverySlot', message: 'is required' },
      ]);
    });
    router.get('/bug', (ctx) => {
      ctx.set('Location', '/half-built');
      throw new Error('cannot read password of undefined at db.ts:42');
    });
    router.get('/string', () => {
      throw 'a thrown string';
    });
    router.get('/store-down', () => {
      throw new MongoNetworkError('connection 4 to 10.0.0.7:27017 closed');
    });
    router.get('/koa-throw', (ctx) => {
      ctx.throw(409, 'The order is already shipped.');
    });
    router.get('/bare-status', (ctx) => {
      ctx.status = 403;
    });
    return router;
  }

  it('maps a ProblemError to its status, code and detail', async () => {
    const { server } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/orders/42`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(problemType);
    expect(await json(response)).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No order 42.',
      instance: '/orders/42',
      code: 'ORDER_NOT_FOUND',
    });
  });

  it('names every invalid field in the errors extension', async () => {
    const { server } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/orders`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({
      title: 'Invalid request',
      status: 400,
      code: 'VALIDATION_FAILED',
      errors: [
        { field: '/items/0/quantity', message: 'must be a positive integer' },
        { field: '/deliverySlot', message: 'is required' },
      ],
    });
  });

  it('answers 500 for an unknown error without leaking its message, stack or headers, and reports it', async () => {
    const { server, reported } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/bug`);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(problemType);
    expect(response.headers.get('location')).toBeNull();
    const text = await response.text();
    expect(text).not.toMatch(/password|db\.ts|at /);
    expect(JSON.parse(text)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'The server failed to handle this request.',
      instance: '/bug',
      code: 'UNEXPECTED',
    });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toHaveProperty('message', 'cannot read password of undefined at db.ts:42');
  });

  it('reports a thrown non-error as an Error', async () => {
    const { server, reported } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/string`);
    expect(response.status).toBe(500);
    expect(reported[0]).toBeInstanceOf(Error);
    expect(reported[0]).toHaveProperty('message', 'a thrown string');
  });

  it('answers 503 with the code when a dependency is unavailable', async () => {
    const { server, reported } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/store-down`);
    expect(response.status).toBe(503);
    const body = await json(response);
    expect(body).toMatchObject({ status: 503, title: 'Service Unavailable', code: 'STORE_UNAVAILABLE' });
    expect(JSON.stringify(body)).not.toContain('10.0.0.7');
    expect(reported).toHaveLength(1);
  });

  it("keeps the exposed message of Koa's ctx.throw", async () => {
    const { server, reported } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/koa-throw`);
    expect(response.status).toBe(409);
    expect(await json(response)).toMatchObject({
      status: 409,
      title: 'Conflict',
      detail: 'The order is already shipped.',
    });
    expect(reported).toHaveLength(0);
  });

  it('gives a bare error status a problem body', async () => {
    const { server } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/bare-status`);
    expect(response.status).toBe(403);
    expect(await json(response)).toMatchObject({ status: 403, title: 'Forbidden' });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const { server } = await start({ routers: [throwingRouter()] });
    const response = await fetch(`${server.url}/nowhere?x=1`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(problemType);
    expect(await json(response)).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No resource at /nowhere.',
      instance: '/nowhere',
      code: 'NOT_FOUND',
    });
  });

  it('answers a known path with a wrong method with a 405 problem and Allow', async () => {
    const { server } = await start();
    const response = await fetch(`${server.url}/health`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toContain('GET');
    expect(await json(response)).toMatchObject({ status: 405, detail: 'DELETE is not allowed on /health.' });
  });
});

describe('readJsonBody', () => {
  const routeLimit = 256;

  async function startEcho(): Promise<{ url: string; calls: () => number }> {
    let calls = 0;
    const router = new Router();
    router.post('/echo', async (ctx) => {
      calls += 1;
      ctx.body = { received: await readJsonBody(ctx, routeLimit) };
    });
    const { server } = await start({ routers: [router], bodyLimitBytes: 1024 });
    return { url: `${server.url}/echo`, calls: () => calls };
  }

  const post = (
    url: string,
    body: string | Uint8Array,
    contentType?: string,
    headers: Record<string, string> = {},
  ) =>
    fetch(url, {
      method: 'POST',
      body,
      headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...headers },
    });

  it.each([
    ['application/json', '{"sku":"KIM-1","quantity":2}', { sku: 'KIM-1', quantity: 2 }],
    ['application/json; charset=utf-8', '[1, 2.5e3, "주문", null, true]', [1, 2500, '주문', null, true]],
    ['Application/JSON; Charset="UTF-8"', '"text"', 'text'],
    ['application/merge-patch+json', '{"address":null}', { address: null }],
  ])('reads %s', async (contentType, body, expected) => {
    const { url } = await startEcho();
    const response = await post(url, body, contentType);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ received: expected });
  });

  it.each<[string, string | undefined, Record<string, string>, string]>([
    ['no content type', undefined, {}, 'The request has no Content-Type.'],
    ['text/plain', 'text/plain', {}, 'Content-Type text/plain is not accepted.'],
    ['form data', 'application/x-www-form-urlencoded', {}, 'is not accepted'],
    ['JSON in Latin-1', 'application/json; charset=iso-8859-1', {}, 'Charset iso-8859-1 is not accepted'],
    [
      'a compressed body',
      'application/json',
      { 'content-encoding': 'gzip' },
      'Compressed request bodies (gzip)',
    ],
  ])('answers 415 for %s', async (_case, contentType, headers, detail) => {
    const { url } = await startEcho();
    // Bytes, not a string: fetch would label a string text/plain.
    const response = await post(url, new TextEncoder().encode('{}'), contentType, headers);
    expect(response.status).toBe(415);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await json(response)).toMatchObject({ status: 415, detail: expect.stringContaining(detail) });
  });

  it('answers 413 when Content-Length exceeds the route limit, without reading the body', async () => {
    const { url } = await startEcho();
    const response = await post(url, JSON.stringify({ pad: 'x'.repeat(routeLimit) }), 'application/json');
    expect(response.status).toBe(413);
    expect(await json(response)).toMatchObject({
      status: 413,
      title: 'Payload Too Large',
      code: 'PAYLOAD_TOO_LARGE',
      detail: `The request body exceeds the limit of ${routeLimit} bytes.`,
    });
  });

  it("answers 413 before any route runs when Content-Length exceeds the app's limit", async () => {
    const { url, calls } = await startEcho();
    const response = await post(url, JSON.stringify({ pad: 'x'.repeat(5000) }), 'application/json');
    expect(response.status).toBe(413);
    expect(await json(response)).toMatchObject({
      detail: 'The request body exceeds the limit of 1024 bytes.',
    });
    expect(calls()).toBe(0);
  });

  it('answers 413 for a body sent without a length once it passes the limit', async () => {
    const { url } = await startEcho();
    const chunk = new TextEncoder().encode(' '.repeat(100));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1;
        if (sent > 20) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    });
    expect(response.status).toBe(413);
    expect(await json(response)).toMatchObject({ status: 413 });
  });

  it('still serves the connection after a rejected body', async () => {
    const { url } = await startEcho();
    expect((await post(url, 'x'.repeat(500), 'application/json')).status).toBe(413);
    expect((await post(url, '{"ok":true}', 'application/json')).status).toBe(200);
  });

  it.each<[string, string | Uint8Array, string]>([
    ['an empty body', '', 'The request body is empty; a JSON document was expected.'],
    ['only whitespace', ' \n ', 'The request body is empty; a JSON document was expected.'],
    [
      'bytes that are not UTF-8',
      new Uint8Array([0x22, 0xff, 0xfe, 0x22]),
      'The request body is not valid UTF-8.',
    ],
    [
      'a trailing comma',
      '{"a": 1,}',
      'at line 1, column 9: expected a property name in double quotes, found "}"',
    ],
    ['a missing colon', '{"a" 1}', 'at line 1, column 6: expected \':\', found "1"'],
    ['a missing comma', '[1 2]', "at line 1, column 4: expected ',' or ']', found \"2\""],
    ['a bad literal on line 2', '{\n  "a": tru\n}', 'at line 2, column 8: expected a value, found "t"'],
    [
      'single quotes',
      "{'a': 1}",
      "at line 1, column 2: expected a property name in double quotes or '}', found \"'\"",
    ],
    [
      'an unclosed object',
      '{"a": [1, 2]',
      "at line 1, column 13: expected ',' or '}', found the end of the body",
    ],
    [
      'an unterminated string',
      '["abc',
      "at line 1, column 6: expected '\"' to close the string, found the end of the body",
    ],
    ['a bad escape', '["a\\x"]', 'at line 1, column 5: expected a valid escape'],
    ['a number without digits after the point', '[1.]', 'at line 1, column 4: expected a digit, found "]"'],
    ['a lone minus', '-', 'at line 1, column 2: expected a digit, found the end of the body'],
    ['trailing data', '{} {}', 'at line 1, column 4: expected the end of the document, found "{"'],
    [
      'a raw newline in a string',
      '["a\nb"]',
      'at line 1, column 4: expected no control character inside a string',
    ],
  ])('answers 400 for %s, saying where', async (_case, body, detail) => {
    const { url } = await startEcho();
    const response = await post(url, body, 'application/json');
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ status: 400, detail: expect.stringContaining(detail) });
  });

  it('locates errors in deeply nested input without overflowing the stack', async () => {
    const router = new Router();
    router.post('/deep', async (ctx) => {
      ctx.body = { received: await readJsonBody(ctx, 1_000_000) };
    });
    const { server } = await start({ routers: [router], bodyLimitBytes: 1_000_000 });
    const response = await post(`${server.url}/deep`, '['.repeat(200_000) + '}', 'application/json');
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({
      detail: expect.stringContaining(`at line 1, column 200001: expected a value or ']', found "}"`),
    });
  });
});

describe('startHttpServer', () => {
  it('gives a URL that reaches the app', async () => {
    const { server } = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url.endsWith(`:${server.port}`)).toBe(true);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('refuses a port that is taken, saying which', async () => {
    const { server } = await start();
    await expect(startHttpServer(createHttpAppForSpec(), server.port)).rejects.toThrow(
      `cannot listen on 127.0.0.1:${server.port}`,
    );
  });

  it('on close, stops accepting, lets the request in flight finish, then resolves', async () => {
    const entered = deferred<void>();
    const release = deferred<void>();
    const router = new Router();
    router.get('/slow', async (ctx) => {
      entered.resolve();
      await release.promise;
      ctx.body = { done: true };
    });
    const app = createHttpAppForSpec([router]);
    const server = await startHttpServer(app, 0, '127.0.0.1', { shutdownTimeoutMs: 10_000 });

    const slow = fetch(`${server.url}/slow`);
    await entered.promise;
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    expect(server.close()).toBe(server.close());

    await expect(fetch(`${server.url}/health`)).rejects.toThrow('fetch failed');
    expect(closed).toBe(false);

    release.resolve();
    const response = await slow;
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ done: true });
    await closing;
    expect(closed).toBe(true);
  });

  it('closes promptly when only idle keep-alive connections remain', async () => {
    const app = createHttpAppForSpec();
    const server = await startHttpServer(app, 0, '127.0.0.1', { shutdownTimeoutMs: 10_000 });
    const response = await fetch(`${server.url}/health`);
    await response.text();

    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('cuts requests still running after the shutdown timeout', async () => {
    const entered = deferred<void>();
    const router = new Router();
    router.get('/stuck', async () => {
      entered.resolve();
      await new Promise<void>(() => undefined);
    });
    const server = await startHttpServer(createHttpAppForSpec([router]), 0, '127.0.0.1', {
      shutdownTimeoutMs: 100,
    });

    const stuck = fetch(`${server.url}/stuck`).then(
      () => 'answered',
      () => 'cut',
    );
    await entered.promise;
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(await stuck).toBe('cut');
  });
});

function createHttpAppForSpec(routers: Router[] = []): Koa {
  const app = createHttpApp({
    metricsRegistry: new Registry(),
    health: () => ({ status: 'up' }),
    readiness: async () => ({ ready: true, reasons: [] }),
    routers,
    bodyLimitBytes: 1024,
  });
  app.on('error', () => undefined);
  return app;
}

describe('request ids', () => {
  async function withLog() {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('debug', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const router = new Router();
    router.get('/orders/:id', (ctx) => {
      log.info('looking up', { id: ctx.params['id'] });
      if (ctx.params['id'] === 'missing') throw new ProblemError(404, 'No such order.');
      if (ctx.params['id'] === 'broken') throw new Error('bug');
      ctx.body = { id: ctx.params['id'] };
    });
    const harness = await start({ routers: [router], log });
    harness.app.on('error', (error: unknown) => log.error('request failed', { error }));
    return { ...harness, lines };
  }

  it("echoes the caller's X-Request-Id and puts it on every log line of the request", async () => {
    const { server, lines } = await withLog();
    const response = await fetch(`${server.url}/orders/ORD-1?token=secret`, {
      headers: { 'X-Request-Id': 'edge-7f3a' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('edge-7f3a');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', message: 'looking up', requestId: 'edge-7f3a', id: 'ORD-1' }),
      expect.objectContaining({
        level: 'debug',
        message: 'http request',
        requestId: 'edge-7f3a',
        method: 'GET',
        path: '/orders/ORD-1',
        status: 200,
        durationMs: expect.any(Number),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('makes one when the caller gives none or an unusable one, and keeps it on problem responses', async () => {
    const { server, lines } = await withLog();
    const answers = await Promise.all([
      fetch(`${server.url}/orders/missing`),
      fetch(`${server.url}/orders/broken`, { headers: { 'X-Request-Id': 'a b\tc' } }),
      fetch(`${server.url}/nowhere`, { headers: { 'X-Request-Id': 'x'.repeat(200) } }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([404, 500, 404]);
    const ids = answers.map((answer) => answer.headers.get('x-request-id'));
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(3);
    const failed = lines.find((line) => line.message === 'request failed');
    expect(failed).toMatchObject({ requestId: ids[1], error: { type: 'Error', message: 'bug' } });
  });
});

import { createLogger, withLogFields, withoutCredentials, type LogLevel } from './log';
import { permanent, transient } from './errors';

function capture(level: LogLevel = 'debug', base = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, base, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { log, lines };
}

describe('log lines', () => {
  it('are one JSON object with time, level, message, the bound and the given fields', () => {
    const { log, lines } = capture('debug', { process: 'inventory' });
    log.child({ group: 'inventory' }).info('joined group', { partitions: 3 });
    expect(lines).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        pid: process.pid,
        process: 'inventory',
        group: 'inventory',
        partitions: 3,
        message: 'joined group',
      },
    ]);
  });

  it('below the level are not written', () => {
    const { log, lines } = capture('info');
    log.debug('per event');
    log.info('kept');
    log.child({ a: 1 }).debug('per event too');
    expect(lines.map((line) => line.message)).toEqual(['kept']);
  });

  it('hold a field bound twice once, the innermost value winning', () => {
    const raw: string[] = [];
    const log = createLogger('info', { group: 'base' }, (line) => raw.push(line));
    log.child({ group: 'outer' }).child({ group: 'inner' }).info('x', { group: 'line' });
    log.child({ group: 'outer' }).child({ group: 'inner' }).info('y');
    expect(raw.map((line) => line.match(/"group"/g)?.length)).toEqual([1, 1]);
    expect(raw.map((line) => (JSON.parse(line) as { group: string }).group)).toEqual(['line', 'inner']);
  });
});

describe('errors in log lines', () => {
  it('carry the whole chain: type, message, code, category, details, stack and cause, recursively', () => {
    const { log, lines } = capture();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    const error = transient('STORE_UNAVAILABLE', 'the store is unreachable', refused, {
      collection: 'orders',
    });
    log.error('write failed', { error });
    expect(lines[0]?.error).toEqual({
      type: 'PlatformError',
      message: 'the store is unreachable',
      code: 'STORE_UNAVAILABLE',
      category: 'transient',
      details: { collection: 'orders' },
      stack: expect.stringContaining('PlatformError: the store is unreachable\n    at '),
      cause: {
        type: 'Error',
        message: 'connect ECONNREFUSED 127.0.0.1:27017',
        code: 'ECONNREFUSED',
        syscall: 'connect',
        stack: expect.stringContaining('Error: connect ECONNREFUSED'),
      },
    });
  });

  it('that are not platform errors get the category the runner would give them', () => {
    const { log, lines } = capture();
    log.warn('a', { error: new TypeError('x is undefined') });
    log.warn('b', { error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    expect(lines.map((line) => (line.error as { category: string }).category)).toEqual([
      'permanent',
      'transient',
    ]);
  });

  it("show an AggregateError's errors, and survive a cycle", () => {
    const { log, lines } = capture();
    const looped = new Error('outer') as Error & { cause?: unknown };
    looped.cause = looped;
    log.error('both', {
      error: new AggregateError([new Error('::1 refused'), new Error('127.0.0.1 refused')], 'connect failed'),
      other: looped,
    });
    const [line] = lines;
    expect((line?.error as { errors: { message: string }[] }).errors.map((inner) => inner.message)).toEqual([
      '::1 refused',
      '127.0.0.1 refused',
    ]);
    expect((line?.other as { cause: unknown }).cause).toBe('[circular]');
  });

  it('are found anywhere in the fields, not only under `error`', () => {
    const { log, lines } = capture();
    log.warn('failed', { attempts: [{ failure: permanent('INVALID_CONTENT', 'bad sku') }] });
    expect(lines[0]?.attempts).toEqual([
      {
        failure: expect.objectContaining({
          type: 'PlatformError',
          code: 'INVALID_CONTENT',
          message: 'bad sku',
        }),
      },
    ]);
  });
});

describe('secrets', () => {
  it('are censored under any field name that looks like one, at any depth', () => {
    const { log, lines } = capture('debug', { apiKey: 'k-1' });
    log.child({ auth: { password: 'p', token: 't' } }).info('request', {
      headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'x-request-id': 'r-1' },
      deep: { deeper: { deepest: { clientSecret: 's', sessionToken: 't' } } },
      key: 'ORD-1',
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ['k-1', '"p"', '"t"', 'Bearer abc', 'sid=1', '"s"'])
      expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      apiKey: '[redacted]',
      auth: { password: '[redacted]', token: '[redacted]' },
      headers: { authorization: '[redacted]', cookie: '[redacted]', 'x-request-id': 'r-1' },
      deep: { deeper: { deepest: { clientSecret: '[redacted]', sessionToken: '[redacted]' } } },
      // Kafka message keys (order ids) are not secrets.
      key: 'ORD-1',
    });
  });

  it('in URLs lose their credentials, in fields, bindings, error messages and stacks', () => {
    const { log, lines } = capture('debug', { mongoUrl: 'mongodb://app:s3cret@db.internal:27017/scm' });
    const error = new Error('cannot reach mongodb://app:s3cret@db.internal:27017/scm');
    log.child({ registry: 'https://user:pw@registry/apis' }).error('down', { error, kafka: 'kafka:9092' });
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('user:pw');
    expect(lines[0]).toMatchObject({
      mongoUrl: 'mongodb://[redacted]@db.internal:27017/scm',
      registry: 'https://[redacted]@registry/apis',
      kafka: 'kafka:9092',
      error: { message: 'cannot reach mongodb://[redacted]@db.internal:27017/scm' },
    });
    expect(withoutCredentials('mongodb://127.0.0.1:17017/')).toBe('mongodb://127.0.0.1:17017/');
  });
});

describe('withLogFields', () => {
  it('puts its fields on every line logged inside it, across awaits, nested scopes adding to outer ones', async () => {
    const { log, lines } = capture();
    const child = log.child({ component: 'http' });
    await withLogFields({ requestId: 'r-1' }, async () => {
      child.info('start');
      await new Promise((resolve) => setTimeout(resolve, 1));
      await withLogFields({ correlationId: 'ORD-1' }, async () => log.info('inner'));
      log.info('end');
    });
    log.info('outside');
    expect(
      lines.map(({ message, requestId, correlationId }) => ({ message, requestId, correlationId })),
    ).toEqual([
      { message: 'start', requestId: 'r-1', correlationId: undefined },
      { message: 'inner', requestId: 'r-1', correlationId: 'ORD-1' },
      { message: 'end', requestId: 'r-1', correlationId: undefined },
      { message: 'outside', requestId: undefined, correlationId: undefined },
    ]);
  });
});

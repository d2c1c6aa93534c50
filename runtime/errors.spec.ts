import { createServer } from 'node:net';
import { connect } from 'node:net';
import { Kafka, KafkaJSNonRetriableError, KafkaJSProtocolError, logLevel } from 'kafkajs';
import { MongoClient, MongoNetworkError, MongoNetworkTimeoutError, MongoServerError } from 'mongodb';
import {
  classify,
  errorCodes,
  isTransient,
  permanent,
  PlatformError,
  ProblemError,
  transient,
  validationProblem,
} from './errors';

/** A local port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return address.port;
}

/** kafkajs builds protocol errors from an entry of its error-code table, as here. */
function protocolError(type: string, code: number, retriable: boolean): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(`${type} (${code})`), { type, code, retriable }));
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('PlatformError', () => {
  it('carries code, category, cause and details', () => {
    const cause = new Error('socket closed');
    const error = transient(errorCodes.STORE_UNAVAILABLE, 'store is down', cause, { collection: 'stock' });

    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(PlatformError);
    expect(error.name).toBe('PlatformError');
    expect(error.message).toBe('store is down');
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.category).toBe('transient');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ collection: 'stock' });
  });

  it('has empty details and no cause unless given', () => {
    const error = permanent(errorCodes.UNDECODABLE, 'random bytes');
    expect(error.category).toBe('permanent');
    expect(error.details).toEqual({});
    expect('cause' in error).toBe(false);
  });

  it('is returned unchanged by classify, even when its cause looks transient', () => {
    const error = permanent(errorCodes.INVALID_CONTENT, 'quantity < 0', new MongoNetworkError('reset'));
    expect(classify(error)).toBe(error);
    expect(isTransient(error)).toBe(false);
  });
});

describe('ProblemError', () => {
  it('defaults type, code and category from the status', () => {
    const notFound = new ProblemError(404, 'No order 42');
    expect(notFound).toBeInstanceOf(PlatformError);
    expect(notFound.name).toBe('ProblemError');
    expect(notFound.type).toBe('about:blank');
    expect(notFound.code).toBe('NOT_FOUND');
    expect(notFound.category).toBe('permanent');
    expect(notFound.errors).toEqual([]);

    expect(new ProblemError(503, 'store down').category).toBe('transient');
    expect(new ProblemError(500, 'bug').code).toBe('UNEXPECTED');
    expect(new ProblemError(409, 'too late').code).toBe('HTTP_409');
  });

  it('refuses a status that is not an HTTP error', () => {
    expect(() => new ProblemError(200, 'fine')).toThrow(RangeError);
    expect(() => new ProblemError(600, 'odd')).toThrow(RangeError);
  });

  it('validationProblem names every field in the detail and the errors extension', () => {
    const problem = validationProblem([
      { field: '/items/0/quantity', message: 'must be positive' },
      { field: '/address', message: 'is required' },
    ]);
    expect(problem.status).toBe(400);
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.message).toBe(
      'The request is invalid: /items/0/quantity: must be positive; /address: is required',
    );
    expect(problem.errors).toHaveLength(2);
  });
});

describe('classify', () => {
  it.each<[string, unknown, string]>([
    [
      'a retriable kafkajs protocol error',
      protocolError('LEADER_NOT_AVAILABLE', 5, true),
      'BROKER_UNAVAILABLE',
    ],
    ['a mongo network error', new MongoNetworkError('connection reset'), 'STORE_UNAVAILABLE'],
    ['a mongo network timeout', new MongoNetworkTimeoutError('timed out'), 'STORE_UNAVAILABLE'],
    [
      'a mongo server error labelled RetryableWriteError',
      new MongoServerError({ message: 'interrupted', errorLabels: ['RetryableWriteError'] }),
      'STORE_UNAVAILABLE',
    ],
    [
      'a mongo server error with a retryable code and no label (FerretDB, old servers)',
      new MongoServerError({ message: 'not primary', code: 10107 }),
      'STORE_UNAVAILABLE',
    ],
    [
      'a system error with code ECONNRESET',
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      'NETWORK_UNAVAILABLE',
    ],
    [
      'a system error with code ETIMEDOUT',
      Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }),
      'NETWORK_UNAVAILABLE',
    ],
    [
      'an abort by AbortSignal.timeout',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'NETWORK_UNAVAILABLE',
    ],
    [
      'an application error caused by a refused connection',
      new Error('could not load schema', {
        cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      }),
      'NETWORK_UNAVAILABLE',
    ],
    [
      'an error caused by a transient PlatformError',
      new Error('wrapped', { cause: transient(errorCodes.REGISTRY_UNAVAILABLE, 'registry down') }),
      'REGISTRY_UNAVAILABLE',
    ],
  ])('treats %s as transient', (_name, error, code) => {
    const classified = classify(error);
    expect(classified.category).toBe('transient');
    expect(classified.code).toBe(code);
    expect(classified.cause).toBe(error);
    expect(isTransient(error)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('boom')],
    ['a TypeError from a bug', new TypeError("Cannot read properties of undefined (reading 'sku')")],
    ['a non-retriable kafkajs protocol error', protocolError('MESSAGE_TOO_LARGE', 10, false)],
    ['a kafkajs error wrapping a non-retriable one', new KafkaJSNonRetriableError(new Error('bad config'))],
    ['a mongo duplicate key error', new MongoServerError({ message: 'E11000 duplicate key', code: 11000 })],
    [
      'a system error that is not about the network',
      Object.assign(new Error('no such file'), { code: 'ENOENT' }),
    ],
    ['a thrown string', 'oops'],
    ['a thrown object', { reason: 'nope' }],
    ['undefined', undefined],
  ])('treats %s as permanent UNEXPECTED', (_name, error) => {
    const classified = classify(error);
    expect(classified.category).toBe('permanent');
    expect(classified.code).toBe('UNEXPECTED');
    expect(classified.cause).toBe(error);
    expect(isTransient(error)).toBe(false);
  });

  it('keeps the message and records the class of what was thrown', () => {
    expect(classify(new TypeError('x is undefined'))).toMatchObject({
      message: 'x is undefined',
      details: { errorClass: 'TypeError' },
    });
    expect(classify('oops')).toMatchObject({ message: 'oops', details: { errorClass: 'string' } });
    expect(classify({ reason: 'nope' }).message).toBe('non-error thrown: {"reason":"nope"}');
  });

  it('does not loop on a cyclic cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(classify(a).category).toBe('permanent');
  });

  describe('with real failures against a port nobody listens on', () => {
    let port: number;
    beforeAll(async () => {
      port = await closedPort();
    });

    it('a refused TCP connection is transient', async () => {
      const error = await new Promise<unknown>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', resolve);
      });
      expect(classify(error)).toMatchObject({ category: 'transient', code: 'NETWORK_UNAVAILABLE' });
    });

    it('a fetch that cannot connect is transient', async () => {
      const error = await rejectionOf(fetch(`http://127.0.0.1:${port}/subjects`));
      expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
      expect(classify(error)).toMatchObject({ category: 'transient', code: 'NETWORK_UNAVAILABLE' });
    });

    it('kafkajs giving up on an unreachable broker is transient, though its error says non-retriable', async () => {
      const kafka = new Kafka({
        clientId: 'errors-spec',
        brokers: [`127.0.0.1:${port}`],
        connectionTimeout: 500,
        retry: { retries: 0 },
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      const error = await rejectionOf(admin.connect());
      await admin.disconnect();

      expect(error).toMatchObject({ retriable: false });
      expect(classify(error)).toMatchObject({ category: 'transient', code: 'BROKER_UNAVAILABLE' });
    });

    it('mongodb failing server selection is transient', async () => {
      const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, {
        serverSelectionTimeoutMS: 300,
        connectTimeoutMS: 300,
      });
      try {
        const error = await rejectionOf(client.db('spec').collection('c').findOne({}));
        expect(error).toMatchObject({ name: 'MongoServerSelectionError' });
        expect(classify(error)).toMatchObject({ category: 'transient', code: 'STORE_UNAVAILABLE' });
      } finally {
        await client.close();
      }
    });
  });
});

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OrderCancelledV1Data } from '@contracts/generated';
import { errorCodes, type PlatformError } from './errors';
import {
  eventTypesWrittenBy,
  readWireFrame,
  RegistryClient,
  registerSchemas,
  Serde,
  wireHeader,
  type RegistryOperation,
} from './serde';

interface Call {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

/** A fake registry: schemas by id, subjects assigning ids by content; every call recorded. */
function fakeRegistry(options: { fail?: (call: Call) => Response | Error | undefined } = {}) {
  const calls: Call[] = [];
  const operations: RegistryOperation[] = [];
  const byId = new Map<number, string>();
  const idByContent = new Map<string, number>();
  const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const path = `${url.pathname.replace('/ccompat', '')}${url.search}`;
    const call: Call = {
      method: init?.method ?? 'GET',
      path,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const failure = options.fail?.(call);
    if (failure instanceof Error) throw failure;
    if (failure !== undefined) return failure;
    const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status });
    if (call.method === 'PUT') return json(200, call.body);
    if (call.method === 'POST') {
      const schema = (call.body as { schema: string }).schema;
      let id = idByContent.get(schema);
      if (id === undefined) {
        id = idByContent.size + 1;
        idByContent.set(schema, id);
        byId.set(id, schema);
      }
      return json(200, { id });
    }
    const match = /^\/schemas\/ids\/(\d+)$/.exec(path);
    const schema = match ? byId.get(Number(match[1])) : undefined;
    return schema === undefined
      ? json(404, { error_code: 40403, message: 'not found' })
      : json(200, { schema });
  };
  const client = new RegistryClient({
    url: 'http://registry.test/ccompat/',
    onRequest: (operation) => void operations.push(operation),
    fetch: fakeFetch as typeof fetch,
  });
  return { client, calls, operations, byId };
}

const metadata = (eventType: string, schemaVersion: number) => ({
  eventId: randomUUID(),
  eventType,
  occurredAt: new Date(1_767_322_800_000),
  correlationId: 'ORD-1',
  causationId: null,
  producer: 'order',
  schemaVersion,
});

const cancelled: OrderCancelledV1Data = { orderId: 'ORD-1', reason: 'CUSTOMER_REQUEST', comment: null };

async function failureOf(promise: Promise<unknown>): Promise<PlatformError> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as PlatformError,
  );
}

describe('wire format', () => {
  it('writes and reads the 5-byte header', () => {
    const header = wireHeader(258);
    expect([...header]).toEqual([0, 0, 0, 1, 2]);
    const frame = readWireFrame(Buffer.concat([header, Buffer.from([7, 8])]));
    expect(frame.schemaId).toBe(258);
    expect([...frame.body]).toEqual([7, 8]);
  });

  it.each([
    ['a wrong first byte', [1, 0, 0, 0, 1, 2], errorCodes.WRONG_MAGIC_BYTE],
    ['JSON', [...Buffer.from('{}')], errorCodes.WRONG_MAGIC_BYTE],
    ['an empty value', [], errorCodes.UNDECODABLE],
    ['a short header', [0, 0, 1], errorCodes.UNDECODABLE],
  ])('rejects %s as permanent', (_, bytes, code) => {
    let caught: unknown;
    try {
      readWireFrame(Buffer.from(bytes));
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code, category: 'permanent' });
  });
});

describe('registerSchemas', () => {
  it('sets FULL_TRANSITIVE, then registers every version in order, per subject', async () => {
    const { client, calls, operations } = fakeRegistry();
    const registered = await registerSchemas(client, { types: ['OrderPlaced'], topicOf: () => 't1' });
    const subject = encodeURIComponent('t1-com.scmplatform.order.OrderPlaced');
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `PUT /config/${subject}`,
      `POST /subjects/${subject}/versions`,
      `POST /subjects/${subject}/versions`,
    ]);
    expect(calls[0]?.body).toEqual({ compatibility: 'FULL_TRANSITIVE' });
    expect(operations).toEqual(['set_compatibility', 'register', 'register']);
    expect(registered.map((r) => [r.version, r.id])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('uses the catalogue topic by default', async () => {
    const { client } = fakeRegistry();
    const [first] = await registerSchemas(client, { types: ['StockReserved'] });
    expect(first?.subject).toBe('scm.inventory-events-com.scmplatform.scm.StockReserved');
  });

  it('refuses a rejected schema permanently', async () => {
    const { client } = fakeRegistry({
      fail: (call) =>
        call.method === 'POST' ? new Response('{"error_code":409}', { status: 409 }) : undefined,
    });
    const failure = await failureOf(registerSchemas(client, { types: ['OrderPlaced'] }));
    expect([failure.code, failure.category]).toEqual(['SCHEMA_REJECTED', 'permanent']);
  });
});

describe('eventTypesWrittenBy', () => {
  it('lists the event types on the topics a context writes', () => {
    expect(eventTypesWrittenBy('production')).toEqual([
      'CookingStarted',
      'CookingCompleted',
      'CookingSkipped',
    ]);
  });
});

describe('Serde', () => {
  async function setup(readers?: ConstructorParameters<typeof Serde>[0]['readers']) {
    const registry = fakeRegistry();
    const writer = new Serde({ registry: registry.client });
    await writer.register({ types: ['OrderPlaced', 'OrderCancelled'], topicOf: () => 't' });
    const reader = new Serde({ registry: registry.client, ...(readers ? { readers } : {}) });
    registry.calls.length = 0;
    registry.operations.length = 0;
    return { ...registry, writer, reader };
  }

  it('round-trips without any registry call in the writing process', async () => {
    const { writer, calls } = await setup();
    const bytes = writer.encode('OrderCancelled', 1, {
      metadata: metadata('OrderCancelled', 1),
      data: cancelled,
    });
    const decoded = await writer.decode(bytes);
    expect(decoded).toMatchObject({ type: 'OrderCancelled', version: 1, data: cancelled });
    expect(calls).toEqual([]);
  });

  it('sets eventType and schemaVersion from the arguments', async () => {
    const { writer } = await setup();
    const bytes = writer.encode('OrderCancelled', 1, { metadata: metadata('Wrong', 9), data: cancelled });
    const decoded = await writer.decode(bytes);
    expect(decoded.metadata).toMatchObject({ eventType: 'OrderCancelled', schemaVersion: 1 });
  });

  it('fetches an unknown writer id once, even for concurrent records, then caches it', async () => {
    const { writer, reader, operations } = await setup({ OrderPlaced: 1 });
    const bytes = Array.from({ length: 20 }, () =>
      writer.encode('OrderCancelled', 1, { metadata: metadata('OrderCancelled', 1), data: cancelled }),
    );
    await Promise.all(bytes.map((b) => reader.decode(b)));
    await Promise.all(bytes.map((b) => reader.decode(b)));
    expect(operations).toEqual(['get_schema_by_id']);
  });

  it('maps a 404 to UNKNOWN_SCHEMA_ID and does not cache the failure', async () => {
    const { reader, operations } = await setup();
    const bytes = Buffer.concat([wireHeader(999), Buffer.from([0])]);
    const first = await failureOf(reader.decode(bytes));
    await failureOf(reader.decode(bytes));
    expect([first.code, first.category]).toEqual([errorCodes.UNKNOWN_SCHEMA_ID, 'permanent']);
    expect(operations).toEqual(['get_schema_by_id', 'get_schema_by_id']);
  });

  it.each([
    ['a 503', () => new Response('down', { status: 503 })],
    ['a network failure', () => new TypeError('fetch failed')],
  ])('maps %s to transient REGISTRY_UNAVAILABLE', async (_, fail) => {
    const registry = fakeRegistry({ fail: (call) => (call.method === 'GET' ? fail() : undefined) });
    const writer = new Serde({ registry: registry.client });
    await writer.register({ types: ['OrderCancelled'], topicOf: () => 't' });
    const reader = new Serde({ registry: registry.client });
    const bytes = writer.encode('OrderCancelled', 1, {
      metadata: metadata('OrderCancelled', 1),
      data: cancelled,
    });
    const failure = await failureOf(reader.decode(bytes));
    expect([failure.code, failure.category]).toEqual([errorCodes.REGISTRY_UNAVAILABLE, 'transient']);
  });

  it('reports a body that does not decode as UNDECODABLE', async () => {
    const { writer } = await setup();
    const bytes = writer.encode('OrderCancelled', 1, {
      metadata: metadata('OrderCancelled', 1),
      data: cancelled,
    });
    const failure = await failureOf(writer.decode(Buffer.concat([bytes, Buffer.from([1, 2, 3])])));
    expect([failure.code, failure.category]).toEqual([errorCodes.UNDECODABLE, 'permanent']);
    const truncated = await failureOf(writer.decode(bytes.subarray(0, bytes.length - 3)));
    expect(truncated.code).toBe(errorCodes.UNDECODABLE);
  });

  it('reports a schema id of a record this process does not know as UNDECODABLE', async () => {
    const { reader, byId } = await setup();
    byId.set(77, JSON.stringify({ type: 'record', name: 'Alien', namespace: 'x', fields: [] }));
    const failure = await failureOf(reader.decode(Buffer.concat([wireHeader(77)])));
    expect(failure.code).toBe(errorCodes.UNDECODABLE);
  });

  it('names the event type of a value by its schema id alone, with one registry lookup', async () => {
    const { writer, reader, operations } = await setup();
    const bytes = writer.encode('OrderCancelled', 1, {
      metadata: metadata('OrderCancelled', 1),
      data: cancelled,
    });
    // Only the 5-byte header is read: a body that would not decode still has a type.
    const headerOnly = bytes.subarray(0, 5);
    expect(await reader.eventTypeOf(headerOnly)).toBe('OrderCancelled');
    expect(await reader.eventTypeOf(bytes)).toBe('OrderCancelled');
    await reader.decode(bytes);
    expect(operations).toEqual(['get_schema_by_id']);
  });

  it.each([
    ['a value that is not the wire format', Buffer.from('{"orderId":1}'), errorCodes.WRONG_MAGIC_BYTE],
    ['a header cut short', Buffer.from([0, 0, 1]), errorCodes.UNDECODABLE],
    ['an id nobody registered', wireHeader(4242), errorCodes.UNKNOWN_SCHEMA_ID],
  ])('refuses to name the type of %s, permanently', async (_, bytes, code) => {
    const { reader } = await setup();
    const failure = await failureOf(reader.eventTypeOf(bytes));
    expect([failure.code, failure.category]).toEqual([code, 'permanent']);
  });

  it('refuses to write an envelope whose UUID fields hold anything else', async () => {
    const { writer } = await setup();
    for (const bad of [{ causationId: 'place:idem-key-0001' }, { eventId: 'auto:deliver:ORD-1' }])
      expect(() =>
        writer.encode('OrderCancelled', 1, {
          metadata: { ...metadata('OrderCancelled', 1), ...bad },
          data: cancelled,
        }),
      ).toThrow(expect.objectContaining({ code: errorCodes.INVALID_CONTENT }));
  });

  it('refuses to encode content that does not fit the schema, or an unregistered version', async () => {
    const { writer } = await setup();
    expect(() =>
      writer.encode('OrderCancelled', 1, {
        metadata: metadata('OrderCancelled', 1),
        data: { ...cancelled, orderId: 42 as unknown as string },
      }),
    ).toThrow(expect.objectContaining({ code: errorCodes.INVALID_CONTENT }));
    const other = new Serde({ registry: fakeRegistry().client });
    expect(() =>
      other.encode('OrderCancelled', 1, { metadata: metadata('OrderCancelled', 1), data: cancelled }),
    ).toThrow(/not registered/);
  });
});

describe('RegistryClient authentication', () => {
  it('sends the configured user and password as HTTP basic authentication, and none without', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      const allowed =
        request.headers.authorization === `Basic ${Buffer.from('scm:s3cret').toString('base64')}`;
      response.writeHead(allowed ? 200 : 401, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(allowed ? { schema: '"string"' } : { error_code: 401, message: 'Unauthorized' }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
    try {
      const authed = new RegistryClient({ url, auth: { username: 'scm', password: 's3cret' } });
      await expect(authed.schemaById(1)).resolves.toBe('"string"');
      const anonymous = new RegistryClient({ url });
      const refused = await failureOf(anonymous.schemaById(1));
      expect(refused.category).toBe('permanent');
      expect(refused.message).not.toContain('s3cret');
      expect(seen).toEqual([`Basic ${Buffer.from('scm:s3cret').toString('base64')}`, undefined]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

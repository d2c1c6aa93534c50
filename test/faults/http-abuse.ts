/**
 * The HTTP abuse scenario of the fault suite: what a careless or hostile client sends to the
 * platform's APIs (mostly the storefront's, plus inventory and the dead-letter admin) — bodies
 * over the limit or not JSON at all, wrong types, unknown fields, operators where values belong,
 * a flood from one client, many placements racing with one Idempotency-Key.
 *
 * Every answer must be a 4xx (or a 2xx where the request is in fact fine), never a 5xx; every
 * problem body is `application/problem+json` and tells nothing of the inside (no stack, no
 * file path, no error class); nothing is half-written: the orders the store holds for the
 * scenario's customer are exactly the placements that were accepted, one per idempotency key.
 */
import { randomUUID } from 'node:crypto';
import type { Role } from '@runtime/auth';
import { tokenOf as testTokenOf } from '@test/harness/credentials';
import { seededRandom, type Random } from '../../simulator/plan';
import type { ScenarioResult } from './results';

export interface HttpAbuseOptions {
  readonly seed: number;
  /** Base URL of the process serving the order, inventory and dead-letter admin APIs. */
  readonly url: string;
  /** The bearer token of a role (default: the test keys, `testAuthEnv`). */
  readonly tokenOf?: (role: Role) => string;
  /**
   * The platform's `HTTP_RATE_LIMIT` (default 1000). The flood sends more than this within one
   * window, so the window (`HTTP_RATE_LIMIT_WINDOW_MS`) must be long enough for the machine to.
   */
  readonly rateLimit?: number;
  /** The platform's `HTTP_BODY_LIMIT_BYTES` (default 65536). */
  readonly bodyLimitBytes?: number;
  /** A consumer group (namespaced) whose dead letters the admin probes read. */
  readonly adminGroup?: string;
  /** Placements racing on one key (default 12). */
  readonly concurrentPlacements?: number;
  /** Seeded mutations of a valid order (default 40). */
  readonly mutations?: number;
  readonly log?: (line: string) => void;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** What a problem body must never show: stack frames, source paths, error classes, driver words. */
const leaks: readonly [RegExp, string][] = [
  [/\bat [^\s]+ \(?[^\s]*:\d+:\d+\)?/, 'a stack frame'],
  [/\/work\/|node_modules|\.ts:\d+|[A-Za-z]:\\/, 'a source path'],
  [
    /\b(TypeError|RangeError|ReferenceError|SyntaxError|PlatformError|MongoServerError|MongoError|KafkaJS\w*|BSONError|E11000)\b/,
    'an error class',
  ],
];

export async function runHttpAbuseScenario(options: HttpAbuseOptions): Promise<ScenarioResult> {
  const { seed, url } = options;
  const tokenOf = options.tokenOf ?? testTokenOf;
  const rateLimit = options.rateLimit ?? 1000;
  const bodyLimit = options.bodyLimitBytes ?? 65_536;
  const racing = options.concurrentPlacements ?? 12;
  const random = seededRandom(seed);
  const say = options.log ?? (() => undefined);
  const problems: string[] = [];
  const customerId = `ABUSE-${seed}-${randomUUID().slice(0, 8)}`;
  /** Accepted placements: order id → customer (a mutation may have changed the customer). */
  const accepted = new Map<string, string>();
  let requests = 0;
  const statuses = new Map<number, number>();

  const bearer = (role: Role): Record<string, string> => ({ authorization: `Bearer ${tokenOf(role)}` });
  const json = { 'content-type': 'application/json' };

  /**
   * One request, as a well-behaved client sends it: told 429, it waits Retry-After and tries
   * again (once), so that the scenario's own probes never count against what they probe. The
   * flood alone takes its 429s as they come.
   */
  async function send(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string | Buffer | ReadableStream } = {},
    { flooding = false }: { flooding?: boolean } = {},
  ): Promise<Answer> {
    requests += 1;
    const response = await fetch(`${url}${path}`, {
      method,
      headers: init.headers,
      body: init.body,
      ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const answer = { status: response.status, headers: response.headers, text: await response.text() };
    const retryAfter = Number(answer.headers.get('retry-after'));
    if (answer.status !== 429 || flooding || init.body instanceof ReadableStream || !(retryAfter >= 1))
      return answer;
    say(`http abuse: ${method} ${path.slice(0, 60)} limited; retrying in ${retryAfter} s`);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    return send(method, path, init, { flooding: true });
  }

  /** Checks an answer: an expected status, never a 5xx, a clean problem body for every error. */
  function check(what: string, answer: Answer, expected: readonly number[]): Answer {
    const { status, headers, text } = answer;
    if (status >= 500) problems.push(`${what}: ${status} ${text.slice(0, 300)}`);
    else if (!expected.includes(status))
      problems.push(`${what}: ${status}, expected ${expected.join(' or ')} (${text.slice(0, 200)})`);
    if (status >= 400 && text !== '') {
      const type = headers.get('content-type') ?? '';
      if (!type.startsWith('application/problem+json'))
        problems.push(`${what}: ${status} answered as ${type}`);
      else {
        const body = parsed(text);
        if (body === undefined || typeof body.title !== 'string' || body.status !== status)
          problems.push(`${what}: a problem body without title and status: ${text.slice(0, 200)}`);
      }
      for (const [pattern, name] of leaks)
        if (pattern.test(text))
          problems.push(`${what}: the problem body shows ${name}: ${text.slice(0, 300)}`);
    }
    return answer;
  }

  const place = async (what: string, body: string | Buffer, expected: readonly number[], headers = {}) => {
    const answer = check(
      what,
      await send('POST', '/orders', { headers: { ...bearer('storefront'), ...json, ...headers }, body }),
      expected,
    );
    const order = parsed(answer.text);
    if (answer.status === 201) accepted.set(String(order?.orderId), String(order?.customerId));
    return answer;
  };

  // The flood first: one client past its budget gets 429 with Retry-After while another client is
  // still served; the flooding client is served again once Retry-After has passed (checked at the
  // end, so that the wait overlaps the other probes). On a path no route serves: the limiter
  // counts it all the same, and the store is not loaded. Batches until the limiter answers, so
  // that a slow machine still sends more than the budget within one window.
  const floodPath = '/kitchen/no-such-route';
  const floodStarted = Date.now();
  const flood: Answer[] = [];
  while (flood.length < 4 * rateLimit && !flood.some((a) => a.status === 429))
    flood.push(
      ...(await Promise.all(
        Array.from({ length: 50 }, () =>
          send('GET', floodPath, { headers: bearer('kitchen') }, { flooding: true }),
        ),
      )),
    );
  const floodMs = Date.now() - floodStarted;
  check(
    'another client during the flood',
    await send('GET', `/orders?customerId=${customerId}`, { headers: bearer('storefront') }),
    [200],
  );
  const limited = flood.filter((a) => a.status === 429);
  for (const answer of flood) if (answer.status !== 404) check('flood', answer, [404, 429]);
  if (limited.length === 0) problems.push(`a flood of ${flood.length} requests got no 429`);
  const retryAfter = Math.max(...limited.map((a) => Number(a.headers.get('retry-after'))), 0);
  if (limited.some((a) => !(Number(a.headers.get('retry-after')) >= 1)))
    problems.push('a 429 without a Retry-After of at least 1 s');
  const servedAgainAt = Date.now() + retryAfter * 1000;

  // A placement that is fine, so that the store has something to be wrong about.
  const good = validOrder(customerId);
  await place('a valid placement', JSON.stringify(good), [201]);

  // Oversize: declared, streamed without a length, and a path longer than Node reads.
  await place('a body over the limit', JSON.stringify({ ...good, deliveryMemo: 'x'.repeat(bodyLimit) }), [
    413,
  ]);
  check(
    'a streamed body over the limit',
    await send('POST', '/orders', {
      headers: { ...bearer('storefront'), ...json },
      body: streamOf(Buffer.alloc(bodyLimit + 1024, 0x20)),
    }),
    [413],
  );
  check(
    'a path of 40 KB',
    await send('GET', `/orders/${'A'.repeat(40_000)}`, { headers: bearer('storefront') }),
    [414, 431],
  );
  check(
    'a header of 40 KB',
    await send('GET', '/orders', { headers: { ...bearer('storefront'), 'x-filler': 'a'.repeat(40_000) } }),
    [431],
  );

  // Malformed bodies.
  const malformed: [string, string | Buffer, Record<string, string>?][] = [
    ['a truncated document', '{"customerId": "C-1", "lines": ['],
    ['an empty body', ''],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ['a single quote', "{'customerId': 'C-1'}"],
    ['trailing garbage', `${JSON.stringify(good)} extra`],
    ['deep nesting', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
    ['null', 'null'],
    ['an array', '[]'],
    ['a number', '1e400'],
    ['text/plain', JSON.stringify(good), { 'content-type': 'text/plain' }],
    ['latin-1', JSON.stringify(good), { 'content-type': 'application/json; charset=latin1' }],
    ['gzip', JSON.stringify(good), { 'content-encoding': 'gzip' }],
  ];
  for (const [what, body, headers] of malformed)
    await place(
      `malformed: ${what}`,
      body,
      headers?.['content-type'] || headers?.['content-encoding'] ? [415] : [400],
      headers,
    );
  for (let n = 0; n < 4; n += 1)
    await place(
      `random bytes #${n}`,
      Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256))),
      [400],
    );

  // Wrong types, unknown fields, operators and prototype keys where values belong.
  const wrong: [string, unknown][] = [
    ['quantity as a string', { ...good, lines: [{ ...good.lines[0], quantity: '2' }] }],
    ['a fractional quantity', { ...good, lines: [{ ...good.lines[0], quantity: 1.5 }] }],
    ['a negative price', { ...good, lines: [{ ...good.lines[0], unitPrice: -1 }] }],
    ['lines as an object', { ...good, lines: { 0: good.lines[0] } }],
    ['no lines', { ...good, lines: [] }],
    ['customerId as a number', { ...good, customerId: 42 }],
    ['a date that does not exist', { ...good, delivery: { ...good.delivery, date: '2031-02-30' } }],
    ['an address as a string', { ...good, deliveryAddress: '서울' }],
    ['an unknown field', { ...good, status: 'DELIVERED' }],
    ['an order id of its own', { ...good, orderId: 'ORD-20990101-AAAAAAAA' }],
    ['an unknown field in a line', { ...good, lines: [{ ...good.lines[0], discount: 100 }] }],
    ['__proto__', JSON.parse(`{"__proto__": {"admin": true}, ${JSON.stringify(good).slice(1)}`)],
    ['an operator as customerId', { ...good, customerId: { $ne: null } }],
    ['an operator as product code', { ...good, lines: [{ ...good.lines[0], productCode: { $gt: '' } }] }],
    ['an operator as coupon', { ...good, couponCode: { $regex: '.*' } }],
  ];
  for (const [what, body] of wrong) await place(`wrong: ${what}`, JSON.stringify(body), [400]);
  // Names every object has: a lookup by plain indexing finds them on the prototype.
  for (const coupon of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])
    await place(`coupon ${coupon}`, JSON.stringify({ ...good, couponCode: coupon }), [400]);
  for (const key of ['x', 'has space', 'a'.repeat(200), '{"$gt":""}'])
    await place(`Idempotency-Key ${key.slice(0, 20)}`, JSON.stringify(good), [400], {
      'Idempotency-Key': key,
    });

  // Seeded mutations of a valid order: one field replaced by a value of another kind. Some are
  // still valid (an optional field set to null): those are accepted, and counted.
  const oddValues: unknown[] = [
    null,
    0,
    -1,
    1.5,
    '',
    ' ',
    'x'.repeat(300),
    [],
    {},
    { $gt: '' },
    true,
    1e308,
    'constructor',
    '\u0000',
  ];
  const paths = leafPaths(good);
  for (let n = 0; n < (options.mutations ?? 40); n += 1) {
    const path = pick(random, paths);
    const value = pick(random, oddValues);
    await place(
      `mutation ${path.join('.')} = ${JSON.stringify(value)}`,
      JSON.stringify(setAt(good, path, value)),
      [201, 400],
    );
  }

  // Operators and odd ids in paths and queries: values, never operators.
  const mine = async (query: string) => {
    const answer = check(
      `list ${query}`,
      await send('GET', `/orders?${query}`, { headers: bearer('storefront') }),
      [200, 400],
    );
    return answer.status === 200 ? ((parsed(answer.text)?.orders as unknown[]) ?? []) : [];
  };
  if ((await mine(`customerId=${encodeURIComponent(JSON.stringify({ $ne: null }))}`)).length !== 0)
    problems.push('a customerId of {"$ne":null} listed orders');
  await mine(`customerId=${customerId}&status[$ne]=PLACED`);
  await mine(`customerId[$ne]=x&customerId=${customerId}`);
  await mine(`customerId=${customerId}&customerId=other`);
  await mine(`status=${encodeURIComponent('{"$where":"sleep(1000)"}')}`);
  const queryOperator = await mine(`customerId[$ne]=nobody`);
  const unfiltered = await mine('');
  if (queryOperator.length !== unfiltered.length)
    problems.push(
      `?customerId[$ne]=nobody listed ${queryOperator.length} orders, unfiltered ${unfiltered.length}`,
    );
  for (const id of ['{"$where":"sleep(1000)"}', '{"$gt":""}', '%ZZ', '..%2F..%2Fadmin', 'ORD-1%00'])
    check(
      `order id ${id}`,
      await send('GET', `/orders/${id.startsWith('{') ? encodeURIComponent(id) : id}`, {
        headers: bearer('storefront'),
      }),
      [400, 404],
    );
  check(
    'a wait of {"$gt":0}',
    await send('GET', `/orders/ORD-X?wait[$gt]=0`, { headers: bearer('storefront') }),
    [404],
  );
  const first = [...accepted.keys()][0] ?? 'ORD-NONE';
  check(
    'a wait of an array',
    await send('GET', `/orders/${first}?wait=1&wait=2`, { headers: bearer('storefront') }),
    [400],
  );
  check('a wait of 1e9', await send('GET', `/orders/${first}?wait=1e9`, { headers: bearer('storefront') }), [
    400,
  ]);
  check(
    'a cancel with a malformed body',
    await send('POST', `/orders/${first}/cancel`, {
      headers: { ...bearer('storefront'), ...json },
      body: '{"reason": ',
    }),
    [400],
  );
  check(
    'a cancel with an unknown reason',
    await send('POST', `/orders/${first}/cancel`, {
      headers: { ...bearer('storefront'), ...json },
      body: '{"reason": {"$ne": ""}}',
    }),
    [400],
  );
  check(
    'an address of wrong types',
    await send('PUT', `/orders/${first}/delivery-address`, {
      headers: { ...bearer('storefront'), ...json },
      body: '{"postalCode": 6236}',
    }),
    [400],
  );
  check(
    'a review before delivery',
    await send('POST', `/orders/${first}/review`, {
      headers: { ...bearer('storefront'), ...json },
      body: '{"rating": 6}',
    }),
    [400, 409],
  );
  check('DELETE /orders', await send('DELETE', '/orders', { headers: bearer('storefront') }), [405]);

  // Inventory: a SKU of the scenario's own, which nothing may touch.
  const sku = `SKU-ABUSE-${seed}`;
  const inventory = { ...bearer('inventory'), ...json };
  for (const [what, body] of [
    ['a quantity as a string', '{"quantity": "5"}'],
    ['a negative quantity', '{"quantity": -1}'],
    ['a quantity over the maximum', '{"quantity": 1000000000}'],
    ['an operator as quantity', '{"quantity": {"$inc": 5}}'],
    ['an unknown field', '{"quantity": 1, "onHand": 99}'],
    ['a malformed body', '{"quantity": 1'],
  ] as const)
    check(
      `receipt: ${what}`,
      await send('POST', `/inventory/stock/${sku}/receipts`, { headers: inventory, body }),
      [400],
    );
  check(
    'count: a negative count',
    await send('PUT', `/inventory/stock/${sku}/count`, { headers: inventory, body: '{"onHand": -5}' }),
    [400],
  );
  for (const id of [encodeURIComponent('{"$gt":""}'), 'sku%20with%20space', 'lower-case'])
    check(`stock of ${id}`, await send('GET', `/inventory/stock/${id}`, { headers: bearer('inventory') }), [
      400,
    ]);
  check(
    'reservations ?status=a&status=b',
    await send('GET', '/inventory/reservations?status=waiting&status=reserved', {
      headers: bearer('inventory'),
    }),
    [400],
  );
  check(
    'reservations ?status[$ne]=x',
    await send('GET', '/inventory/reservations?status[$ne]=x', { headers: bearer('inventory') }),
    [200, 400],
  );
  check(
    'reservation {"$gt":""}',
    await send('GET', `/inventory/reservations/${encodeURIComponent('{"$gt":""}')}`, {
      headers: bearer('inventory'),
    }),
    [404],
  );
  const level = parsed(
    check(`stock of ${sku}`, await send('GET', `/inventory/stock/${sku}`, { headers: bearer('inventory') }), [
      200,
    ]).text,
  );
  if (level?.onHand !== 0)
    problems.push(`${sku} has ${String(level?.onHand)} on hand after refused receipts`);

  // The dead-letter admin.
  const group = options.adminGroup ?? 'order-scm-adapter';
  const admin = { ...bearer('admin'), ...json };
  check(
    'admin: ?limit=abc',
    await send('GET', `/admin/dead-letters/${group}?limit=abc`, { headers: bearer('admin') }),
    [400],
  );
  check(
    'admin: ?limit[$gt]=0',
    await send('GET', `/admin/dead-letters/${group}?limit[$gt]=0`, { headers: bearer('admin') }),
    [400],
  );
  check(
    'admin: a group naming no topic',
    await send('GET', `/admin/dead-letters/${encodeURIComponent('a/../b')}`, { headers: bearer('admin') }),
    [400, 404],
  );
  check(
    'admin: a group with no dead letters',
    await send('GET', `/admin/dead-letters/no-such-group-${seed}`, { headers: bearer('admin') }),
    [200, 404],
  );
  check(
    'admin: replay ids as operators',
    await send('POST', `/admin/dead-letters/${group}/replay`, {
      headers: admin,
      body: '{"ids": [{"$gt": ""}]}',
    }),
    [400],
  );
  check(
    'admin: drop ids repeated',
    await send('POST', `/admin/dead-letters/${group}/drop`, {
      headers: admin,
      body: '{"ids": ["0:1", "0:1"]}',
    }),
    [400],
  );
  check(
    'admin: replay unknown ids',
    await send('POST', `/admin/dead-letters/${group}/replay`, {
      headers: admin,
      body: '{"ids": ["0:999999"]}',
    }),
    [404],
  );
  check(
    'admin: by the storefront',
    await send('GET', `/admin/dead-letters/${group}`, { headers: bearer('storefront') }),
    [403],
  );
  check('no credentials', await send('GET', '/orders'), [401]);
  check(
    'an unknown key',
    await send('GET', '/orders', { headers: { authorization: `Bearer ${'k'.repeat(40)}` } }),
    [401],
  );

  // Many placements at once with one Idempotency-Key: one order. With another body: refused.
  const key = `abuse-${seed}-${randomUUID()}`;
  const other = { ...good, deliveryMemo: '다른 요청' };
  const raced = await Promise.all(
    Array.from({ length: racing }, (_, n) =>
      place(`racing placement ${n}`, JSON.stringify(n % 4 === 3 ? other : good), [200, 201, 422], {
        'Idempotency-Key': key,
      }),
    ),
  );
  const ids = new Set(raced.filter((a) => a.status < 300).map((a) => String(parsed(a.text)?.orderId)));
  const created = raced.filter((a) => a.status === 201).length;
  let duplicateEffects = 0;
  if (ids.size !== 1 || created !== 1) {
    duplicateEffects += Math.max(ids.size, created) - 1;
    problems.push(`${racing} placements with one key: ${created} created, ${ids.size} order ids`);
  }

  if (limited.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, servedAgainAt - Date.now())));
    check(
      'the flooding client after Retry-After',
      await send('GET', floodPath, { headers: bearer('kitchen') }),
      [404],
    );
  }
  say(
    `http abuse: ${requests} requests; a flood of ${flood.length} in ${floodMs} ms, ${limited.length} limited, Retry-After ${retryAfter} s; ${accepted.size} placements accepted; statuses ${[
      ...statuses,
    ]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}×${n}`)
      .join(' ')}`,
  );

  // Nothing half-written: the store holds exactly the accepted placements, each readable.
  const lost: string[] = [];
  for (const customer of new Set([customerId, ...accepted.values()])) {
    const stored = await mine(`customerId=${encodeURIComponent(customer)}`);
    const storedIds = new Set(stored.map((order) => String((order as { orderId?: unknown }).orderId)));
    const acceptedIds = [...accepted].filter(([, c]) => c === customer).map(([id]) => id);
    lost.push(...acceptedIds.filter((id) => !storedIds.has(id)));
    const extra = [...storedIds].filter((id) => !accepted.has(id));
    if (extra.length > 0) {
      duplicateEffects += extra.length;
      problems.push(`stored for ${customer} but never accepted: ${extra.join(', ')}`);
    }
  }
  if (lost.length > 0) problems.push(`accepted but not stored: ${lost.join(', ')}`);
  for (const id of accepted.keys())
    check(`accepted order ${id}`, await send('GET', `/orders/${id}`, { headers: bearer('storefront') }), [
      200,
    ]);

  return {
    scenario: 'HTTP abuse',
    seed,
    inputs: requests,
    lost: lost.length,
    duplicateEffects,
    orderViolations: 0,
    deadLetters: { seen: 0, injected: 0 },
    recoverySeconds: null,
    problems,
  };
}

type Body = ReturnType<typeof validOrder>;

function validOrder(customerId: string) {
  const date = new Date(Date.now() + 9 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
  return {
    customerId,
    lines: [{ productCode: 'PRD-KIMCHI', quantity: 1, unitPrice: 12000 }],
    deliveryAddress: {
      recipientName: '김민지',
      phone: '010-1234-5678',
      postalCode: '06236',
      roadAddress: '서울특별시 강남구 테헤란로 123',
      detailAddress: '5층',
    },
    delivery: { date, slot: 'DAWN' },
    deliveryMemo: '문 앞에 놓아주세요',
    payment: { method: 'CARD' },
  };
}

/** Every path to a leaf of a JSON value, array items included. */
function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => leafPaths(item, [...prefix, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([key, item]) => leafPaths(item, [...prefix, key]));
  return [prefix];
}

function setAt(value: Body, path: readonly (string | number)[], replacement: unknown): unknown {
  const copy: unknown = structuredClone(value);
  let at = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = replacement;
  return copy;
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function streamOf(bytes: Buffer): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(sent, sent + 16_384));
      sent += 16_384;
    },
  });
}

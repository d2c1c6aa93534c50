/**
 * The poison scenario of the fault suite: while orders flow through a whole platform, records no
 * context can use are written onto the contexts' input topics, as a broken or foreign producer
 * would write them. Each must end on the dead-letter topic of every consumer group that meets it,
 * with a reason naming what was wrong, and nothing else may change: every good order placed
 * before, during and after still reaches 배송완료, no status is applied twice, no stock moves
 * twice.
 *
 * Kinds, each `perKind` times, on topics and keys drawn from the seed:
 * - `random-bytes`: bytes from the seeded generator, no headers;
 * - `wrong-magic-byte`: a real record's value with its first byte changed, no headers;
 * - `unknown-schema-id`: the Confluent wire format with an id the registry does not have, no headers;
 * - `domain-invalid`: valid Avro of a registered schema, with our headers, whose content a
 *   context refuses: an OrderPlaced naming a product the adapter's map lacks, a
 *   FulfilmentRequested for zero units;
 * - `header-less`: copies of real records without any header. Not poison since issue 12: a
 *   record is typed by its schema id and processed (here: recognised as a duplicate), so these
 *   count as inputs whose dead letters must be none.
 *
 * A header-less record is judged by every group that reads its topic (none can filter it unseen),
 * so each byte-level poison is expected once on each of those groups' dead-letter topics.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Consumer, type IHeaders } from 'kafkajs';
import { placementOf, type TopicName, type WriterContext } from '@contracts/topics';
import { contextFactories, contextNames, type ContextName } from '@platform/contexts';
import type { Publication } from '@runtime/decider';
import { deadLetterHeaders } from '@runtime/dead-letters';
import { errorCodes, isPlatformError } from '@runtime/errors';
import { toOutgoing } from '@runtime/event-writer';
import { RegistryClient, Serde, type DecodedEvent } from '@runtime/serde';
import { statusRank, type StorefrontStatus } from '@services/order/domain';
import { testEndpoints, type Endpoints } from '@test/harness/endpoints';
import { call, type Json } from '@test/harness/platform';
import { seededRandom, type Random } from '../../simulator/plan';
import type { ScenarioResult } from './results';

export const poisonKinds = [
  'random-bytes',
  'wrong-magic-byte',
  'unknown-schema-id',
  'domain-invalid',
  'header-less',
] as const;
export type PoisonKind = (typeof poisonKinds)[number];

export interface PoisonScenarioOptions {
  readonly seed: number;
  /** The topic namespace of the deployment that gets the poison (`TOPIC_NAMESPACE`). */
  readonly namespace: string;
  /**
   * Base URL of the process serving the order, inventory and admin APIs, started with the test
   * keys (`testAuthEnv`) and auto-advance on (`AUTO_ADVANCE_MS`), so orders travel unattended.
   */
  readonly url: string;
  /** The contexts the deployment hosts (default: all): who reads each topic. */
  readonly contexts?: readonly ContextName[];
  /** The broker and registry of the deployment (default: the test run's). */
  readonly endpoints?: Pick<Endpoints, 'kafkaBrokers' | 'schemaRegistryUrl'>;
  /** Records of each kind (default 2). */
  readonly perKind?: number;
  /** Good orders placed before, during (between the poison) and after (default 3 each). */
  readonly ordersPerPhase?: number;
  /** How long everything may take to settle (default 90 s). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** One injected record and what must become of it. */
interface Injected {
  readonly kind: PoisonKind;
  readonly topic: TopicName;
  readonly key: string;
  /** Groups that must dead-letter it, and the error code their letter must carry. */
  readonly expected: ReadonlyMap<string, readonly string[]>;
  /** Words the letter's exception message must contain. */
  readonly mentions: string;
}

interface Letter {
  readonly group: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
}

const products = [
  { productCode: 'PRD-KIMCHI', sku: 'SKU-KIMCHI-500G', unitPrice: 12000 },
  { productCode: 'PRD-BIBIMBAP', sku: 'SKU-BIBIMBAP-REG', unitPrice: 9500 },
] as const;

/** The happy path of an order, in the order the customer sees it (COOKING only when cooked). */
const happyPath: readonly StorefrontStatus[] = [
  'PLACED',
  'RECEIVED',
  'COOKING',
  'PICKED',
  'PACKED',
  'SHIPPING',
  'DELIVERED',
];

export async function runPoisonScenario(options: PoisonScenarioOptions): Promise<ScenarioResult> {
  const { seed, namespace: ns, url } = options;
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const say = (line: string): void => log(`${((Date.now() - started) / 1000).toFixed(1)} s ${line}`);
  const perKind = options.perKind ?? 2;
  const perPhase = options.ordersPerPhase ?? 3;
  const timeoutMs = options.timeoutMs ?? 90_000;
  const endpoints = options.endpoints ?? testEndpoints();
  const contexts = options.contexts ?? contextNames;
  const random = seededRandom(seed);
  const problems: string[] = [];
  const customerId = `POISON-${seed}-${randomUUID().slice(0, 8)}`;

  /** Each input topic, with the (namespaced) groups that read it. */
  const readers = new Map<TopicName, string[]>();
  for (const context of contexts)
    for (const { group, topics } of contextFactories[context].subscriptions)
      for (const topic of topics) readers.set(topic, [...(readers.get(topic) ?? []), `${ns}${group}`]);
  const groups = [...new Set([...readers.values()].flat())];

  const kafka = new Kafka({
    clientId: `poison-${seed}`,
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const registry = new RegistryClient({ url: endpoints.schemaRegistryUrl });
  const serde = new Serde({ registry });
  const observer = await observe(
    kafka,
    serde,
    [...readers.keys()].map((topic) => `${ns}${topic}`),
    groups,
  );
  await producer.connect();
  try {
    // Stock for every good order, and what the shelves held before.
    const orders = 3 * perPhase;
    const before = new Map<string, Json>();
    for (const { sku } of products) {
      before.set(sku, await stockOf(url, sku));
      const receipt = await call(url, 'POST', `/inventory/stock/${sku}/receipts`, { quantity: orders });
      if (receipt.status !== 201) problems.push(`receipt of ${sku}: ${receipt.status}`);
    }
    const placed: string[] = [];
    const place = async (n: number): Promise<void> => {
      const product = products[n % products.length]!;
      const answer = await call(url, 'POST', '/orders', orderBody(customerId, product), {
        'Idempotency-Key': `${customerId}-${n}`,
      });
      if (answer.status === 201) placed.push(String(answer.body.orderId));
      else problems.push(`placing good order ${n}: ${answer.status} ${JSON.stringify(answer.body)}`);
    };

    for (let n = 0; n < perPhase; n += 1) await place(n);
    say('poison: first orders placed');
    // The poison copies real records: wait until every input topic has some.
    await until(timeoutMs, 'a real record on every input topic', () =>
      [...readers.keys()].every((topic) => observer.sample(`${ns}${topic}`) !== undefined),
    );

    const plan = planPoison(random, perKind, [...readers.keys()]);
    const injected: Injected[] = [];
    const unknownId = await unknownSchemaId(registry, random);
    const duringEvery = Math.max(1, Math.floor(plan.length / Math.max(1, perPhase)));
    for (const [i, { kind, topic }] of plan.entries()) {
      if (i % duringEvery === 0 && placed.length < 2 * perPhase) await place(perPhase + i / duringEvery);
      const record = await poisonRecord(kind, topic, i);
      if (record !== undefined) injected.push(record);
      say(`poison: ${kind} on ${topic}`);
    }
    while (placed.length < 2 * perPhase) await place(placed.length);
    // Goods arriving after the poison: a receipt serves whatever waits for its SKU.
    for (const { sku } of products) {
      const receipt = await call(url, 'POST', `/inventory/stock/${sku}/receipts`, { quantity: 1 });
      if (receipt.status !== 201) problems.push(`receipt of ${sku} after the poison: ${receipt.status}`);
    }
    for (let n = 2 * perPhase; n < orders; n += 1) await place(n);
    say(`poison: ${injected.length} records injected, ${placed.length} good orders placed`);

    // Every good order delivered, every expected letter seen.
    const delivered = await settle(url, customerId, placed, timeoutMs);
    say('poison: orders settled');
    // Goods arriving once the poison has been read: the waiting reservations of those SKUs are tried.
    for (const { sku } of products) {
      const receipt = await call(url, 'POST', `/inventory/stock/${sku}/receipts`, { quantity: 1 });
      if (receipt.status !== 201)
        problems.push(`receipt of ${sku} after the poison was read: ${receipt.status}`);
    }
    const expectedLetters = injected.reduce((sum, { expected }) => sum + expected.size, 0);
    await until(
      timeoutMs,
      'the dead letters',
      () => observer.letters().filter((l) => injected.some((i) => i.key === l.key)).length >= expectedLetters,
    ).catch(() => undefined);
    await observer.caughtUp(timeoutMs);
    say('poison: dead letters read');

    // Dead letters: exactly the expected ones, with their reasons; none of anything else.
    const letters = observer.letters();
    const mine = letters.filter((letter) => injected.some(({ key }) => key === letter.key));
    for (const letter of letters)
      if (!mine.includes(letter))
        problems.push(
          `an unexpected dead letter in ${letter.group} (key ${String(letter.key)}): ${reasonOf(letter)}`,
        );
    for (const poison of injected) {
      const found = mine.filter((letter) => letter.key === poison.key);
      for (const [group, codes] of poison.expected) {
        const inGroup = found.filter((letter) => letter.group === group);
        if (inGroup.length !== 1) {
          problems.push(
            `${poison.kind} on ${poison.topic} (${poison.key}): ${inGroup.length} dead letters in ${group}, expected 1`,
          );
          continue;
        }
        const headers = inGroup[0]!.headers;
        const code = headers[deadLetterHeaders.errorCode] ?? '';
        const message = headers[deadLetterHeaders.exceptionMessage] ?? '';
        if (!codes.includes(code) || !message.includes(poison.mentions))
          problems.push(
            `${poison.kind} on ${poison.topic} in ${group}: reason ${code} "${message}", expected ${codes.join('|')} mentioning "${poison.mentions}"`,
          );
        if (headers[deadLetterHeaders.originalTopic] !== `${ns}${poison.topic}`)
          problems.push(
            `${poison.kind} in ${group}: original topic ${headers[deadLetterHeaders.originalTopic]}`,
          );
      }
      for (const letter of found)
        if (!poison.expected.has(letter.group))
          problems.push(
            `${poison.kind} on ${poison.topic} dead-lettered by ${letter.group}: ${reasonOf(letter)}`,
          );
    }

    // Effects: statuses once each and in lifecycle order, stock shipped once per delivered line.
    let duplicateEffects = 0;
    let orderViolations = 0;
    for (const [orderId, order] of delivered) {
      const history = ((order.history as { status: StorefrontStatus }[] | undefined) ?? []).map(
        (h) => h.status,
      );
      const repeated = history.filter((status, i) => history.indexOf(status) !== i);
      duplicateEffects += repeated.length;
      if (repeated.length > 0) problems.push(`${orderId}: status applied twice: ${repeated.join(', ')}`);
      const ranks = history.map((status) => happyPath.indexOf(status));
      if (ranks.some((rank, i) => rank < 0 || (i > 0 && rank <= ranks[i - 1]!))) {
        orderViolations += 1;
        problems.push(`${orderId}: statuses out of lifecycle order: ${history.join(' → ')}`);
      }
    }
    // The scm->order adapter reads several topics, so a partition held up by poison can let a
    // later stage's update out before an earlier one's: the storefront ignores the late one
    // (monotonic statuses), so it is reported, not counted.
    const updates = observer.statusUpdates(`${ns}order.status-updates`);
    const late = placed.filter((orderId) => {
      const ranks = (updates.get(orderId) ?? []).map((status) => statusRank[status]);
      return ranks.some((rank, i) => ranks.slice(0, i).some((earlier) => earlier > rank));
    });
    if (late.length > 0)
      say(`poison: ${late.length} orders got a late, ignored status update (${late.join(', ')})`);
    for (const { sku } of products) {
      const shipped = [...delivered.values()].reduce(
        (sum, order) =>
          sum +
          ((order.lines as { productCode: string; quantity: number }[]) ?? [])
            .filter((line) => products.find((p) => p.productCode === line.productCode)?.sku === sku)
            .reduce((units, line) => units + line.quantity, 0),
        0,
      );
      const was = before.get(sku)!;
      const now = await stockOf(url, sku);
      const wantOnHand = Number(was.onHand) + orders + 2 - shipped;
      if (Number(now.onHand) !== wantOnHand || Number(now.reserved) !== Number(was.reserved)) {
        duplicateEffects += 1;
        problems.push(
          `${sku}: on hand ${String(now.onHand)} (expected ${wantOnHand}), reserved ${String(now.reserved)} (expected ${String(was.reserved)})`,
        );
      }
    }
    const lost = placed.length - [...delivered.values()].filter((o) => o.status === 'DELIVERED').length;
    for (const orderId of placed)
      if (delivered.get(orderId)?.status !== 'DELIVERED')
        problems.push(`${orderId} never reached DELIVERED (${String(delivered.get(orderId)?.status)})`);
    const health = await fetch(`${url}/health`);
    if (health.status !== 200) problems.push(`/health answers ${health.status}: ${await health.text()}`);

    const seen = mine.filter((letter) => groups.includes(letter.group)).length;
    return {
      scenario: 'poison records',
      seed,
      inputs: placed.length + injected.length,
      lost,
      duplicateEffects,
      orderViolations,
      deadLetters: { seen, injected: expectedLetters },
      recoverySeconds: null,
      problems,
    };

    /** Writes one poison record of `kind` onto `topic`; returns what must become of it. */
    async function poisonRecord(
      kind: PoisonKind,
      topic: TopicName,
      i: number,
    ): Promise<Injected | undefined> {
      const key = `${customerId}-${kind}-${i}`;
      const everyReader = (codes: readonly string[]) =>
        new Map((readers.get(topic) ?? []).map((group) => [group, codes]));
      const send = (value: Buffer, headers?: IHeaders) =>
        producer.send({
          topic: `${ns}${topic}`,
          messages: [{ key, value, ...(headers ? { headers } : {}) }],
        });
      const noHeader = 'no event-type header';
      switch (kind) {
        case 'random-bytes': {
          const bytes = Buffer.from(
            Array.from({ length: 1 + Math.floor(random() * 48) }, () => byte(random)),
          );
          await send(bytes);
          return { kind, topic, key, expected: everyReader(codesForBytes(bytes)), mentions: noHeader };
        }
        case 'wrong-magic-byte': {
          const value = Buffer.from(observer.sample(`${ns}${topic}`)!);
          value[0] = 1 + Math.floor(random() * 255);
          await send(value);
          return { kind, topic, key, expected: everyReader(['WRONG_MAGIC_BYTE']), mentions: noHeader };
        }
        case 'unknown-schema-id': {
          const value = Buffer.from(observer.sample(`${ns}${topic}`)!);
          value.writeInt32BE(unknownId, 1);
          await send(value);
          return {
            kind,
            topic,
            key,
            expected: everyReader(['UNKNOWN_SCHEMA_ID']),
            mentions: String(unknownId),
          };
        }
        case 'header-less': {
          // A copy of a real record: typed by its schema id, processed, recognised as a duplicate.
          await send(Buffer.from(observer.sample(`${ns}${topic}`)!));
          return { kind, topic, key, expected: new Map(), mentions: '' };
        }
        case 'domain-invalid':
          return domainInvalid(topic, key, i);
        default: {
          const unreachable: never = kind;
          return unreachable;
        }
      }
    }

    /** Valid Avro, written as its writer would (with our headers), that a reader refuses. */
    async function domainInvalid(topic: TopicName, key: string, i: number): Promise<Injected | undefined> {
      const id = `ORD-${key
        .replace(/[^A-Za-z0-9]/g, '')
        .toUpperCase()
        .slice(-20)}`;
      const refusal = (group: string, mentions: string): Injected => ({
        kind: 'domain-invalid',
        topic,
        key: id,
        expected: new Map([[`${ns}${group}`, ['INVALID_CONTENT']]]),
        mentions,
      });
      const placedEvent = observer.event('OrderPlaced');
      const requested = observer.event('FulfilmentRequested');
      if (topic === 'order.events' && placedEvent?.type === 'OrderPlaced' && placedEvent.version === 2) {
        // A product the adapter's map does not know: recorded as FulfilmentRejected, dead-lettered.
        const lines = placedEvent.data.lines.map((line) => ({ ...line, productCode: `PRD-POISON-${i}` }));
        await write('order', {
          type: 'OrderPlaced',
          version: 2,
          data: { ...placedEvent.data, orderId: id, lines },
        });
        return refusal('order-scm-adapter', 'UNKNOWN_PRODUCT_CODE');
      }
      if (
        topic === 'scm.fulfilment-requests' &&
        requested?.type === 'FulfilmentRequested' &&
        requested.version === 2
      ) {
        // Zero units: no hold can take them (the adapter itself never writes this).
        const lines = requested.data.lines.map((line) => ({ ...line, quantity: 0 }));
        await write('order-scm-adapter', {
          ...requested,
          data: { ...requested.data, fulfilmentId: id, lines },
        });
        return refusal('inventory', 'quantity 0');
      }
      return undefined;
    }

    /** Encodes an event as its writer context does (envelope, wire format, headers) and sends it. */
    async function write(producerContext: WriterContext, publication: Publication): Promise<void> {
      const topicOf = (name: TopicName): string => `${ns}${name}`;
      await serde.register({
        types: [publication.type],
        topicOf: (type) => topicOf(placementOf(type).topic),
      });
      const key = String(
        Object.getOwnPropertyDescriptor(publication.data, placementOf(publication.type).keyField)?.value,
      );
      const record = toOutgoing(
        serde,
        publication,
        {
          eventId: randomUUID(),
          eventType: publication.type,
          occurredAt: new Date(),
          correlationId: key,
          causationId: null,
          producer: producerContext,
          schemaVersion: publication.version,
        },
        topicOf,
      );
      await producer.send({
        topic: record.topic,
        messages: [{ key: record.key, value: record.value, headers: record.headers }],
      });
    }
  } finally {
    await observer.stop();
    await producer.disconnect();
  }
}

/** Which kind goes where: `perKind` of each, domain-invalid on the topics whose content is checked. */
function planPoison(
  random: Random,
  perKind: number,
  topics: readonly TopicName[],
): { kind: PoisonKind; topic: TopicName }[] {
  const plan: { kind: PoisonKind; topic: TopicName }[] = [];
  const checked: TopicName[] = ['order.events', 'scm.fulfilment-requests'];
  for (const kind of poisonKinds)
    for (let n = 0; n < perKind; n += 1) {
      // Domain-invalid content on each topic whose content a reader checks; the rest anywhere.
      if (kind === 'domain-invalid') for (const topic of checked) plan.push({ kind, topic });
      else plan.push({ kind, topic: topics[Math.floor(random() * topics.length)]! });
    }
  // Interleaved, so that the good orders placed meanwhile meet every kind.
  return plan
    .map((entry) => ({ entry, at: random() }))
    .sort((a, b) => a.at - b.at)
    .map(({ entry }) => entry);
}

const byte = (random: Random): number => Math.floor(random() * 256);

/** What the serde says of these bytes as a record value (see `readWireFrame`). */
function codesForBytes(bytes: Buffer): string[] {
  if (bytes[0] !== 0) return ['WRONG_MAGIC_BYTE'];
  if (bytes.length < 5) return ['UNDECODABLE'];
  return ['UNKNOWN_SCHEMA_ID', 'UNDECODABLE'];
}

/** A schema id the registry answers 404 for (ids are small and dense; this one is not). */
async function unknownSchemaId(registry: RegistryClient, random: Random): Promise<number> {
  for (;;) {
    const id = 1_000_000_000 + Math.floor(random() * 1_000_000_000);
    // Only the registry's 404 says unknown; any other failure (the registry down) is the caller's.
    const known = await registry.schemaById(id).then(
      () => true,
      (error: unknown) => {
        if (isPlatformError(error) && error.code === errorCodes.UNKNOWN_SCHEMA_ID) return false;
        throw error;
      },
    );
    if (!known) return id;
  }
}

function reasonOf(letter: Letter): string {
  return `${letter.headers[deadLetterHeaders.errorCode]}: ${letter.headers[deadLetterHeaders.exceptionMessage]}`;
}

const tomorrow = (): string => new Date(Date.now() + 9 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);

function orderBody(customerId: string, product: (typeof products)[number]): Json {
  return {
    customerId,
    lines: [{ productCode: product.productCode, quantity: 1, unitPrice: product.unitPrice }],
    deliveryAddress: {
      recipientName: '김민지',
      phone: '010-1234-5678',
      postalCode: '06236',
      roadAddress: '서울특별시 강남구 테헤란로 123',
    },
    delivery: { date: tomorrow(), slot: 'DAWN' },
    payment: { method: 'CARD' },
  };
}

async function stockOf(url: string, sku: string): Promise<Json> {
  return (await call(url, 'GET', `/inventory/stock/${sku}`)).body;
}

/** Waits until every order is in a final state (or the time is up); returns them by id. */
async function settle(
  url: string,
  customerId: string,
  orderIds: readonly string[],
  timeoutMs: number,
): Promise<Map<string, Json>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listed = await call(url, 'GET', `/orders?customerId=${encodeURIComponent(customerId)}`);
    const orders = new Map(
      ((listed.body.orders as Json[] | undefined) ?? []).map((o) => [String(o.orderId), o]),
    );
    const final = orderIds.every((id) =>
      ['DELIVERED', 'CANCELLED', 'FAILED'].includes(String(orders.get(id)?.status)),
    );
    if (final || Date.now() > deadline) return orders;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function until(timeoutMs: number, what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * One consumer of its own on the input topics (real records to copy, status updates in
 * partition order) and the groups' dead-letter topics, from the beginning, for the whole run.
 */
async function observe(kafka: Kafka, serde: Serde, inputs: readonly string[], groups: readonly string[]) {
  const deadLetterTopics = new Map(groups.map((group) => [`${group}.dlq`, group]));
  const samples = new Map<string, Buffer>();
  const events = new Map<string, DecodedEvent>();
  const letters: Letter[] = [];
  const updates = new Map<string, { orderId: string; status: StorefrontStatus }[]>();
  const positions = new Map<string, number>();
  const consumer: Consumer = kafka.consumer({ groupId: `poison-observer-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [...inputs, ...deadLetterTopics.keys()], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      positions.set(`${topic}:${partition}`, Number(message.offset) + 1);
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
      );
      const group = deadLetterTopics.get(topic);
      if (group !== undefined) {
        letters.push({ group, key: message.key?.toString() ?? null, headers });
        return;
      }
      // Only records the platform wrote (with our headers) are copied; never our own poison.
      const type = headers['event-type'];
      if (message.value && type !== undefined && !samples.has(topic)) samples.set(topic, message.value);
      if (message.value && (type === 'OrderPlaced' || type === 'FulfilmentRequested') && !events.has(type))
        events.set(type, await serde.decode(message.value));
      if (
        topic.endsWith('order.status-updates') &&
        headers['event-type'] === 'OrderStatusChanged' &&
        message.value
      ) {
        const event = await serde.decode(message.value);
        if (event.type === 'OrderStatusChanged' && event.data.status !== 'UNKNOWN')
          updates.set(topic, [
            ...(updates.get(topic) ?? []),
            { orderId: event.data.orderId, status: event.data.status },
          ]);
      }
    },
  });
  return {
    sample: (topic: string) => samples.get(topic),
    event: (type: 'OrderPlaced' | 'FulfilmentRequested') => events.get(type),
    letters: () => [...letters],
    statusUpdates(topic: string): Map<string, StorefrontStatus[]> {
      const byOrder = new Map<string, StorefrontStatus[]>();
      for (const { orderId, status } of updates.get(topic) ?? [])
        byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), status]);
      return byOrder;
    },
    /** Resolves once this reader has read every dead-letter topic up to its end as of now. */
    async caughtUp(timeoutMs: number): Promise<void> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const ends = await Promise.all(
          [...deadLetterTopics.keys()].map(async (topic) =>
            (await admin.fetchTopicOffsets(topic)).map((o) => ({
              at: `${topic}:${o.partition}`,
              high: Number(o.high),
            })),
          ),
        );
        await until(timeoutMs, 'the dead-letter topics read to their end', () =>
          ends.flat().every(({ at, high }) => high === 0 || (positions.get(at) ?? 0) >= high),
        );
      } finally {
        await admin.disconnect();
      }
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}

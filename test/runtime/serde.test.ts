/**
 * The serde against the real schema registry: registration, v1/v2 cross-reading of OrderPlaced,
 * distinct errors for bad bytes, and no registry request in steady state (counted by the
 * `scm_schema_registry_requests_total` metric).
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { EventType, OrderPlacedV1Data, OrderPlacedV2Data } from '@contracts/generated';
import { subjectName } from '@contracts/topics';
import { errorCodes, type PlatformError } from '@runtime/errors';
import { createRuntimeMetrics } from '@runtime/metrics';
import {
  countRegistryRequests,
  RegistryClient,
  Serde,
  wireHeader,
  type RegisteredSchema,
} from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';

const endpoints = testEndpoints();

const metadata = (eventType: string, schemaVersion: number) => ({
  eventId: randomUUID(),
  eventType,
  occurredAt: new Date('2026-01-02T03:04:05.678Z'),
  correlationId: 'ORD-20260102-000001',
  causationId: null,
  producer: 'order',
  schemaVersion,
});

const v1Data: OrderPlacedV1Data = {
  orderId: 'ORD-20260102-000001',
  customerId: 'CUST-1',
  lines: [
    {
      productCode: 'PRD-BIBIMBAP',
      productName: '돌솥비빔밥',
      quantity: 2,
      unitPrice: { amount: '12500.00', currency: 'KRW' },
    },
  ],
  totalAmount: { amount: '25000.00', currency: 'KRW' },
  deliveryAddress: {
    recipientName: '김철수',
    phone: '010-1234-5678',
    postalCode: '06234',
    roadAddress: '서울특별시 강남구 테헤란로 123',
    detailAddress: null,
  },
  deliverySlot: {
    startsAt: new Date('2026-01-02T09:00:00.000Z'),
    endsAt: new Date('2026-01-02T10:00:00.000Z'),
  },
};

const v2Data: OrderPlacedV2Data = { ...v1Data, deliveryMemo: '문 앞에 놓아주세요', salesChannel: 'APP' };

async function requestCount(metrics: ReturnType<typeof createRuntimeMetrics>): Promise<number> {
  const { values } = await metrics.schemaRegistryRequests.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}

function codeOf(error: unknown): string | undefined {
  return (error as PlatformError).code;
}

describe('serde against the real schema registry', () => {
  const topic = uniqueName('serde-order');
  const topicOf = (): string => topic;
  const metrics = createRuntimeMetrics(new Registry());
  const registry = new RegistryClient({
    url: endpoints.schemaRegistryUrl,
    onRequest: countRegistryRequests(metrics),
  });
  const subjects = new Set<string>();
  let registered: RegisteredSchema[] = [];

  // Writer: the order context, which registers its event types at startup.
  const writer = new Serde({ registry });
  const types: EventType[] = ['OrderPlaced', 'OrderCancelled'];

  beforeAll(async () => {
    registered = await writer.register({ types, topicOf });
    for (const { subject } of registered) subjects.add(subject);
  });

  afterAll(async () => {
    const cleanup = new RegistryClient({ url: endpoints.schemaRegistryUrl });
    for (const subject of subjects) await cleanup.deleteSubject(subject, { permanent: true });
  });

  it('registers every version under FULL_TRANSITIVE, idempotently', async () => {
    const subject = subjectName(topic, 'com.scmplatform.order.OrderPlaced');
    expect(registered.filter((r) => r.type === 'OrderPlaced').map((r) => [r.version, r.subject])).toEqual([
      [1, subject],
      [2, subject],
    ]);
    const [v1, v2] = registered.filter((r) => r.type === 'OrderPlaced');
    expect(v1?.id).not.toBe(v2?.id);

    const config = await fetch(`${endpoints.schemaRegistryUrl}/config/${encodeURIComponent(subject)}`);
    expect(await config.json()).toMatchObject({ compatibilityLevel: 'FULL_TRANSITIVE' });

    const again = await new Serde({ registry }).register({ types, topicOf });
    expect(again).toEqual(registered);
  });

  it('encodes in the Confluent wire format with the registered id', () => {
    const id = writer.schemaIdOf('OrderPlaced', 2);
    const bytes = writer.encode('OrderPlaced', 2, { metadata: metadata('OrderPlaced', 2), data: v2Data });
    expect(bytes.readUInt8(0)).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);
  });

  it('lets a v2 reader read v1 events (new fields take their defaults)', async () => {
    const bytes = writer.encode('OrderPlaced', 1, { metadata: metadata('OrderPlaced', 1), data: v1Data });
    const reader = new Serde({ registry, readers: { OrderPlaced: 2 } });
    const decoded = await reader.decode(bytes);
    expect(decoded).toMatchObject({
      schemaId: writer.schemaIdOf('OrderPlaced', 1),
      type: 'OrderPlaced',
      version: 2,
      metadata: { eventType: 'OrderPlaced', schemaVersion: 1 },
    });
    expect({ ...decoded.data }).toEqual({ ...v1Data, deliveryMemo: null, salesChannel: 'UNKNOWN' });
    expect(decoded.metadata.occurredAt).toEqual(new Date('2026-01-02T03:04:05.678Z'));
  });

  it('lets a v1 reader read v2 events (new fields are skipped)', async () => {
    const bytes = writer.encode('OrderPlaced', 2, { metadata: metadata('OrderPlaced', 2), data: v2Data });
    const oldConsumer = new Serde({ registry, readers: { OrderPlaced: 1 } });
    const decoded = await oldConsumer.decode(bytes);
    expect(decoded).toMatchObject({ type: 'OrderPlaced', version: 1, metadata: { schemaVersion: 2 } });
    expect(JSON.parse(JSON.stringify(decoded.data))).toEqual(JSON.parse(JSON.stringify(v1Data)));
    expect(decoded.data).not.toHaveProperty('salesChannel');
  });

  it('reports undecodable bytes, a wrong magic byte and an unknown schema id with distinct codes', async () => {
    const reader = new Serde({ registry });
    const good = writer.encode('OrderPlaced', 2, { metadata: metadata('OrderPlaced', 2), data: v2Data });

    const wrongMagic = Buffer.from(good);
    wrongMagic[0] = 1;
    const json = Buffer.from(JSON.stringify({ orderId: 'x' }));
    const truncated = good.subarray(0, good.length - 10);
    const short = Buffer.from([0, 0, 0]);
    const unknownId = Buffer.concat([wireHeader(2_000_000_000), good.subarray(5)]);

    const failures = await Promise.all(
      [wrongMagic, json, truncated, short, unknownId].map((bytes) =>
        reader.decode(bytes).then(
          () => undefined,
          (e) => e,
        ),
      ),
    );
    expect(failures.map(codeOf)).toEqual([
      errorCodes.WRONG_MAGIC_BYTE,
      errorCodes.WRONG_MAGIC_BYTE,
      errorCodes.UNDECODABLE,
      errorCodes.UNDECODABLE,
      errorCodes.UNKNOWN_SCHEMA_ID,
    ]);
    for (const failure of failures) expect((failure as PlatformError).category).toBe('permanent');
  });

  it('reports an unreachable registry as transient REGISTRY_UNAVAILABLE', async () => {
    const unreachable = new Serde({
      registry: new RegistryClient({ url: 'http://127.0.0.1:1', timeoutMs: 2_000 }),
    });
    const bytes = writer.encode('OrderPlaced', 2, { metadata: metadata('OrderPlaced', 2), data: v2Data });
    const failure = (await unreachable.decode(bytes).catch((e: unknown) => e)) as PlatformError;
    expect([failure.code, failure.category]).toEqual([errorCodes.REGISTRY_UNAVAILABLE, 'transient']);
  });

  it('makes no registry request in steady state', async () => {
    // A consumer that knows nothing yet: it fetches each writer id once, during warm-up.
    const consumer = new Serde({ registry, readers: { OrderPlaced: 1 } });
    const events = Array.from({ length: 100 }, (_, i) =>
      i % 2 === 0
        ? writer.encode('OrderPlaced', 1, { metadata: metadata('OrderPlaced', 1), data: v1Data })
        : writer.encode('OrderPlaced', 2, { metadata: metadata('OrderPlaced', 2), data: v2Data }),
    );
    const beforeWarmUp = await requestCount(metrics);
    await Promise.all(events.slice(0, 2).map((bytes) => consumer.decode(bytes)));
    const afterWarmUp = await requestCount(metrics);
    expect(afterWarmUp - beforeWarmUp).toBe(2); // one GET per writer id, v1 and v2

    for (let i = 0; i < 100; i += 1) {
      const bytes = writer.encode('OrderPlaced', 2, { metadata: metadata('OrderPlaced', 2), data: v2Data });
      await consumer.decode(bytes);
    }
    const decoded = await Promise.all(events.map((bytes) => consumer.decode(bytes)));
    expect(decoded.every((event) => event.version === 1)).toBe(true);
    expect(await requestCount(metrics)).toBe(afterWarmUp);
  });
});

/**
 * Conformance with an independent implementation: Confluent's own Python client (confluent-kafka
 * with its AvroDeserializer and AvroSerializer, from PyPI, in a private virtual environment)
 * reads and writes the platform's topics through the registry. Nothing on that side uses our
 * serde, our headers or our code (test/interop/confluent_client.py).
 *
 * A journey over HTTP puts every event type on the topics, OrderPlaced in v1 (a second
 * storefront with ORDER_PLACED_VERSION=1) and v2; the Python client must decode every record of
 * every topic of the deployment, UUID fields parsed as UUIDs. Then it writes an OrderPlaced of
 * each version, with no header at all, and both orders go through to delivered.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { eventTypes } from '@contracts/generated';
import { ensurePythonEnv, type PythonEnv } from '@infra/python-env';
import { readStackConfig } from '@infra/stack/config';
import type { RunningPlatform } from '@platform/host';
import { testEndpoints } from '@test/harness/endpoints';
import { call, createTestDeployment, type Json } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';
import { act, appearsIn, placeOrder, receiveStock, statusReaches, type ContextName } from './e2e/journey';

const endpoints = testEndpoints();
const here = resolve(__dirname, 'interop');
const deployment = createTestDeployment('interop');
let python: PythonEnv;
let storefront: RunningPlatform;
let couriers: RunningPlatform;
let storefrontV1: RunningPlatform;
/** Every context's API: delivery in its own process (no auto-advance, so a delivery can fail). */
const urlOf = (context: ContextName): string => (context === 'delivery' ? couriers.url : storefront.url);

interface ReadReport {
  records: {
    topic: string;
    partition: number;
    offset: number;
    key: string | null;
    schemaId: number | null;
    record: string | null;
    eventType: string;
    schemaVersion: number;
    eventId: string;
    causationId: string | null;
    uuidTypes: [string, string];
    headers: string[];
  }[];
  failures: { topic: string; partition: number; offset: number; error: string }[];
}

/**
 * Runs the Python client; its answer is one JSON document on stdout, its progress on stderr
 * (printed here, so a slow run on a loaded machine shows where its time went). The client keeps
 * its own deadline (`deadlineSeconds`) and reports what it had not read; the kill is a last resort.
 */
async function confluentClient<T>(command: 'read' | 'write', config: Json): Promise<T> {
  const { stdout, stderr } = await promisify(execFile)(
    python.python,
    ['-B', resolve(here, 'confluent_client.py'), command, JSON.stringify(config)],
    { timeout: 240_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, PYTHONNOUSERSITE: '1' } },
  );
  if (stderr.trim() !== '') console.log(stderr.trim());
  return JSON.parse(stdout) as T;
}

beforeAll(async () => {
  // First run on a machine: a venv and a pip install from PyPI (about 25 s here); later runs: none.
  // Started together: none needs another up first (provisioning is safe concurrently).
  [python, storefront, couriers, storefrontV1] = await Promise.all([
    ensurePythonEnv(readStackConfig(), 'interop', resolve(here, 'requirements.txt')),
    deployment.start(
      ['order', 'order-scm-adapter', 'scm-order-adapter', 'inventory', 'production', 'warehouse', 'tracking'],
      { AUTO_ADVANCE_MS: '200' },
    ),
    deployment.start(['delivery']),
    deployment.start(['order'], { ORDER_PLACED_VERSION: '1' }),
  ]);
}, 600_000);

afterAll(() => deployment.stop());

/**
 * Reserved and not yet with a courier. With auto-advance the kitchen and the warehouse move
 * on within milliseconds, so waiting for one exact status could miss it.
 */
async function inProgress(orderId: string): Promise<void> {
  await waitFor(`${orderId} reserved`, async () => {
    const status = String((await call(storefront.url, 'GET', `/orders/${orderId}`)).body.status);
    return ['RECEIVED', 'COOKING', 'PICKED', 'PACKED'].includes(status);
  });
}

/** The courier's part: dispatch once the parcel is ready, then deliver (or fail). */
async function ship(orderId: string, outcome: 'deliver' | 'fail'): Promise<void> {
  const shipment = `/delivery/shipments/SHP-${orderId}`;
  await appearsIn(urlOf, 'delivery', '/delivery/shipments?status=ready', orderId);
  expect((await act(urlOf, 'delivery', `${shipment}/dispatch`, { courierId: 'COURIER-PY' })).status).toBe(
    200,
  );
  const last =
    outcome === 'deliver'
      ? await act(urlOf, 'delivery', `${shipment}/deliver`, { proofOfDelivery: 'photo://door' })
      : await act(urlOf, 'delivery', `${shipment}/fail`, { reason: 'RECIPIENT_UNREACHABLE' });
  expect(last.status).toBe(200);
}

it('a Confluent client reads every record of every topic, and its own OrderPlaced v1 and v2 are delivered', async () => {
  // --- A journey that puts every event type on the topics ---
  await receiveStock(urlOf, 'SKU-BIBIMBAP-REG', 10);
  await receiveStock(urlOf, 'SKU-KIMCHI-500G', 10);
  await receiveStock(urlOf, 'SKU-BULGOGI-300G', 5);
  const bibimbap = { productCode: 'PRD-BIBIMBAP', quantity: 1, unitPrice: 9500 };
  const kimchi = { productCode: 'PRD-KIMCHI', quantity: 1, unitPrice: 12000 };

  // v2, a coupon, cooked, delivered, reviewed.
  const delivered = await placeOrder(urlOf, [bibimbap, kimchi], { couponCode: 'WELCOME3000' });
  // v1 (the second storefront), nothing to cook, a new address, then a failed delivery.
  const failed = await placeOrder(() => storefrontV1.url, [kimchi]);
  // Cancelled: the stock is released.
  const cancelled = await placeOrder(urlOf, [{ productCode: 'PRD-BULGOGI', quantity: 1, unitPrice: 15000 }]);
  // Short of stock: waits.
  const short = await placeOrder(urlOf, [{ productCode: 'PRD-SOYMILK-24', quantity: 50, unitPrice: 18000 }]);
  // Untranslatable: rejected (and dead-lettered by the adapter).
  const rejected = await placeOrder(urlOf, [{ productCode: 'PRD-PIZZA', quantity: 1, unitPrice: 20000 }]);

  await inProgress(cancelled);
  expect((await call(storefront.url, 'POST', `/orders/${cancelled}/cancel`, {})).status).toBe(202);
  await statusReaches(urlOf, cancelled, 'CANCELLED');
  await statusReaches(urlOf, short, 'WAITING_FOR_STOCK');
  await statusReaches(urlOf, rejected, 'REJECTED');

  await inProgress(failed);
  const moved = await call(storefront.url, 'PUT', `/orders/${failed}/delivery-address`, {
    recipientName: '박지훈',
    phone: '010-2222-3333',
    postalCode: '04524',
    roadAddress: '서울특별시 중구 세종대로 110',
    detailAddress: '3층',
  });
  expect(moved.status).toBe(200);
  await ship(failed, 'fail');
  await statusReaches(urlOf, failed, 'FAILED');

  await ship(delivered, 'deliver');
  await statusReaches(urlOf, delivered, 'DELIVERED');
  const review = await call(storefront.url, 'POST', `/orders/${delivered}/review`, {
    rating: 5,
    comment: '맛있어요',
  });
  expect(review.status).toBe(200);

  // --- The Python client writes an OrderPlaced of each version, without any header ---
  const kstDate = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10).replaceAll('-', '');
  const suffix = deployment.namespace.slice(-7, -1).toUpperCase();
  const external = [1, 2].map((version) => ({ orderId: `ORD-${kstDate}-PY${version}${suffix}`, version }));
  const orderTopic = `${deployment.namespace}order.events`;
  const wrote = await confluentClient<{ written: { orderId: string; version: number; schemaId: number }[] }>(
    'write',
    {
      bootstrap: endpoints.kafkaBrokers.join(','),
      registry: endpoints.schemaRegistryUrl,
      topic: orderTopic,
      orders: external,
    },
  );
  expect(wrote.written.map((w) => [w.orderId, w.version])).toEqual(
    external.map((o) => [o.orderId, o.version]),
  );

  for (const { orderId } of external) {
    await ship(orderId, 'deliver');
    const shipment = await call(couriers.url, 'GET', `/delivery/shipments/SHP-${orderId}`);
    expect(shipment.body).toMatchObject({ status: 'delivered' });
    // Tracking reads each topic in its own batches, so the DELIVERED status can be in the
    // timeline before the courier's ShipmentDelivered: wait for the whole journey, not its end.
    const journey = [
      'OrderPlaced',
      'FulfilmentRequested',
      'StockReserved',
      'CookingStarted',
      'CookingCompleted',
      'OrderPicked',
      'OrderPacked',
      'ShipmentDispatched',
      'ShipmentDelivered',
    ];
    // The wait is the assertion: it fails, naming the order, if the journey never completes.
    await waitFor(`${orderId}'s whole journey in the timeline`, async () => {
      const answer = await call(storefront.url, 'GET', `/orders/${orderId}/timeline`);
      const hops = (answer.body.hops as Json[] | undefined) ?? [];
      const delivered = hops.some((hop) => hop.type === 'OrderStatusChanged' && hop.status === 'DELIVERED');
      return delivered && journey.every((type) => hops.some((hop) => hop.type === type));
    });
  }
  // The last event of the journey, published by the outbox relay after the answer: on the topic
  // once tracking has it.
  await waitFor('the review in the timeline', async () => {
    const answer = await call(storefront.url, 'GET', `/orders/${delivered}/timeline`);
    return ((answer.body.hops as Json[] | undefined) ?? []).some((hop) => hop.type === 'OrderReviewed');
  });

  // --- The Python client reads every record of every topic of the deployment ---
  const kafka = new Kafka({
    clientId: 'interop-test',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  let topics: string[];
  let expected = 0;
  try {
    topics = (await admin.listTopics()).filter((topic) => topic.startsWith(deployment.namespace)).sort();
    for (const topic of topics)
      for (const { high, low } of await admin.fetchTopicOffsets(topic))
        expected += Number(high) - Number(low);
  } finally {
    await admin.disconnect();
  }
  const report = await confluentClient<ReadReport>('read', {
    bootstrap: endpoints.kafkaBrokers.join(','),
    registry: endpoints.schemaRegistryUrl,
    topics,
    deadlineSeconds: 150,
  });

  expect(report.failures).toEqual([]);
  // At least what the topics held just before (the platform may still be writing, e.g. status updates).
  expect(report.records.length).toBeGreaterThanOrEqual(expected);
  const seen = new Set(report.records.map((record) => record.eventType));
  expect([...eventTypes].filter((type) => !seen.has(type))).toEqual([]);
  const placed = report.records.filter((record) => record.eventType === 'OrderPlaced');
  expect(new Set(placed.map((record) => record.schemaVersion))).toEqual(new Set([1, 2]));
  for (const record of report.records) {
    // fastavro parsed both UUID fields: the contract's logical type holds for every value.
    expect(record.uuidTypes).toEqual(['UUID', record.causationId === null ? 'NoneType' : 'UUID']);
    expect(record.record).toMatch(new RegExp(`^com\\.scmplatform\\.(order|scm)\\.${record.eventType}$`));
  }
  // causationId is the eventId of the event that caused it, or null for a command.
  const byId = new Map(report.records.map((record) => [record.eventId, record]));
  for (const record of report.records.filter((r) => r.eventType === 'FulfilmentRequested'))
    expect(byId.get(record.causationId ?? '')?.eventType).toBe('OrderPlaced');
  for (const record of placed) expect(record.causationId).toBeNull();
  // The Python client's records: on the topic as it wrote them, no header of ours.
  for (const { orderId, version } of external) {
    const own = placed.filter((record) => record.key === orderId);
    expect(own.map((record) => [record.schemaVersion, record.headers])).toEqual([[version, []]]);
  }
}, 420_000);

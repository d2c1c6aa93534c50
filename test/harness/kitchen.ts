/**
 * Inputs for the kitchen (`production`) context and what a user sees of it afterwards, for the
 * tests that run it as a real process and check its effects: its API, its heads in the store,
 * its metrics, its consumer group's committed offsets and its output topic.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { HeadDocument } from '@runtime/aggregate-store';
import type { Publication } from '@runtime/decider';
import { testEndpoints } from './endpoints';
import { call, type TestDeployment } from './platform';

/** A fulfilment the kitchen is asked about: cooked to order (its task waits) or not (skipped). */
export interface KitchenOrder {
  readonly id: string;
  readonly cooked: boolean;
}

/** `count` new fulfilments, every other one with something cooked to order. */
export function kitchenOrders(count: number): KitchenOrder[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `ORD-20250102-${randomBytes(4).toString('hex').toUpperCase()}`,
    cooked: i % 2 === 0,
  }));
}

const soup = { sku: 'SKU-DOENJANG-SOUP', quantity: 1 };
const rice = { sku: 'SKU-RICE-210G', quantity: 1 };

export const fulfilmentRequested = ({ id, cooked }: KitchenOrder): Publication => ({
  type: 'FulfilmentRequested',
  version: 2,
  data: {
    fulfilmentId: id,
    lines: [soup, rice],
    destination: {
      contactName: '김민지',
      contactPhone: '010-1234-5678',
      postalCode: '13487',
      addressLine: '경기도 성남시 분당구 판교역로 235',
      addressDetail: null,
      courierNote: null,
    },
    deliveryWindow: {
      earliest: new Date('2025-01-02T21:00:00.000Z'),
      latest: new Date('2025-01-02T23:00:00.000Z'),
    },
    dispatchWave: 'WAVE-20250102-DAWN',
    deliveryZone: 'GYEONGGI-PANGYO',
    cookedToOrderSkus: cooked ? [soup.sku] : [],
  },
});

export const stockReserved = ({ id }: KitchenOrder): Publication => ({
  type: 'StockReserved',
  version: 1,
  data: { fulfilmentId: id, lines: [soup, rice] },
});

/** Both inputs of every order (its reservation, then its request), as inventory and the adapter write them. */
export async function publishKitchenInputs(
  deployment: TestDeployment,
  orders: readonly KitchenOrder[],
): Promise<void> {
  await deployment.publish('inventory', ...orders.map(stockReserved));
  await deployment.publish('order-scm-adapter', ...orders.map(fulfilmentRequested));
}

/** What the kitchen decided for a fulfilment with both inputs applied. */
export const decidedStatus = ({ cooked }: KitchenOrder): string => (cooked ? 'waiting' : 'skipped');

/** Each order's task status as the kitchen's API answers it (`missing` for a 404). */
export async function kitchenStatuses(url: string, orders: readonly KitchenOrder[]): Promise<string[]> {
  return Promise.all(
    orders.map(async ({ id }) => {
      const response = await call(url, 'GET', `/kitchen/tasks/KT-${id}`);
      return response.status === 404 ? 'missing' : String(response.body.status);
    }),
  );
}

/** The kitchen's heads in the store: one per fulfilment, its version and the causes applied to it. */
export async function kitchenHeads(
  deployment: TestDeployment,
): Promise<Pick<HeadDocument<unknown>, '_id' | 'version' | 'causes'>[]> {
  const mongo = await new MongoClient(testEndpoints().mongoUrl).connect();
  try {
    return await mongo
      .db(deployment.database)
      .collection<HeadDocument<unknown>>('production_tasks')
      .find({}, { projection: { version: 1, causes: 1 } })
      .toArray();
  } finally {
    await mongo.close();
  }
}

/** Events the kitchen has applied so far: every consumed event is one cause in one head. */
export async function kitchenApplied(deployment: TestDeployment): Promise<number> {
  return (await kitchenHeads(deployment)).reduce((sum, head) => sum + head.causes.length, 0);
}

/**
 * The sum of a counter's series for the kitchen's consumer group (every topic), from `/metrics`
 * at `metricsUrl` (the process's metrics listener).
 */
export async function kitchenCounter(metricsUrl: string, name: string): Promise<number> {
  const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
  const series = new RegExp(`^${name}\\{group="[^"]*production"[^}]*\\} (\\d+)$`, 'gm');
  return [...metrics.matchAll(series)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/**
 * The kitchen group's committed offsets and the ends of the topics it reads, summed over their
 * partitions: committed equals end once everything on them has been applied and committed.
 */
export async function kitchenOffsets(
  deployment: TestDeployment,
): Promise<{ committed: number; end: number }> {
  const topics = ['scm.fulfilment-requests', 'scm.inventory-events'].map(
    (topic) => `${deployment.namespace}${topic}`,
  );
  const kafka = new Kafka({
    clientId: 'kitchen-offsets',
    brokers: testEndpoints().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId: `${deployment.namespace}production`, topics });
    const ends = await Promise.all(topics.map((topic) => admin.fetchTopicOffsets(topic)));
    const sum = (offsets: readonly string[]): number =>
      offsets.reduce((total, offset) => total + Math.max(0, Number(offset)), 0);
    return {
      // -1: nothing committed on that partition yet.
      committed: sum(committed.flatMap((topic) => topic.partitions.map((p) => p.offset))),
      end: sum(ends.flatMap((partitions) => partitions.map((p) => p.high))),
    };
  } finally {
    await admin.disconnect();
  }
}

/** The fulfilments of every CookingSkipped on the kitchen's topic, once per event id. */
export async function skippedFulfilments(deployment: TestDeployment): Promise<string[]> {
  const events = await deployment.events('scm.production-events');
  return events
    .filter((event) => event.type === 'CookingSkipped')
    .map((event) => ('fulfilmentId' in event.data ? event.data.fulfilmentId : ''));
}

/**
 * Watches a deployment's topics from outside, as any downstream consumer would, and keeps per
 * order when each step of the journey happened (the events' own `occurredAt`). That gives the
 * pipeline lanes their end (an order is delivered when `OrderStatusChanged` says DELIVERED) and
 * their latency figures, placed→delivered and per hop, without asking the platform anything.
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { topics } from '@contracts/topics';
import type { Serde } from '@runtime/serde';
import { percentile, sortedCopy } from './stats';

/** The journey's steps in order; a hop is the time between two neighbours an order went through. */
export const journeySteps = [
  'OrderPlaced',
  'FulfilmentRequested',
  'StockReserved',
  'Cooking',
  'CookingCompleted',
  'OrderPicked',
  'OrderPacked',
  'ShipmentDispatched',
  'ShipmentDelivered',
  'DELIVERED',
] as const;
export type JourneyStep = (typeof journeySteps)[number];

/** The step an event marks; CookingStarted and CookingSkipped both mean the kitchen took it on. */
function stepOf(type: string, status: string | undefined): JourneyStep | undefined {
  if (type === 'CookingStarted' || type === 'CookingSkipped') return 'Cooking';
  if (type === 'OrderStatusChanged') return status === 'DELIVERED' ? 'DELIVERED' : undefined;
  return (journeySteps as readonly string[]).includes(type) ? (type as JourneyStep) : undefined;
}

export interface JourneyObserver {
  /** First time (ms) each step was seen per order id. */
  readonly orders: ReadonlyMap<string, ReadonlyMap<JourneyStep, number>>;
  /** Records seen so far, all topics. */
  records(): number;
  delivered(): number;
  /** Undecodable records (would mean the platform wrote something no consumer can read). */
  undecodable(): number;
  stop(): Promise<void>;
}

export async function observeJourney(
  kafka: Kafka,
  serde: Serde,
  namespace: string,
): Promise<JourneyObserver> {
  const orders = new Map<string, Map<JourneyStep, number>>();
  let records = 0;
  let delivered = 0;
  let undecodable = 0;
  const consumer: Consumer = kafka.consumer({
    groupId: `${namespace}bench-observer-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map(({ name }) => `${namespace}${name}`), fromBeginning: true });
  let joined!: () => void;
  const joinedOnce = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        records += 1;
        if (message.value === null) continue;
        try {
          const event = await serde.decode(message.value);
          const status = event.type === 'OrderStatusChanged' ? event.data.status : undefined;
          const step = stepOf(event.type, status);
          if (step === undefined) continue;
          const id = event.metadata.correlationId;
          const steps = orders.get(id) ?? new Map<JourneyStep, number>();
          if (!steps.has(step)) {
            steps.set(step, event.metadata.occurredAt.getTime());
            if (step === 'DELIVERED') delivered += 1;
          }
          orders.set(id, steps);
        } catch {
          undecodable += 1;
        }
      }
    },
  });
  await joinedOnce;
  return {
    orders,
    records: () => records,
    delivered: () => delivered,
    undecodable: () => undecodable,
    async stop() {
      await consumer.stop();
      await consumer.disconnect();
    },
  };
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

/** Nearest-rank percentiles (ms). */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = sortedCopy(values);
  return sorted.length === 0
    ? { count: 0, p50: Number.NaN, p99: Number.NaN, p999: Number.NaN }
    : {
        count: sorted.length,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        p999: percentile(sorted, 0.999),
      };
}

/** Placed→delivered and every hop's latency over the given orders (those that were delivered). */
export function journeyLatencies(traces: Iterable<ReadonlyMap<JourneyStep, number>>): {
  total: Percentiles;
  hops: { from: JourneyStep; to: JourneyStep; latency: Percentiles }[];
} {
  const complete = [...traces].filter((steps) => steps.has('OrderPlaced') && steps.has('DELIVERED'));
  const total = percentiles(
    complete.map((steps) => (steps.get('DELIVERED') ?? 0) - (steps.get('OrderPlaced') ?? 0)),
  );
  const hops = journeySteps.slice(1).map((to, index) => {
    const from = journeySteps[index] as JourneyStep;
    const values = complete.flatMap((steps) => {
      const [a, b] = [steps.get(from), steps.get(to)];
      return a === undefined || b === undefined ? [] : [b - a];
    });
    return { from, to, latency: percentiles(values) };
  });
  return { total, hops };
}

/**
 * The lanes under test: the platform's own code on the real stack, each as its own process.
 *
 * - adapter: the order->scm adapter alone, reading a pre-loaded `order.events` and writing
 *   `scm.fulfilment-requests` (decode, filter, translate, state + outbox, publish, commit);
 * - state writer: one context (production) alone, reading pre-loaded fulfilment requests and
 *   reservations and publishing what it decides (decode, decide, write, publish, commit);
 * - pipeline: every context in one process, orders placed over HTTP until delivered, with
 *   auto-advance standing in for the kitchen, the warehouse and the couriers.
 *
 * Each returns what it measured; the command (bench/cli.ts) repeats, compares and reports.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import type { TopicName } from '@contracts/topics';
import type { Serde } from '@runtime/serde';
import {
  journeyLatencies,
  observeJourney,
  type JourneyObserver,
  type JourneyStep,
  type Percentiles,
} from './observer';
import {
  processedEvents,
  startPlatformProcess,
  type BenchEndpoints,
  type MetricSamples,
  type PlatformProcess,
} from './platform-process';
import { benchOrderId, fulfilmentRequested, orderPlaced, preload, stockReserved } from './preload';
import { sumMetric } from '../simulator/plan';
import { cpuWindow, residentMiB } from './probes';
import type { Progress } from './progress';

export interface LaneEnv {
  readonly endpoints: BenchEndpoints;
  readonly kafka: Kafka;
  /** The benchmark's own serde (its registry calls are not the platform's). */
  readonly serde: Serde;
  readonly mongo: MongoClient;
  /** Unique per benchmark run: every lane's topics, groups and databases start with it. */
  readonly runId: string;
  readonly progress: Progress;
  /** The benchmark's environment, inherited by the platform processes it starts. */
  readonly inherited: NodeJS.ProcessEnv;
  /** The document store's process, when it runs on this machine (the native stack). */
  readonly storePid: number | undefined;
}

/** What every lane reports beside its throughput. */
export interface Counters {
  /** Store commands (round trips) per event processed, in the measured window. */
  readonly storeRoundTripsPerEvent: number;
  /** Registry HTTP calls in steady state (after the first output, to the end). */
  readonly registryCallsSteadyState: number;
  readonly platformRssMiB: { readonly start: number; readonly end: number };
  readonly storeRssMiB?: { readonly start: number; readonly end: number };
}

/** Orders placed over HTTP by the traffic generator (bench/cli.ts binds the simulator). */
export type PlaceOrders = (options: {
  readonly url: string;
  readonly ratePerSec: number;
  readonly count: number;
  readonly seed: number;
}) => Promise<{ readonly placed: number; readonly refused: number; readonly failed: number }>;

let laneCounter = 0;
/** Topic namespace and database of one lane run. */
function isolation(env: LaneEnv, lane: string): { namespace: string; database: string } {
  laneCounter += 1;
  const id = `${env.runId}-${lane}-${laneCounter}`;
  return { namespace: `${id}.`, database: id.replace(/[^a-zA-Z0-9]/g, '_') };
}

async function highWatermarks(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Records the platform's consumer groups have not committed yet, summed over every group of the
 * deployment and every partition: committed offset against the log end, read from the broker as
 * Kafka's own consumer-groups tool does (the platform's own lag gauge is only updated at the end
 * of a batch, and reads 0 between batches).
 */
export async function committedLag(kafka: Kafka, namespace: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups
      .map(({ groupId }) => groupId)
      .filter((groupId) => groupId.startsWith(namespace) && !groupId.includes('bench-observer'));
    const ends = new Map<string, Map<number, number>>();
    let lag = 0;
    for (const groupId of groups) {
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
        if (!ends.has(topic))
          ends.set(
            topic,
            new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)])),
          );
        for (const { partition, offset } of partitions) {
          const end = ends.get(topic)?.get(partition) ?? 0;
          // -1: nothing committed yet, so everything up to the end is still to be read.
          lag += Math.max(0, end - Math.max(0, Number(offset)));
        }
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Polls until `done()` or the deadline; returns false on the deadline. */
async function until(
  done: () => Promise<boolean> | boolean,
  deadline: number,
  everyMs = 250,
): Promise<boolean> {
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

async function cleanUp(env: LaneEnv, namespace: string, database: string): Promise<void> {
  const admin = env.kafka.admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(namespace));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    // Dead-letter topics are named after the (namespaced) group.
  } finally {
    await admin.disconnect();
  }
  await env.mongo
    .db(database)
    .dropDatabase()
    .catch(() => undefined);
}

const storeCommands = (samples: MetricSamples): number => sumMetric(samples, 'scm_store_commands_total');
const registryCalls = (samples: MetricSamples): number =>
  sumMetric(samples, 'scm_schema_registry_requests_total');

export interface StageResult {
  readonly events: number;
  readonly published: number;
  readonly seconds: number;
  /** Events processed per second. */
  readonly eventsPerSec: number;
  readonly completed: boolean;
  readonly counters: Counters;
}

/**
 * One stage alone: start it, pre-load its input, and time it until its output topic holds what
 * it must publish (`expected`), or the time cap.
 */
async function stageLane(
  env: LaneEnv,
  options: {
    readonly lane: string;
    readonly context: string;
    readonly load: (topicOf: (name: string) => string) => Promise<void>;
    readonly output: TopicName;
    readonly expected: number;
    readonly capMs: number;
  },
): Promise<StageResult> {
  const { namespace, database } = isolation(env, options.lane);
  const topicOf = (name: string): string => `${namespace}${name}`;
  let platform: PlatformProcess | undefined;
  try {
    env.progress.update(`${options.lane}: starting ${options.context}`);
    platform = await startPlatformProcess({
      endpoints: env.endpoints,
      contexts: [options.context],
      inherited: env.inherited,
      namespace,
      database,
    });
    const started = { rss: residentMiB(platform.pid), store: env.storePid ? residentMiB(env.storePid) : 0 };
    const before = await platform.metrics();
    const t0 = Date.now();
    await options.load(topicOf);
    const output = topicOf(options.output);
    let warm: MetricSamples | undefined;
    let published = 0;
    const completed = await until(async () => {
      // Right after the topic was created its leader may still be moving: ask again next time.
      published = await highWatermarks(env.kafka, output).catch(() => published);
      if (warm === undefined && published > 0) warm = await platform?.metrics();
      env.progress.update(`${options.lane}: ${published}/${options.expected} published`);
      return published >= options.expected;
    }, t0 + options.capMs);
    const seconds = (Date.now() - t0) / 1000;
    const after = await platform.metrics();
    const events = processedEvents(after) - processedEvents(before);
    return {
      events,
      published,
      seconds,
      eventsPerSec: events / seconds,
      completed,
      counters: {
        storeRoundTripsPerEvent: (storeCommands(after) - storeCommands(before)) / Math.max(1, events),
        registryCallsSteadyState: registryCalls(after) - registryCalls(warm ?? after),
        platformRssMiB: { start: started.rss, end: residentMiB(platform.pid) },
        ...(env.storePid ? { storeRssMiB: { start: started.store, end: residentMiB(env.storePid) } } : {}),
      },
    };
  } finally {
    await platform?.stop();
    await cleanUp(env, namespace, database);
  }
}

/** The order->scm adapter alone: `orders` OrderPlaced in, as many FulfilmentRequested out. */
export function adapterLane(env: LaneEnv, orders: number, capMs: number): Promise<StageResult> {
  const run = randomBytes(2).toString('hex').toUpperCase();
  return stageLane(env, {
    lane: 'adapter',
    context: 'order-scm-adapter',
    expected: orders,
    output: 'scm.fulfilment-requests',
    capMs,
    load: (topicOf) =>
      preload(
        env.kafka,
        env.serde,
        'order',
        Array.from({ length: orders }, (_, i) => orderPlaced(benchOrderId(run, i))),
        topicOf,
      ),
  });
}

/**
 * One context's state writer alone (production): per fulfilment a request and a reservation in,
 * one CookingSkipped out (nothing is cooked to order), so 2 x `fulfilments` events processed.
 */
export function stateWriterLane(env: LaneEnv, fulfilments: number, capMs: number): Promise<StageResult> {
  const run = randomBytes(2).toString('hex').toUpperCase();
  const ids = Array.from({ length: fulfilments }, (_, i) => benchOrderId(run, i));
  return stageLane(env, {
    lane: 'state-writer',
    context: 'production',
    expected: fulfilments,
    output: 'scm.production-events',
    capMs,
    load: async (topicOf) => {
      await preload(env.kafka, env.serde, 'order-scm-adapter', ids.map(fulfilmentRequested), topicOf);
      await preload(env.kafka, env.serde, 'inventory', ids.map(stockReserved), topicOf);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline

export interface PipelinePlatform {
  readonly platform: PlatformProcess;
  /** Watches the deployment's topics for as long as the platform runs. */
  readonly observer: JourneyObserver;
  readonly namespace: string;
  readonly database: string;
  stop(): Promise<void>;
}

/** Every context in one process (the main command's mode), auto-advance at `advanceMs`. */
export async function startPipelinePlatform(
  env: LaneEnv,
  options: {
    readonly lane: string;
    readonly advanceMs: number;
    readonly database?: string;
    readonly readyTimeoutMs?: number;
  },
): Promise<PipelinePlatform> {
  const own = isolation(env, options.lane);
  const database = options.database ?? own.database;
  const platform = await startPlatformProcess({
    endpoints: env.endpoints,
    contexts: [],
    inherited: env.inherited,
    namespace: own.namespace,
    database,
    env: { AUTO_ADVANCE_MS: String(options.advanceMs) },
    ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });
  const observer = await observeJourney(env.kafka, env.serde, own.namespace);
  return {
    platform,
    observer,
    namespace: own.namespace,
    database,
    async stop() {
      await observer.stop();
      await platform.stop();
      await cleanUp(env, own.namespace, database);
    },
  };
}

export interface PipelineRun {
  readonly placed: number;
  /** Placements that failed (no answer, or a 5xx): the storefront could not take the order. */
  readonly failedPlacements: number;
  readonly delivered: number;
  readonly seconds: number;
  /** Orders delivered per second, from the first placement to the last delivery. */
  readonly ordersPerSec: number;
  /** Events processed per second, summed over every consumer group. */
  readonly eventsPerSec: number;
  readonly eventsPerOrder: number;
  readonly completed: boolean;
  readonly latency: Percentiles;
  readonly hops: ReturnType<typeof journeyLatencies>['hops'];
  /** Uncommitted records summed over the platform's groups (from the broker) when placing stopped and at the end. */
  readonly lag: { readonly atEndOfLoad: number; readonly atEnd: number };
  readonly counters: Counters;
}

/**
 * Places `count` orders at `ratePerSec` (Infinity: as fast as the client goes) on a running
 * pipeline platform and waits until the observer has seen every one delivered, or the cap.
 */
export async function pipelineRun(
  env: LaneEnv,
  running: PipelinePlatform,
  placeOrders: PlaceOrders,
  options: {
    readonly label: string;
    readonly count: number;
    readonly ratePerSec: number;
    readonly capMs: number;
    readonly seed: number;
  },
): Promise<PipelineRun> {
  const { platform, observer } = running;
  const startRss = residentMiB(platform.pid);
  const startStore = env.storePid ? residentMiB(env.storePid) : 0;
  const before = await platform.metrics();
  const t0 = Date.now();
  // This run's orders: placed from now on (an earlier run's stragglers were placed before).
  const ofThisRun = (): ReadonlyMap<JourneyStep, number>[] =>
    [...observer.orders.values()].filter((steps) => (steps.get('OrderPlaced') ?? 0) >= t0);
  const placing = placeOrders({
    url: platform.url,
    ratePerSec: options.ratePerSec,
    count: options.count,
    seed: options.seed,
  });
  let placedSoFar: number | undefined;
  let lagAtEndOfLoad = Number.NaN;
  const placed = placing.then(async (result) => {
    placedSoFar = result.placed;
    lagAtEndOfLoad = await committedLag(env.kafka, running.namespace).catch(() => Number.NaN);
    return result;
  });
  let warm: MetricSamples | undefined;
  const completed = await until(
    async () => {
      const delivered = ofThisRun().filter((steps) => steps.has('DELIVERED')).length;
      if (warm === undefined && delivered > 0) warm = await platform.metrics();
      env.progress.update(
        `${options.label}: placed ${placedSoFar ?? '…'}/${options.count}, delivered ${delivered}, ${observer.records()} records seen`,
      );
      return placedSoFar !== undefined && delivered >= placedSoFar;
    },
    t0 + options.capMs,
    500,
  );
  const result = await placed;
  const after = await platform.metrics();
  const traces = ofThisRun();
  const delivered = traces.filter((steps) => steps.has('DELIVERED'));
  const firstPlaced = Math.min(
    ...traces.map((steps) => steps.get('OrderPlaced') ?? Number.POSITIVE_INFINITY),
  );
  const lastDelivered = Math.max(...delivered.map((steps) => steps.get('DELIVERED') ?? 0));
  const seconds = (Date.now() - t0) / 1000;
  const events = processedEvents(after) - processedEvents(before);
  const latencies = journeyLatencies(delivered);
  const span = delivered.length > 0 ? (lastDelivered - firstPlaced) / 1000 : seconds;
  return {
    placed: result.placed,
    failedPlacements: result.failed,
    delivered: delivered.length,
    seconds,
    ordersPerSec: delivered.length / Math.max(span, 0.001),
    eventsPerSec: events / seconds,
    eventsPerOrder: events / Math.max(1, result.placed),
    completed,
    latency: latencies.total,
    hops: latencies.hops,
    lag: {
      atEndOfLoad: lagAtEndOfLoad,
      atEnd: await committedLag(env.kafka, running.namespace).catch(() => Number.NaN),
    },
    counters: {
      storeRoundTripsPerEvent: (storeCommands(after) - storeCommands(before)) / Math.max(1, events),
      registryCallsSteadyState: registryCalls(after) - registryCalls(warm ?? after),
      platformRssMiB: { start: startRss, end: residentMiB(platform.pid) },
      ...(env.storePid ? { storeRssMiB: { start: startStore, end: residentMiB(env.storePid) } } : {}),
    },
  };
}

/** CPU of the platform and the store while nothing is sent, over `seconds`. */
export async function idleCpu(
  env: LaneEnv,
  platform: PlatformProcess,
  seconds: number,
  label: string,
): Promise<{ platformPercent: number; storePercent: number | undefined }> {
  const platformCpu = cpuWindow(platform.pid);
  const storeCpu = env.storePid ? cpuWindow(env.storePid) : undefined;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    env.progress.update(`${label}: idle, measuring CPU (${Math.ceil((end - Date.now()) / 1000)} s left)`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, end - Date.now())));
  }
  return { platformPercent: platformCpu.stop(), storePercent: storeCpu?.stop() };
}

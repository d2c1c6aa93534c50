/**
 * `npm run bench [-- --quick] [--lanes a,b,...] [--no-write]` (`-- --help` for all): the pipeline benchmark. Every lane
 * in one invocation, following ../shared/docs/PERFORMANCE.md: the raw baselines (B0 Kafka's Java
 * perf tools, B1 a raw kafkajs hop, B1r a raw relay, B2 raw store writes) measured on the same
 * broker and store, in the same run, as the lanes under test (the order->scm adapter alone, one
 * context's state writer alone, the whole pipeline at saturation and at 50% / 80% of it, and the
 * same pipeline over a store that already holds history). Ratios against the baselines are the
 * result; absolute numbers drift on a shared two-core machine.
 *
 * Results: stdout, `bench/results/<date>-<machine>.json`, and the "Pipeline" section of
 * docs/benchmarks.md. Endpoints: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and MONGO_URL when all are
 * set, else the native stack (brought up if needed).
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { readStackConfig } from '@infra/stack/config';
import { findJava } from '@infra/stack/prerequisites';
import { readPid } from '@infra/stack/processes';
import { readToolKafkaSecurity, resolveEndpoints } from '@platform/config';
import { kafkaClientSecurity } from '@runtime/kafka-security';
import { RegistryClient, Serde } from '@runtime/serde';
import { deliveredOnlyMix, startTraffic } from '../simulator/traffic';
import { runB0, runB1, runB1Latency, runB1r, runB2 } from './baselines';
import { readTemplate, seedHistory } from './history';
import {
  adapterLane,
  idleCpu,
  pipelineRun,
  startPipelinePlatform,
  stateWriterLane,
  type LaneEnv,
  type PipelineRun,
  type PlaceOrders,
  type StageResult,
} from './lanes';
import { benchCredentials } from './platform-process';
import { isAlive, residentMiB } from './probes';
import { createProgress } from './progress';
import { median } from './stats';
import { report, type BenchResults } from './report';

// A benchmark command is a composition root: it reads its environment here, once.
// eslint-disable-next-line no-restricted-properties
const environment = process.env;

const laneNames = ['baselines', 'adapter', 'state-writer', 'pipeline', 'history'] as const;
type LaneName = (typeof laneNames)[number];

/** Sizes of one invocation: --quick stays under five minutes, the full run under twenty. */
const profiles = {
  /** For the test suite: every lane runs, on sizes that take seconds, to prove the command works. */
  smoke: {
    runs: 1,
    b0: { records: 2_000, recordBytes: 600 },
    b1: { messages: 1_000, messageBytes: 600, partitions: 2, batchSize: 500 },
    b1r: { messages: 500, messageBytes: 600, partitions: 2 },
    b2: { documents: 20, documentBytes: 1_200, batchSize: 10 },
    adapter: { orders: 5, capMs: 60_000 },
    stateWriter: { fulfilments: 5, capMs: 60_000 },
    pipeline: { saturationOrders: 2, capMs: 60_000, loadSeconds: 3, loadMinOrders: 2, loadCapMs: 60_000 },
    b1Latency: { durationMs: 2_000 },
    history: { sizes: [0, 5], seedBudgetMs: 10_000, idleSeconds: 1, burst: 1, capMs: 60_000 },
  },
  quick: {
    runs: 3,
    b0: { records: 100_000, recordBytes: 600 },
    b1: { messages: 20_000, messageBytes: 600, partitions: 6, batchSize: 500 },
    b1r: { messages: 10_000, messageBytes: 600, partitions: 6 },
    b2: { documents: 100, documentBytes: 1_200, batchSize: 50 },
    adapter: { orders: 100, capMs: 60_000 },
    stateWriter: { fulfilments: 100, capMs: 60_000 },
    pipeline: { saturationOrders: 10, capMs: 90_000, loadSeconds: 15, loadMinOrders: 3, loadCapMs: 45_000 },
    b1Latency: { durationMs: 10_000 },
    history: { sizes: [0, 200], seedBudgetMs: 20_000, idleSeconds: 10, burst: 5, capMs: 30_000 },
  },
  full: {
    runs: 3,
    b0: { records: 500_000, recordBytes: 600 },
    b1: { messages: 100_000, messageBytes: 600, partitions: 6, batchSize: 500 },
    b1r: { messages: 50_000, messageBytes: 600, partitions: 6 },
    b2: { documents: 600, documentBytes: 1_200, batchSize: 50 },
    adapter: { orders: 400, capMs: 180_000 },
    stateWriter: { fulfilments: 400, capMs: 180_000 },
    pipeline: { saturationOrders: 30, capMs: 240_000, loadSeconds: 60, loadMinOrders: 3, loadCapMs: 120_000 },
    b1Latency: { durationMs: 10_000 },
    history: { sizes: [0, 10_000, 50_000], seedBudgetMs: 60_000, idleSeconds: 30, burst: 10, capMs: 60_000 },
  },
} as const;
type Profile = (typeof profiles)[keyof typeof profiles];

/** Auto-advance delay of the pipeline lanes: as small as the contexts allow (they poll every 50 ms). */
const advanceMs = 1;

function machine(): BenchResults['machine'] {
  let nproc = os.availableParallelism();
  try {
    nproc = Number(execSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // nproc missing: availableParallelism is the same number on Linux.
  }
  return {
    hostname: os.hostname(),
    nproc,
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    node: process.version,
    os: `${os.platform()} ${os.release()}`,
  };
}

/** Runs `lane` once to warm up, then `runs` times; the median of each numeric field. */
async function medianOf<T extends { [K in keyof T]: number }>(
  runs: number,
  lane: () => Promise<T>,
  say: (line: string) => void,
): Promise<{ median: T; runs: T[] }> {
  // One retry per run: a broker busy with another client's topics can fail a run that says
  // nothing about the lane (the retry is reported).
  const attempt = async (): Promise<T> => {
    try {
      return await lane();
    } catch (error) {
      say(
        `a run failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); running it again`,
      );
      return lane();
    }
  };
  await attempt();
  const results: T[] = [];
  for (let run = 1; run <= runs; run += 1) {
    results.push(await attempt());
    const last: Record<string, number> = { ...results[results.length - 1] };
    say(
      `run ${run}/${runs}: ${Object.entries(last)
        .map(([k, v]) => `${k} ${Math.round(v)}`)
        .join(', ')}`,
    );
  }
  const first: Record<string, number> = { ...results[0] };
  const medians = Object.fromEntries(
    Object.keys(first).map((key) => [
      key,
      median(results.map((result) => (result as Record<string, number>)[key] ?? Number.NaN)),
    ]),
  ) as T;
  return { median: medians, runs: results };
}

/** The simulator, every order a good one, placements only (the observer watches delivery). */
const placeOrders: PlaceOrders = async ({ url, ratePerSec, count, seed }) => {
  const traffic = startTraffic({
    storefronts: [url],
    platformUrl: url,
    credentials: benchCredentials,
    ratePerSec,
    durationMs: (count / ratePerSec) * 1000,
    seed,
    mix: deliveredOnlyMix,
    follow: false,
    drainMs: 0,
  });
  const summary = await traffic.done;
  return { placed: summary.placed, refused: summary.refused, failed: summary.errors + summary.serverErrors };
};

const usage = `npm run bench [-- options]

Every lane in one invocation (baselines B0, B1, B1r, B2, then the lanes under test); ratios
against the baselines of the same run are the result. About 9 minutes on 2 cores.

  --quick            smaller sizes, under five minutes
  --smoke            the tiny sizes the test suite uses
  --lanes a,b        only these lanes: ${laneNames.join(', ')}
  --no-write         write neither bench/results/ nor docs/benchmarks.md
  --results-dir DIR  the JSON results go to DIR (even with --no-write), not bench/results/
  -h, --help         this text

Endpoints: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and MONGO_URL when all are set, else the native
stack (brought up if needed).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      lanes: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'results-dir': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const profileName = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const profile: Profile = profiles[profileName];
  const lanes = (values.lanes?.split(',') ?? [...laneNames]) as LaneName[];
  const unknown = lanes.filter((lane) => !(laneNames as readonly string[]).includes(lane));
  if (unknown.length > 0)
    throw new Error(`unknown lane ${unknown.join(', ')}; lanes: ${laneNames.join(', ')}`);

  const progress = createProgress('bench');
  const startedAt = Date.now();
  const endpoints = await resolveEndpoints((line) => progress.say(line), environment);
  const stack = readStackConfig(environment);
  const usesStack = !environment.KAFKA_BROKERS;
  const stackPids = new Map(
    usesStack
      ? (['kafka', 'registry', 'mongo'] as const).flatMap((name) => {
          const pid = readPid({ logs: '', run: path.join(stack.dir, 'run') }, name);
          return pid === undefined ? [] : [[name, pid] as const];
        })
      : [],
  );
  const storePid = stackPids.get('mongo');
  // Resident memory of the stack's processes at the start and the end of the whole run.
  const rssAtStart = new Map([...stackPids].map(([name, pid]) => [name, residentMiB(pid)]));
  const kafkaSecurity = readToolKafkaSecurity(environment);
  const kafka = new Kafka({
    clientId: 'bench',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
    ...kafkaClientSecurity(kafkaSecurity),
  });
  const mongo = await new MongoClient(endpoints.mongoUrl).connect();
  const serde = new Serde({ registry: new RegistryClient({ url: endpoints.schemaRegistryUrl }) });
  const runId = `bench-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const env: LaneEnv = { endpoints, kafka, serde, mongo, runId, progress, storePid, inherited: environment };
  const baselineEnv = {
    kafkaBrokers: endpoints.kafkaBrokers,
    kafkaSecurity,
    mongoUrl: endpoints.mongoUrl,
    kafkaLibsDir: path.join(stack.installDir, `kafka-${stack.kafka.version}`, 'libs'),
    java: findJava(17, 'the Kafka perf tools (B0)'),
    prefix: `${runId}-base`,
    progress: (line: string) => progress.update(line),
  };
  progress.say(`${profileName} run ${runId}: lanes ${lanes.join(', ')}`);

  const results: BenchResults = {
    date: new Date().toISOString(),
    profile: profileName,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: machine(),
    versions: {
      kafka: stack.kafka.version,
      registry: usesStack ? `Apicurio Registry ${stack.registry.version}` : 'configured',
      store: usesStack ? 'nx-27017 0.8.1 (SQLite)' : 'configured',
      kafkajs: '2.2.4',
    },
    endpoints: usesStack ? 'native stack' : 'configured endpoints',
    baselines: {},
    lanes: {},
    stackRssMiB: [],
    seconds: 0,
  };

  try {
    if (lanes.includes('baselines')) {
      const say = (line: string): void => progress.say(`baselines: ${line}`);
      if (fs.existsSync(baselineEnv.kafkaLibsDir)) {
        progress.update('B0: Kafka ProducerPerformance / ConsumerPerformance');
        // The Java tools start a JVM per run: one run in the short profiles.
        const b0Runs = profileName === 'full' ? profile.runs : 1;
        results.baselines.b0 = (await medianOf(b0Runs, () => runB0(baselineEnv, profile.b0), say)).median;
      } else say(`B0 skipped: no Kafka jars at ${baselineEnv.kafkaLibsDir} (the native stack installs them)`);
      progress.update('B1: raw kafkajs hop');
      results.baselines.b1 = (await medianOf(profile.runs, () => runB1(baselineEnv, profile.b1), say)).median;
      progress.update('B1r: raw kafkajs relay');
      results.baselines.b1r = (
        await medianOf(profile.runs, () => runB1r(baselineEnv, profile.b1r), say)
      ).median;
      progress.update('B2: raw store writes');
      results.baselines.b2 = (await medianOf(profile.runs, () => runB2(baselineEnv, profile.b2), say)).median;
      say(
        `B0 ${Math.round(results.baselines.b0?.producerRecordsPerSec ?? Number.NaN)}/s produce, B1 ${Math.round(results.baselines.b1.messagesPerSec)}/s, ` +
          `B1r ${Math.round(results.baselines.b1r.messagesPerSec)}/s, B2 ${Math.round(results.baselines.b2.bulkUpsertsPerSec)}/s bulk, ${Math.round(results.baselines.b2.updateOnePerSec)}/s updateOne`,
      );
    }

    if (lanes.includes('adapter')) {
      const lane: StageResult = await adapterLane(env, profile.adapter.orders, profile.adapter.capMs);
      results.lanes.adapter = lane;
      progress.say(
        `adapter: ${lane.eventsPerSec.toFixed(1)} events/s (${lane.published}/${profile.adapter.orders} in ${lane.seconds.toFixed(0)} s${lane.completed ? '' : ', CAPPED'})`,
      );
    }

    if (lanes.includes('state-writer')) {
      const lane = await stateWriterLane(env, profile.stateWriter.fulfilments, profile.stateWriter.capMs);
      results.lanes.stateWriter = lane;
      progress.say(
        `state writer: ${lane.eventsPerSec.toFixed(1)} events/s, ${lane.counters.storeRoundTripsPerEvent.toFixed(2)} store round trips per event${lane.completed ? '' : ' (CAPPED)'}`,
      );
    }

    if (lanes.includes('pipeline')) {
      const running = await startPipelinePlatform(env, { lane: 'pipeline', advanceMs });
      try {
        await stockUp(running.platform.url);
        const { saturationOrders, capMs, loadSeconds, loadMinOrders, loadCapMs } = profile.pipeline;
        const saturation = await pipelineRun(env, running, placeOrders, {
          label: 'pipeline at saturation',
          count: saturationOrders,
          ratePerSec: 1_000,
          capMs,
          seed: 1,
        });
        progress.say(
          `pipeline at saturation: ${saturation.ordersPerSec.toFixed(2)} orders/s, ${saturation.eventsPerSec.toFixed(1)} events/s${saturation.completed ? '' : ' (CAPPED)'}`,
        );
        const loads: Record<string, PipelineRun> = {};
        for (const share of [0.5, 0.8]) {
          const ratePerSec = Math.max(0.05, saturation.ordersPerSec * share);
          // At least `loadMinOrders`, paced at the rate: on a slow machine the rate is a fraction
          // of an order a second, and each order more is seconds more of placing.
          const count = Math.max(loadMinOrders, Math.round(ratePerSec * loadSeconds));
          const run = await pipelineRun(env, running, placeOrders, {
            label: `pipeline at ${share * 100}% load`,
            count,
            ratePerSec,
            capMs: loadCapMs,
            seed: share * 10,
          });
          loads[String(share)] = run;
          progress.say(
            `pipeline at ${share * 100}% (${ratePerSec.toFixed(2)} orders/s): p50 ${(run.latency.p50 / 1000).toFixed(2)} s, p99 ${(run.latency.p99 / 1000).toFixed(2)} s, lag ${run.lag.atEndOfLoad} -> ${run.lag.atEnd}`,
          );
        }
        const half = loads['0.5'];
        results.lanes.pipeline = { saturation, loads };
        if (half && lanes.includes('baselines')) {
          // B1 at the pipeline's own message rate at 50% load (events its consumers processed per second).
          const rate = Math.max(1, Math.round(half.eventsPerSec));
          progress.update(`B1 latency at ${rate} messages/s`);
          results.baselines.b1Latency = await runB1Latency(baselineEnv, {
            ratePerSec: rate,
            durationMs: profile.b1Latency.durationMs,
            messageBytes: 600,
            partitions: 6,
          });
        }
        // The template of the history lane: this run's delivered orders.
        if (lanes.includes('history')) results.lanes.history = await historyLanes(env, running, profile);
      } finally {
        await running.stop();
      }
    } else if (lanes.includes('history')) {
      const running = await startPipelinePlatform(env, { lane: 'template', advanceMs });
      try {
        await stockUp(running.platform.url);
        await pipelineRun(env, running, placeOrders, {
          label: 'history template',
          count: 5,
          ratePerSec: 1_000,
          capMs: 120_000,
          seed: 7,
        });
        results.lanes.history = await historyLanes(env, running, profile);
      } finally {
        await running.stop();
      }
    }
  } finally {
    progress.done();
    await mongo.close();
  }

  results.seconds = (Date.now() - startedAt) / 1000;
  results.stackRssMiB = [...stackPids]
    .filter(([, pid]) => isAlive(pid))
    .map(([name, pid]) => ({ name, start: rssAtStart.get(name) ?? Number.NaN, end: residentMiB(pid) }));
  const markdown = report(results);
  process.stdout.write(`${markdown}\n`);
  const resultsDir = values['results-dir'];
  if (!values['no-write'] || resultsDir) {
    const dir = path.resolve(resultsDir ?? path.join(__dirname, 'results'));
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(
      dir,
      `${results.date.slice(0, 10)}-${results.machine.hostname}-${profileName}.json`,
    );
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stderr.write(`[bench] written ${file}\n`);
  }
  if (!values['no-write']) {
    writeSection(path.resolve(__dirname, '../docs/benchmarks.md'), markdown);
    process.stderr.write('[bench] written docs/benchmarks.md\n');
  }
}

/** Stocks every SKU of the adapter's map far beyond what a run orders. */
async function stockUp(url: string): Promise<void> {
  const signal = (): AbortSignal => AbortSignal.timeout(60_000);
  const mappingAnswer = await fetch(`${url}/adapters/order-scm/mapping`, {
    headers: { authorization: `Bearer ${benchCredentials.admin}` },
    signal: signal(),
  });
  if (!mappingAnswer.ok)
    throw new Error(`the adapter's mapping answered ${mappingAnswer.status}: ${await mappingAnswer.text()}`);
  const mapping = (await mappingAnswer.json()) as { skus: Record<string, unknown> };
  for (const sku of Object.keys(mapping.skus)) {
    const answer = await fetch(`${url}/inventory/stock/${sku}/receipts`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${benchCredentials.inventory}`,
        'content-type': 'application/json',
        'Idempotency-Key': `bench-stock-${randomBytes(6).toString('hex')}`,
      },
      body: JSON.stringify({ quantity: 1_000_000 }),
      signal: signal(),
    });
    if (!answer.ok) throw new Error(`stocking ${sku} answered ${answer.status}: ${await answer.text()}`);
  }
}

/**
 * Cost vs history: for each size, a fresh database seeded with that many delivered orders
 * (copies of the template's), the platform started on it, its CPU and the store's while idle,
 * then the same burst of orders.
 */
async function historyLanes(
  env: LaneEnv,
  template: { readonly database: string; readonly namespace: string },
  profile: Profile,
): Promise<NonNullable<BenchResults['lanes']['history']>> {
  const source = env.mongo.db(template.database);
  const orderIds = (
    await source
      .collection<{ _id: string }>('order_idempotency_keys')
      .find({}, { projection: { orderId: 1 } })
      .limit(20)
      .toArray()
  ).map((record) => String((record as { orderId?: unknown }).orderId));
  const seed = await readTemplate(source, orderIds);
  const sizes: NonNullable<BenchResults['lanes']['history']>['sizes'] = [];
  for (const size of profile.history.sizes) {
    const label = `history ${size.toLocaleString('en-US')}`;
    const previous = sizes[sizes.length - 1];
    if (previous && (previous.burst?.delivered ?? 0) === 0) {
      // Cost only grows with history: a larger seed would measure the same standstill, slower.
      sizes.push({
        target: size,
        skipped: `not run: nothing was delivered at ${previous.seeded?.orders ?? previous.target} stored orders`,
      });
      env.progress.say(`${label}: skipped (nothing was delivered at the previous size)`);
      continue;
    }
    const database = `${env.runId}-history-${size}`.replace(/[^a-zA-Z0-9]/g, '_');
    const seeded =
      size === 0
        ? { orders: 0, documents: 0, seconds: 0 }
        : await seedHistory(env.mongo.db(database), seed, {
            orders: size,
            budgetMs: profile.history.seedBudgetMs,
            runId: randomBytes(2).toString('hex'),
            onProgress: (orders) =>
              env.progress.update(`${label}: seeded ${orders.toLocaleString('en-US')} orders`),
          });
    let running: Awaited<ReturnType<typeof startPipelinePlatform>> | undefined;
    try {
      env.progress.update(
        `${label}: starting the platform on ${seeded.documents.toLocaleString('en-US')} documents`,
      );
      running = await startPipelinePlatform(env, {
        lane: `history-${size}`,
        advanceMs,
        database,
        readyTimeoutMs: 120_000,
      });
      await stockUp(running.platform.url);
      const idle = await idleCpu(env, running.platform, profile.history.idleSeconds, label);
      const burst = await pipelineRun(env, running, placeOrders, {
        label,
        count: profile.history.burst,
        ratePerSec: 1_000,
        capMs: profile.history.capMs,
        seed: 3,
      });
      sizes.push({ target: size, seeded, idle, burst });
      env.progress.say(
        `${label}: seeded ${seeded.orders} orders (${seeded.documents} documents, ${seeded.seconds.toFixed(0)} s); idle CPU platform ${idle.platformPercent.toFixed(1)}%, store ${idle.storePercent?.toFixed(1) ?? 'n/a'}%; burst ${burst.ordersPerSec.toFixed(2)} orders/s${burst.completed ? '' : ' (CAPPED)'}`,
      );
    } catch (error) {
      const reason = error instanceof Error ? (error.message.split('\n')[0] ?? String(error)) : String(error);
      sizes.push({ target: size, seeded, failed: reason });
      env.progress.say(`${label}: failed after seeding ${seeded.orders} orders: ${reason}`);
    } finally {
      await running?.stop();
      await env.mongo
        .db(database)
        .dropDatabase()
        .catch(() => undefined);
    }
  }
  return { documentsPerOrder: seed.documentsPerOrder, templateOrders: seed.orders.size, sizes };
}

function writeSection(file: string, section: string): void {
  const current = fs.readFileSync(file, 'utf8');
  const start = current.indexOf('\n## Pipeline\n');
  if (start < 0) {
    fs.writeFileSync(file, `${current.trimEnd()}\n\n${section}\n`);
    return;
  }
  const after = current.indexOf('\n## ', start + 1);
  fs.writeFileSync(file, `${current.slice(0, start)}\n${section}\n${after < 0 ? '' : current.slice(after)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

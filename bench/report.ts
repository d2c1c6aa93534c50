/**
 * The pipeline benchmark's results: the JSON shape written to bench/results/, and the Markdown
 * section of docs/benchmarks.md with every lane, every ratio and every target, met or not.
 */
import type { Percentiles } from './observer';
import type { PipelineRun, StageResult } from './lanes';

export interface BenchResults {
  date: string;
  profile: 'smoke' | 'quick' | 'full';
  command: string;
  machine: { hostname: string; nproc: number; memoryGiB: number; cpu: string; node: string; os: string };
  versions: Record<string, string>;
  endpoints: string;
  baselines: {
    b0?: { producerRecordsPerSec: number; consumerRecordsPerSec: number };
    b1?: { messagesPerSec: number };
    b1r?: { messagesPerSec: number };
    b2?: { bulkUpsertsPerSec: number; updateOnePerSec: number };
    b1Latency?: {
      p50Ms: number;
      p99Ms: number;
      p999Ms: number;
      messages: number;
      achievedRatePerSec?: number;
    };
  };
  lanes: {
    adapter?: StageResult;
    stateWriter?: StageResult;
    pipeline?: { saturation: PipelineRun; loads: Record<string, PipelineRun> };
    history?: {
      documentsPerOrder: number;
      templateOrders: number;
      sizes: {
        target: number;
        seeded?: { orders: number; documents: number; seconds: number };
        idle?: { platformPercent: number; storePercent: number | undefined };
        burst?: PipelineRun;
        /** Why this size has no figures (the platform failed on it). */
        failed?: string;
        skipped?: string;
      }[];
    };
  };
  /** Resident memory of the stack's processes (broker, registry, store) at the run's start and end. */
  stackRssMiB: { name: string; start: number; end: number }[];
  seconds: number;
}

const n = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : // Two significant digits below 1%: 0.033% is not 0.0%.
      `${value < 0.01 && value > 0 ? (value * 100).toPrecision(2) : (value * 100).toFixed(1)}%`;
const s = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
const latency = (p: Percentiles): string => `${s(p.p50)} / ${s(p.p99)} / ${s(p.p999)} (n=${p.count})`;

interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

export function targetsOf(results: BenchResults): Target[] {
  const { baselines, lanes } = results;
  const saturation = lanes.pipeline?.saturation;
  const half = lanes.pipeline?.loads['0.5'];
  const high = lanes.pipeline?.loads['0.8'];
  const writer = lanes.stateWriter;
  const adapter = lanes.adapter;
  const sizes = lanes.history?.sizes ?? [];
  const targets: Target[] = [];
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;

  if (saturation)
    targets.push({
      name: 'pipeline orders/s end to end',
      goal: '≥ 20 orders/s (issue 11)',
      measured: `${n(saturation.ordersPerSec, 2)} orders/s${saturation.completed ? '' : ' (capped)'}`,
      met: saturation.ordersPerSec >= 20,
    });
  const eventsVsB1 = ratio(saturation?.eventsPerSec, baselines.b1?.messagesPerSec);
  if (eventsVsB1 !== undefined)
    targets.push({
      name: 'events processed/s summed over every group vs B1',
      goal: '≥ 50%',
      measured: `${n(saturation?.eventsPerSec, 1)}/s vs ${n(baselines.b1?.messagesPerSec)}/s = ${pct(eventsVsB1)}`,
      met: eventsVsB1 >= 0.5,
    });
  const writerVsBulk = ratio(writer?.eventsPerSec, baselines.b2?.bulkUpsertsPerSec);
  if (writerVsBulk !== undefined)
    targets.push({
      name: 'state writer vs B2 bulk upserts',
      goal: '≥ 60%',
      measured: `${n(writer?.eventsPerSec, 1)}/s vs ${n(baselines.b2?.bulkUpsertsPerSec, 1)}/s = ${pct(writerVsBulk)}`,
      met: writerVsBulk >= 0.6,
    });
  const writerVsOne = ratio(writer?.eventsPerSec, baselines.b2?.updateOnePerSec);
  if (writerVsOne !== undefined)
    targets.push({
      name: 'state writer vs one awaited updateOne per message',
      goal: '≥ 10×',
      measured: `${n(writerVsOne, 2)}×`,
      met: writerVsOne >= 10,
    });
  const adapterVsRelay = ratio(adapter?.eventsPerSec, baselines.b1r?.messagesPerSec);
  if (adapterVsRelay !== undefined)
    targets.push({
      name: 'adapter vs B1r raw relay',
      goal: '≥ 60%',
      measured: `${n(adapter?.eventsPerSec, 1)}/s vs ${n(baselines.b1r?.messagesPerSec)}/s = ${pct(adapterVsRelay)}`,
      met: adapterVsRelay >= 0.6,
    });
  const p99Ratio = ratio(half?.latency.p99, baselines.b1Latency?.p99Ms);
  if (p99Ratio !== undefined)
    targets.push({
      name: 'p99 placed→delivered at 50% load vs B1 p99 at the same message rate',
      goal: '≤ 5×',
      measured: `${s(half?.latency.p99)} vs ${n(baselines.b1Latency?.p99Ms, 1)} ms = ${n(p99Ratio, 0)}×`,
      met: p99Ratio <= 5,
    });
  if (high)
    targets.push({
      name: 'no lag growth at 80% load',
      goal: 'every order delivered; uncommitted records at the end ≤ when placing stopped',
      measured: `${n(high.lag.atEndOfLoad)} → ${n(high.lag.atEnd)}`,
      met: high.completed && high.lag.atEnd <= high.lag.atEndOfLoad,
    });
  const registry = [adapter, writer, saturation, half, high]
    .filter((lane) => lane !== undefined)
    .map((lane) => lane.counters.registryCallsSteadyState);
  if (registry.length > 0)
    targets.push({
      name: 'registry calls in steady state',
      goal: '0',
      measured: registry.join(', '),
      met: registry.every((calls) => calls === 0),
    });
  const measured = sizes.filter((size) => size.idle !== undefined);
  if (measured.length > 0) {
    const worst = Math.max(
      ...measured.flatMap(({ idle }) => [idle?.platformPercent ?? 0, idle?.storePercent ?? 0]),
    );
    targets.push({
      name: 'idle CPU of the platform and the store, every history size',
      goal: '< 5% of a core',
      measured: measured
        .map(
          ({ seeded, idle }) =>
            `${n(seeded?.orders)}: ${n(idle?.platformPercent, 1)}% / ${n(idle?.storePercent, 1)}%`,
        )
        .join('; '),
      met: worst < 5 && measured.length === sizes.length,
    });
  }
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  if (first?.burst && last && last !== first) {
    // A size that failed or was skipped delivered nothing.
    const kept = ratio(last.burst?.ordersPerSec ?? 0, first.burst.ordersPerSec);
    targets.push({
      name: `throughput at ${n(last.target)} stored orders vs at 0`,
      goal: '≥ 80% (at 50k orders)',
      measured: `${n(last.burst?.ordersPerSec ?? 0, 3)} vs ${n(first.burst.ordersPerSec, 3)} orders/s = ${pct(kept)}${last.burst ? '' : ` (${last.failed ?? last.skipped ?? ''})`}`,
      met: kept !== undefined && kept >= 0.8 && last.target >= 50_000,
    });
  }
  if (writer)
    targets.push({
      name: 'store round trips per processed event, state-writer lane',
      goal: '≤ 0.2',
      measured: n(writer.counters.storeRoundTripsPerEvent, 2),
      met: writer.counters.storeRoundTripsPerEvent <= 0.2,
    });
  return targets;
}

export function report(results: BenchResults): string {
  const { baselines, lanes, machine } = results;
  const lines: string[] = ['## Pipeline', ''];
  lines.push(
    `Measured ${results.date.slice(0, 10)} on nproc ${machine.nproc}, ${machine.memoryGiB} GiB memory, ${machine.cpu}, ` +
      `Node.js ${machine.node}, ${machine.os}; ${results.endpoints} (Kafka ${results.versions.kafka}, ` +
      `${results.versions.registry}, ${results.versions.store}, kafkajs ${results.versions.kafkajs}).`,
    '',
    `Command: \`${results.command}\` (${results.profile} profile, ${n(results.seconds / 60, 1)} minutes). ` +
      'Baselines: median of three runs after a warm-up; the lanes under test run once each (each takes minutes ' +
      'at the rates below). Every lane has its own topics, groups and database; the platform runs as its own ' +
      'process (`platform/main.ts`), the load and the observer in the benchmark process.',
    '',
    '### Targets',
    '',
    '| target | goal | measured | met |',
    '|---|---|---|---|',
    ...targetsOf(results).map(
      (t) =>
        `| ${t.name} | ${t.goal} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**'} |`,
    ),
    '',
  );

  lines.push('### Baselines', '', '| lane | figure |', '|---|--:|');
  if (baselines.b0)
    lines.push(
      `| B0 Kafka \`ProducerPerformance\` (acks=all) | ${n(baselines.b0.producerRecordsPerSec)} records/s |`,
      `| B0 Kafka \`ConsumerPerformance\` | ${n(baselines.b0.consumerRecordsPerSec)} records/s |`,
    );
  if (baselines.b1)
    lines.push(
      `| B1 raw kafkajs hop (batched sends, no-op consumer) | ${n(baselines.b1.messagesPerSec)} messages/s |`,
    );
  if (baselines.b1r)
    lines.push(
      `| B1r raw kafkajs relay (consume, re-produce, commit) | ${n(baselines.b1r.messagesPerSec)} messages/s |`,
    );
  if (baselines.b2)
    lines.push(
      `| B2 raw unordered \`bulkWrite\` upserts by \`_id\` | ${n(baselines.b2.bulkUpsertsPerSec, 1)} documents/s |`,
      `| B2 one awaited \`updateOne\` upsert per message | ${n(baselines.b2.updateOnePerSec, 1)} documents/s |`,
    );
  if (baselines.b1Latency)
    lines.push(
      `| B1 latency at ${n(baselines.b1Latency.achievedRatePerSec ?? Number.NaN)} messages/s, p50 / p99 / p99.9 | ${n(baselines.b1Latency.p50Ms, 1)} / ${n(baselines.b1Latency.p99Ms, 1)} / ${n(baselines.b1Latency.p999Ms, 1)} ms |`,
    );
  lines.push('');

  const stage = (name: string, lane: StageResult | undefined): void => {
    if (!lane) return;
    lines.push(
      `| ${name} | ${n(lane.eventsPerSec, 1)} | ${n(lane.events)} in ${n(lane.seconds, 0)} s${lane.completed ? '' : ' (capped)'} | ${n(lane.counters.storeRoundTripsPerEvent, 2)} | ${lane.counters.registryCallsSteadyState} | ${n(lane.counters.platformRssMiB.start)} → ${n(lane.counters.platformRssMiB.end)} MiB |`,
    );
  };
  if (lanes.adapter || lanes.stateWriter) {
    lines.push(
      '### Stages alone',
      '',
      '| lane | events processed/s | events | store round trips per event | registry calls, steady state | platform RSS |',
      '|---|--:|--:|--:|--:|--:|',
    );
    stage('order→scm adapter (pre-loaded OrderPlaced → FulfilmentRequested)', lanes.adapter);
    stage(
      'state writer: production (pre-loaded requests + reservations → CookingSkipped)',
      lanes.stateWriter,
    );
    lines.push('');
  }

  const pipelineRow = (name: string, run: PipelineRun): string =>
    `| ${name} | ${n(run.delivered)}/${n(run.placed)}${run.completed ? '' : ' (capped)'} | ${n(run.ordersPerSec, 3)} | ${n(run.eventsPerSec, 1)} | ${n(run.eventsPerOrder, 1)} | ${latency(run.latency)} | ${n(run.lag.atEndOfLoad)} → ${n(run.lag.atEnd)} | ${n(run.counters.storeRoundTripsPerEvent, 2)} |`;
  if (lanes.pipeline) {
    const { saturation, loads } = lanes.pipeline;
    lines.push(
      '### Whole pipeline (orders over HTTP → delivered, auto-advance on)',
      '',
      '| run | delivered / placed | orders/s | events processed/s | events per order | placed→delivered p50 / p99 / p99.9 | lag end of load → end | store round trips per event |',
      '|---|--:|--:|--:|--:|--:|--:|--:|',
      pipelineRow('saturation (all at once)', saturation),
      ...Object.entries(loads).map(([share, run]) =>
        pipelineRow(`${Number(share) * 100}% of saturation`, run),
      ),
      '',
    );
    const hops = loads['0.5']?.hops ?? saturation.hops;
    lines.push(
      "Per hop at 50% load (from the events' `occurredAt`), p50 / p99 / p99.9:",
      '',
      '| hop | latency |',
      '|---|--:|',
    );
    for (const hop of hops) lines.push(`| ${hop.from} → ${hop.to} | ${latency(hop.latency)} |`);
    lines.push('');
  }

  if (lanes.history) {
    const { sizes, documentsPerOrder, templateOrders } = lanes.history;
    lines.push(
      '### Cost vs history',
      '',
      `Seeded by copying the documents of ${templateOrders} delivered orders of the pipeline lane under new ids ` +
        `(${n(documentsPerOrder, 1)} documents per order); a seed stops at its time budget.`,
      '',
      '| stored orders (target) | seeded documents, time | idle CPU platform | idle CPU store | burst delivered | burst orders/s | store round trips per event |',
      '|---|--:|--:|--:|--:|--:|--:|',
      ...sizes.map(({ target, seeded, idle, burst, failed, skipped }) =>
        burst && idle && seeded
          ? `| ${n(seeded.orders)} (${n(target)}) | ${n(seeded.documents)}, ${n(seeded.seconds)} s | ${n(idle.platformPercent, 1)}% | ${n(idle.storePercent, 1)}% | ${n(burst.delivered)}/${n(burst.placed)}${burst.completed ? '' : ' (capped)'}${burst.failedPlacements > 0 ? `, ${n(burst.failedPlacements)} placements failed` : ''} | ${n(burst.ordersPerSec, 3)} | ${n(burst.counters.storeRoundTripsPerEvent, 2)} |`
          : `| ${n(seeded?.orders)} (${n(target)}) | ${seeded ? `${n(seeded.documents)}, ${n(seeded.seconds)} s` : '—'} | ${failed ?? skipped ?? ''} | | | | |`,
      ),
      '',
    );
  }
  if (results.stackRssMiB.length > 0)
    lines.push(
      '### Resident memory of the stack, start → end of the run',
      '',
      '| process | RSS |',
      '|---|--:|',
      ...results.stackRssMiB.map(({ name, start, end }) => `| ${name} | ${n(start)} → ${n(end)} MiB |`),
      '',
      'The platform process of each lane is in its own table (platform RSS).',
      '',
    );
  return lines.join('\n');
}

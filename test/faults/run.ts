/**
 * One scenario, start to end: the simulator's traffic as the load, the fault while it flows,
 * then the checker over what the load acknowledged and what the platform ended up with.
 */
import { realisticMix, startTraffic, type TrafficSummary } from '../../simulator/traffic';
import { mapViewOf } from '../../simulator/plan';
import { tokenOf } from '@test/harness/credentials';
import { check, type LedgerReceipt, type ObservedEvent, type StockLevel } from './checker';
import { contextNames } from '@platform/contexts';
import type { ContextProcess } from '@test/harness/context-process';
import type { FaultPlatform } from './platform';
import type { ScenarioResult } from './results';

export interface FaultContext {
  readonly platform: FaultPlatform;
  readonly seed: number;
  /** How long the load runs; the fault should end well before. */
  readonly durationMs: number;
  say(line: string): void;
  /** The orders the load has placed so far. */
  placed(): readonly string[];
}

/** What a fault reports back to the checker beyond what the load saw. */
export interface FaultOutcome {
  /** Records it put on input topics to be dead-lettered. */
  readonly injectedDeadLetters?: number;
  /** Other inputs it made (records, requests), for the table's count. */
  readonly otherInputs?: number;
  /** What it saw go wrong itself. */
  readonly problems?: readonly string[];
  /** Event ids it re-published on purpose: a copy whose original predates the run is no new event. */
  readonly copiedEventIds?: readonly string[];
  /**
   * Its recovery, measured by the fault itself where it does not count from the fault's end: a
   * cluster rides through a node's death, so there it counts from the kill, while the node is down.
   */
  readonly recoverySeconds?: number;
}

export interface Scenario {
  readonly name: string;
  /** Before the load: e.g. restart a victim with its fault switch. */
  prepare?(context: FaultContext): Promise<void>;
  /** The fault, while the load flows; resolves once the fault is over (recovery counts from then). */
  inject(context: FaultContext): Promise<FaultOutcome | void>;
  /** After the load: what is left to check, and the platform left as the next scenario expects it. */
  restore?(context: FaultContext): Promise<readonly string[] | void>;
}

export interface RunOptions {
  readonly seed: number;
  readonly ratePerSec: number;
  readonly durationMs: number;
  readonly say: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runScenario(
  platform: FaultPlatform,
  scenario: Scenario,
  options: RunOptions,
): Promise<ScenarioResult> {
  const say = (line: string): void => options.say(`[${scenario.name}] ${line}`);
  let placed = (): readonly string[] => [];
  const context: FaultContext = {
    platform,
    seed: options.seed,
    durationMs: options.durationMs,
    say,
    placed: () => placed(),
  };
  const started = Date.now();

  const mapping = mapViewOf(
    await getJson(platform.url('order-scm-adapter'), '/adapters/order-scm/mapping', 'admin'),
  );
  if ('problem' in mapping) throw new Error(`the adapter's mapping: ${mapping.problem}`);
  const skus = Object.keys(mapping.skus).sort();
  const stock = async (): Promise<Record<string, StockLevel>> =>
    Object.fromEntries(
      await Promise.all(
        skus.map(async (sku) => {
          const level = await getJson(platform.url('inventory'), `/inventory/stock/${sku}`, 'inventory');
          return [sku, { onHand: Number(level.onHand), reserved: Number(level.reserved) }] as const;
        }),
      ),
    );

  // Quiet first: every group caught up and nothing reserved. A scenario that failed before its
  // drain leaves orders moving, whose deliveries would otherwise count against this one's fold.
  const quiet = async (): Promise<boolean> =>
    (await platform.lag().catch(() => 1)) === 0 &&
    Object.values(await stock()).every((level) => level.reserved === 0);
  let settled = await quiet();
  for (let waited = 0; waited < 120_000 && !settled; waited += 1_000) {
    await sleep(1_000);
    settled = await quiet();
  }
  if (!settled) say('not quiet after 2 min (lag, or stock still reserved): the fold may count it');
  const stockBefore = await stock();
  const from = await platform.positions();
  const logsFrom = new Map(
    contextNames.flatMap((name) =>
      platform.instances(name).map((instance) => [instance.process, instance.process.output.length] as const),
    ),
  );
  const deadLettersBefore = await platform.deadLetters();
  await scenario.prepare?.(context);

  const receipts: LedgerReceipt[] = [];
  const traffic = startTraffic({
    storefronts: [platform.url('order')],
    platformUrl: platform.url('inventory'),
    mappingUrl: platform.url('order-scm-adapter'),
    ratePerSec: options.ratePerSec,
    durationMs: options.durationMs,
    seed: options.seed,
    mix: realisticMix,
    // The drain is ours (below): it counts from the fault's end, however long the fault lasted.
    drainMs: 30 * 60_000,
    credentials: {
      storefront: tokenOf('storefront'),
      inventory: tokenOf('inventory'),
      admin: tokenOf('admin'),
    },
    onOrder: (event) => {
      if (event.kind === 'receipt') receipts.push(event);
    },
  });

  placed = () => [...traffic.stats().placedAt.keys()];
  const outcome = (await scenario.inject(context)) ?? {};
  const faultEndedAt = Date.now();
  // Recovery: from the fault's end to the first moment every group has caught up.
  const recovered = (async (): Promise<number | null> => {
    for (let waited = 0; waited < 180_000; waited += 250) {
      if ((await platform.lag().catch(() => 1)) === 0) return (Date.now() - faultEndedAt) / 1000;
      await sleep(250);
    }
    return null;
  })();
  // Every order placed, then every one final, or two minutes after the fault ended.
  const drainUntil = faultEndedAt + 120_000;
  while (Date.now() < drainUntil) {
    const stats = traffic.stats();
    if (stats.elapsedMs >= options.durationMs && stats.inFlight === 0) break;
    await sleep(250);
  }
  const summary: TrafficSummary = await traffic.stop(0);
  const caughtUp = await recovered;
  const recoverySeconds = outcome.recoverySeconds ?? caughtUp;
  // Quiet: every group caught up, so the state read next is final.
  for (let waited = 0; waited < 60_000 && (await platform.lag().catch(() => 1)) > 0; waited += 250)
    await sleep(250);
  await sleep(1_000);

  const events = withoutStaleCopies(await platform.eventsSince(from), outcome.copiedEventIds ?? []);
  const result = check(
    scenario.name,
    options.seed,
    {
      orders: summary.orders.map((order) => ({
        orderId: order.orderId,
        lines: order.lines,
        statuses: order.statuses.map((seen) => seen.status),
        finalStatus: order.finalStatus,
      })),
      lost: [...summary.lost, ...summary.unexpected],
      receipts,
      // The adapter dead-letters every placement it rejects (for an operator to fix and replay):
      // the load's bad orders are expected there, once each, beside what the fault injected.
      injectedDeadLetters:
        (outcome.injectedDeadLetters ?? 0) +
        summary.orders.filter((order) => order.finalStatus === 'REJECTED').length,
      otherInputs: outcome.otherInputs ?? 0,
    },
    {
      events,
      stockBefore,
      stockAfter: await stock(),
      components: mapping.products,
      deadLetters: (await platform.deadLetters()).filter((letter) => !deadLettersBefore.includes(letter))
        .length,
      recoverySeconds,
    },
  );
  const problems = [
    ...result.problems,
    ...(outcome.problems ?? []),
    ...((await scenario.restore?.(context)) ?? []),
  ];
  say(
    `${summary.placed} orders, ${receipts.length} receipts, lost ${result.lost}, duplicate effects ${result.duplicateEffects}, ` +
      `order violations ${result.orderViolations}, dead letters ${result.deadLetters.seen}/${result.deadLetters.injected}, ` +
      `recovery ${recoverySeconds === null ? '-' : `${recoverySeconds.toFixed(1)} s`}, ` +
      // A store or broker outage is answered 503 while it lasts: counted, not a failure here
      // (the HTTP abuse scenario is where a 5xx is one).
      `${summary.serverErrors} answers 5xx (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  for (const problem of problems) say(`  problem: ${problem}`);
  say(`  warnings: ${warningsSince(platform, logsFrom) || 'none'}`);
  // Where each lost order stopped: what the storefront showed, and its events on every topic
  // (every topic is keyed by the order's id), for whoever reads a failed run.
  for (const lost of [...summary.lost, ...summary.unexpected].map((entry) => entry.split(' ')[0] ?? entry)) {
    const order = summary.orders.find((candidate) => candidate.orderId === lost);
    const trail = events
      .filter((event) => event.key === lost)
      .map((event) => `${event.topic}:${event.type}@${event.partition}/${event.offset}`);
    say(
      `  ${lost} (${order?.fate ?? '?'}): statuses ${order?.statuses.map((seen) => seen.status).join(' → ') || '(none)'}`,
    );
    say(`  ${lost} events: ${trail.join(', ') || '(none)'}`);
  }
  return { ...result, problems };
}

/**
 * What the contexts logged at warn and above during the run (they run with LOG_LEVEL=warn), by
 * context and message with counts: why a recovery took long, for whoever reads a run.
 */
function warningsSince(platform: FaultPlatform, from: ReadonlyMap<ContextProcess, number>): string {
  return contextNames
    .flatMap((name) => {
      const counts = new Map<string, number>();
      for (const instance of platform.instances(name))
        for (const line of instance.process.output.slice(from.get(instance.process) ?? 0)) {
          let message: string;
          try {
            const record = JSON.parse(line) as { message?: unknown; component?: unknown };
            message = `${String(record.component ?? '')}: ${String(record.message ?? line)}`;
          } catch {
            continue; // not a log record (a banner line)
          }
          counts.set(message, (counts.get(message) ?? 0) + 1);
        }
      return counts.size === 0
        ? []
        : [`${name}: ${[...counts].map(([message, count]) => `${message} ×${count}`).join(', ')}`];
    })
    .join('; ');
}

/** A GET as the holder of `role` makes it; the body, or an error naming the status. */
export async function getJson(
  base: string,
  path: string,
  role: Parameters<typeof tokenOf>[0],
): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${tokenOf(role)}` } });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/**
 * Drops the copies a fault re-published of events from before this run: with their originals
 * outside the window read, they would look like new events. A copy of an event inside the window
 * stays, and the checker takes it for the redelivery it is.
 */
function withoutStaleCopies(events: readonly ObservedEvent[], copied: readonly string[]): ObservedEvent[] {
  const ids = new Set(copied);
  const seen = new Map<string, number>();
  for (const event of events) seen.set(event.eventId, (seen.get(event.eventId) ?? 0) + 1);
  return events.filter((event) => !(ids.has(event.eventId) && seen.get(event.eventId) === 1));
}

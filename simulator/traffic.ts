/**
 * Realistic traffic against a running platform, through its public HTTP APIs only: what customers,
 * a storefront rollout (v1 and v2 producers side by side) and the goods-in desk would do.
 *
 * Open loop: order n is placed when it is due on the clock (n / rate), whatever earlier orders are
 * doing, so latencies mean something at the offered load; a placement that waits for a free
 * connection has that wait counted in its latency. Every random choice comes from one seeded
 * source, drawn in order of n, so a run's orders are reproducible from its seed. Each order is
 * followed by long-polling its status, and reacts to it as a person would: a receipt for what it
 * waits for, a too-late cancel once it is 배송중, a review once delivered.
 *
 * The benchmark and the fault suites use `startTraffic` as their load; `npm run simulate` and
 * `npm start -- --demo` print it.
 */
import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  catalogueOf,
  checkMix,
  dueAtMs,
  expectedOutcome,
  isBadFate,
  isFinal,
  kstDate,
  mapViewOf,
  percentiles,
  planOrder,
  plannedCount,
  seededRandom,
  shortageQuantity,
  stockFloorFor,
  sumMetric,
  topUpQuantity,
  type Catalogue,
  type Fate,
  type OrderPlan,
  type Percentiles,
  type TrafficMix,
} from './plan';

export { deliveredOnlyMix, realisticMix, mixes, type MixName, type TrafficMix } from './plan';

export interface TrafficOptions {
  /** Base URLs of order-context instances; orders are spread over them round-robin. */
  readonly storefronts: readonly string[];
  /** Any URL serving the inventory and the order->scm adapter's mapping APIs. */
  readonly platformUrl: string;
  /** Where the adapter's mapping is, when another process than `platformUrl` serves it. */
  readonly mappingUrl?: string;
  readonly ratePerSec: number;
  /** How long orders are offered; `Infinity` until `stop()`. */
  readonly durationMs: number;
  readonly seed: number;
  readonly mix: TrafficMix;
  /** Long-poll each order's status and react to it (default true). */
  readonly follow?: boolean;
  /**
   * After the last placement, how long to wait for orders to reach a final status (default 60 s).
   * Placements already sent are always seen through.
   */
  readonly drainMs?: number;
  /** In-flight commands (placements, cancels, receipts...) at most; long-polls are not counted (default 64). */
  readonly maxInFlight?: number;
  /** How often stock is checked and topped up (default 10 s). */
  readonly topUpEveryMs?: number;
  /**
   * Bearer tokens (API keys or JWTs) of the people the traffic plays: customers through the
   * storefront (orders), the goods-in desk (inventory), and an operator reading the adapter's map.
   */
  readonly credentials: TrafficCredentials;
  /** `/metrics` endpoints scraped for consumer lag and dead letters. */
  readonly metricsUrls?: readonly string[];
  readonly onProgress?: (stats: TrafficStats) => void;
  /** How often `onProgress` is called (default 500 ms). */
  readonly progressEveryMs?: number;
  /** Every step of every order, for a caller that prints journeys (the demo). */
  readonly onOrder?: (event: OrderEvent) => void;
}

export interface TrafficCredentials {
  readonly storefront: string;
  readonly inventory: string;
  readonly admin: string;
}

/** Which of the traffic's credentials a request uses: the role its path needs. */
function tokenFor(credentials: TrafficCredentials, path: string): string {
  if (path.startsWith('/inventory/')) return credentials.inventory;
  if (path.startsWith('/adapters/')) return credentials.admin;
  return credentials.storefront;
}

export interface StatusSeen {
  readonly status: string;
  readonly label: string;
  readonly reason: string | null;
  /** Epoch ms at which the simulator saw it. */
  readonly at: number;
}

export interface OrderTrace {
  readonly orderId: string;
  readonly n: number;
  readonly fate: Fate;
  readonly storefront: string;
  readonly lines: readonly { readonly productCode: string; readonly quantity: number }[];
  /** Epoch ms at which the order was due on the clock: latencies count from here. */
  readonly dueAt: number;
  /** Epoch ms at which the storefront answered the placement. */
  readonly placedAt: number;
  /** Every status seen, 주문완료 first. */
  readonly statuses: readonly StatusSeen[];
  readonly finalStatus: string | null;
  readonly finalAt: number | null;
}

export type OrderEvent =
  | { readonly kind: 'placed'; readonly order: OrderTrace }
  | { readonly kind: 'status'; readonly order: OrderTrace }
  | {
      readonly kind: 'command';
      readonly order: OrderTrace;
      readonly command: 'cancel' | 'address' | 'review' | 'receipt';
      readonly httpStatus: number;
    }
  | {
      readonly kind: 'refused';
      readonly plan: OrderPlan;
      readonly httpStatus: number;
      readonly detail: string;
    }
  | {
      /** A goods receipt posted (a top-up or for an order short of stock); null: no answer. */
      readonly kind: 'receipt';
      readonly sku: string;
      readonly quantity: number;
      readonly key: string;
      readonly acknowledged: boolean | null;
    }
  | { readonly kind: 'error'; readonly orderId: string | null; readonly error: string };

export interface TrafficStats {
  readonly elapsedMs: number;
  /** Orders due so far (placed, refused or failed). */
  readonly offered: number;
  readonly placed: number;
  /** 4xx on placing (the invalid bad orders, and any good order the storefront refused). */
  readonly refused: number;
  /** Current status of every placed order. */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly delivered: number;
  readonly cancelled: number;
  readonly rejected: number;
  readonly failed: number;
  /** Placed orders not yet in a final status. */
  readonly inFlight: number;
  readonly placedPerStorefront: Readonly<Record<string, number>>;
  readonly cancelBeforeDispatch: { readonly accepted: number; readonly refused: number };
  readonly cancelAfterDispatch: { readonly tooLate: number; readonly accepted: number };
  readonly addressChanges: { readonly accepted: number; readonly refused: number };
  readonly coupons: number;
  readonly reviews: number;
  /** Orders that waited for stock (입고대기), and the receipts posted for them. */
  readonly shortages: number;
  readonly receipts: number;
  /** Receipts that kept ordinary SKUs stocked. */
  readonly topUps: number;
  /** Summed over the scraped endpoints, at the last scrape. */
  readonly consumerLag: number;
  readonly deadLetters: number;
  readonly requests: number;
  /** Answers with a 5xx status: the platform failed a request. */
  readonly serverErrors: number;
  /** Requests that got no answer, and answers nothing explains. */
  readonly errors: number;
  /** Per order id: when it was due, and when it reached its final status. */
  readonly placedAt: ReadonlyMap<string, number>;
  readonly finalAt: ReadonlyMap<string, number>;
}

export interface TrafficSummary extends TrafficStats {
  readonly orders: readonly OrderTrace[];
  /** Placed orders not in a final status when the drain ended. */
  readonly unfinished: readonly string[];
  /** Orders that should have finished and did not (unfinished, or a good order refused). */
  readonly lost: readonly string[];
  /** Orders that finished otherwise than planned, e.g. `ORD-… deliver→REJECTED`. */
  readonly unexpected: readonly string[];
  /** Due → 배송완료 of the delivered orders that were not held for stock. */
  readonly deliveryLatencyMs: Percentiles | null;
}

export interface RunningTraffic {
  stats(): TrafficStats;
  /** Stops placing now; drains (up to `drainMs`, default the option's) and resolves with the summary. */
  stop(drainMs?: number): Promise<TrafficSummary>;
  /** Resolves once the duration is over and the drain has ended (or `stop` did). */
  readonly done: Promise<TrafficSummary>;
}

type Json = Record<string, unknown>;

interface MutableTrace {
  orderId: string;
  n: number;
  fate: Fate;
  storefront: string;
  lines: { productCode: string; quantity: number }[];
  dueAt: number;
  placedAt: number;
  statuses: StatusSeen[];
  finalStatus: string | null;
  finalAt: number | null;
}

/** At most `max` calls at once; the rest wait their turn in order. */
function createLimiter(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async function run<T>(work: () => Promise<T>): Promise<T> {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function startTraffic(options: TrafficOptions): RunningTraffic {
  const problem = checkMix(options.mix);
  if (problem) throw new Error(`traffic mix: ${problem}`);
  if (!(options.ratePerSec > 0)) throw new Error('ratePerSec must be positive');
  if (options.storefronts.length === 0) throw new Error('at least one storefront is needed');

  const follow = options.follow ?? true;
  const drainDefault = options.drainMs ?? 60_000;
  const topUpEveryMs = options.topUpEveryMs ?? 10_000;
  const command = createLimiter(options.maxInFlight ?? 64);
  const random = seededRandom(options.seed);
  const emit = (event: OrderEvent): void => options.onOrder?.(event);

  /** Ends placement (duration over, or `stop`). */
  const placing = new AbortController();
  /** Ends everything still waiting: the drain is over. */
  const finished = new AbortController();
  // Every order in flight waits on it: thousands of listeners are expected, not a leak.
  setMaxListeners(0, finished.signal);
  const tasks = new Set<Promise<void>>();
  const track = (task: Promise<void>): void => {
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  };

  const traces = new Map<string, MutableTrace>();
  const counters = {
    offered: 0,
    refused: 0,
    refusedGood: [] as string[],
    cancelBeforeAccepted: 0,
    cancelBeforeRefused: 0,
    cancelAfterTooLate: 0,
    cancelAfterAccepted: 0,
    addressAccepted: 0,
    addressRefused: 0,
    coupons: 0,
    reviews: 0,
    shortages: 0,
    receipts: 0,
    topUps: 0,
    consumerLag: 0,
    deadLetters: 0,
    requests: 0,
    serverErrors: 0,
    errors: 0,
  };
  let startedAt = Date.now();

  async function call(
    base: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json }> {
    counters.requests += 1;
    const authorized = { authorization: `Bearer ${tokenFor(options.credentials, path)}`, ...headers };
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? authorized : { 'content-type': 'application/json', ...authorized },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: finished.signal,
    });
    if (response.status >= 500) counters.serverErrors += 1;
    const text = await response.text();
    let parsed: Json = {};
    try {
      parsed = text ? (JSON.parse(text) as Json) : {};
    } catch {
      parsed = { text };
    }
    return { status: response.status, body: parsed };
  }
  /** A command: counted against the in-flight bound. */
  const act = (
    base: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => command(() => call(base, method, path, body, headers));

  const failed = (orderId: string | null, error: unknown): void => {
    if (finished.signal.aborted) return;
    counters.errors += 1;
    emit({ kind: 'error', orderId, error: messageOf(error) });
  };

  async function availableOf(sku: string): Promise<number> {
    const level = await act(options.platformUrl, 'GET', `/inventory/stock/${sku}`);
    if (level.status !== 200) throw new Error(`stock of ${sku}: HTTP ${level.status}`);
    return Number(level.body.available);
  }

  /**
   * Posts a receipt as a careful client does: a request that got no answer (the instance died
   * under it) is sent again with the same idempotency key, so it is applied once either way and
   * the receipt ledger (`onOrder` 'receipt') knows what the platform acknowledged.
   */
  async function receive(sku: string, quantity: number, reference: string): Promise<number> {
    const key = `sim-receipt-${randomUUID()}`;
    for (let attempt = 1; ; attempt += 1) {
      let answer: { status: number } | undefined;
      try {
        answer = await act(
          options.platformUrl,
          'POST',
          `/inventory/stock/${sku}/receipts`,
          { quantity, supplierReference: reference },
          { 'Idempotency-Key': key },
        );
      } catch (error) {
        if (attempt >= 8 || finished.signal.aborted) {
          emit({ kind: 'receipt', sku, quantity, key, acknowledged: null });
          throw error;
        }
        await sleep(1_000 * attempt, finished.signal);
        continue;
      }
      const acknowledged = answer.status < 300;
      emit({ kind: 'receipt', sku, quantity, key, acknowledged });
      if (!acknowledged) throw new Error(`receipt of ${sku}: HTTP ${answer.status}`);
      return answer.status;
    }
  }

  const stockFloor = stockFloorFor(options.ratePerSec, topUpEveryMs);
  /** Ordinary SKUs never run short: that is the shortage fate's job, on its own SKU. */
  async function topUp(catalogue: Catalogue): Promise<void> {
    for (const sku of catalogue.stockedSkus) {
      const quantity = topUpQuantity(await availableOf(sku), stockFloor, 2 * stockFloor);
      if (quantity === 0) continue;
      await receive(sku, quantity, 'sim-top-up');
      counters.topUps += 1;
    }
  }

  async function scrape(): Promise<void> {
    const urls = options.metricsUrls ?? [];
    if (urls.length === 0) return;
    const texts = await Promise.all(
      urls.map((url) =>
        fetch(url, { signal: AbortSignal.timeout(5_000) })
          .then((response) => response.text())
          .catch(() => ''),
      ),
    );
    counters.consumerLag = texts.reduce((sum, text) => sum + sumMetric(text, 'scm_consumer_lag'), 0);
    counters.deadLetters = texts.reduce(
      (sum, text) => sum + sumMetric(text, 'scm_messages_dead_lettered_total'),
      0,
    );
  }

  function see(trace: MutableTrace, body: Json): void {
    const status = String(body.status);
    trace.statuses.push({
      status,
      label: String(body.statusLabel),
      reason: typeof body.statusReason === 'string' ? body.statusReason : null,
      at: Date.now(),
    });
    if (isFinal(status)) {
      trace.finalStatus = status;
      trace.finalAt = Date.now();
    }
  }

  async function cancel(trace: MutableTrace, comment: string): Promise<number> {
    const answer = await act(trace.storefront, 'POST', `/orders/${trace.orderId}/cancel`, { comment });
    emit({ kind: 'command', order: trace, command: 'cancel', httpStatus: answer.status });
    return answer.status;
  }

  /** What a person does on seeing the order's new status. */
  async function react(
    trace: MutableTrace,
    plan: OrderPlan,
    status: string,
    shortfall: number,
  ): Promise<void> {
    if (plan.fate === 'shortage' && status === 'WAITING_FOR_STOCK') {
      counters.shortages += 1;
      await sleep(plan.receiptDelayMs, finished.signal);
      if (finished.signal.aborted) return;
      const sku = catalogueSku;
      if (sku === null) return;
      const httpStatus = await receive(sku, shortfall, `sim-goods-in-${trace.orderId}`);
      counters.receipts += 1;
      emit({ kind: 'command', order: trace, command: 'receipt', httpStatus });
    }
    const cancelTried = trace.statuses.some((seen) => seen.status === 'SHIPPING');
    if (
      plan.fate === 'cancelAfterDispatch' &&
      (status === 'SHIPPING' || (status === 'DELIVERED' && !cancelTried))
    ) {
      const httpStatus = await cancel(trace, '시뮬레이터: 배송 중 취소 시도');
      if (httpStatus === 409) counters.cancelAfterTooLate += 1;
      else if (httpStatus === 202) counters.cancelAfterAccepted += 1;
    }
    if (plan.review && status === 'DELIVERED') {
      const answer = await act(trace.storefront, 'POST', `/orders/${trace.orderId}/review`, plan.review);
      emit({ kind: 'command', order: trace, command: 'review', httpStatus: answer.status });
      if (answer.status === 200) counters.reviews += 1;
    }
  }

  async function followOrder(trace: MutableTrace, plan: OrderPlan, shortfall: number): Promise<void> {
    let status = 'PLACED';
    while (!finished.signal.aborted && trace.finalStatus === null) {
      const path = `/orders/${trace.orderId}?wait=20&status=${status}`;
      const answer = await call(trace.storefront, 'GET', path).catch((error: unknown) => {
        failed(trace.orderId, error);
        return undefined;
      });
      if (answer?.status !== 200) {
        // A storefront restarting, or a hiccup: a customer's app would try again shortly.
        if (answer) failed(trace.orderId, new Error(`GET ${path}: HTTP ${answer.status}`));
        await sleep(1_000, finished.signal);
        continue;
      }
      const next = String(answer.body.status);
      if (next === status) continue;
      status = next;
      see(trace, answer.body);
      emit({ kind: 'status', order: trace });
      track(react(trace, plan, status, shortfall).catch((error: unknown) => failed(trace.orderId, error)));
    }
  }

  /** Second thoughts right after placing: a cancel, or another address. */
  async function afterthought(trace: MutableTrace, plan: OrderPlan): Promise<void> {
    if (plan.fate !== 'cancelBeforeDispatch' && plan.newAddress === null) return;
    await sleep(plan.afterthoughtMs, finished.signal);
    if (finished.signal.aborted) return;
    if (plan.fate === 'cancelBeforeDispatch') {
      const httpStatus = await cancel(trace, '시뮬레이터: 마음이 바뀌었어요');
      if (httpStatus === 202) counters.cancelBeforeAccepted += 1;
      else counters.cancelBeforeRefused += 1;
    }
    if (plan.newAddress !== null) {
      const answer = await act(
        trace.storefront,
        'PUT',
        `/orders/${trace.orderId}/delivery-address`,
        plan.newAddress,
      );
      emit({ kind: 'command', order: trace, command: 'address', httpStatus: answer.status });
      if (answer.status === 200) counters.addressAccepted += 1;
      else counters.addressRefused += 1;
    }
  }

  let catalogueSku: string | null = null;

  async function place(plan: OrderPlan, dueAt: number, catalogue: Catalogue): Promise<void> {
    const storefront = options.storefronts[plan.storefront] ?? options.storefronts[0] ?? '';
    let body = plan.body;
    let shortfall = 0;
    if (plan.fate === 'shortage' && catalogue.shortage) {
      const { sku, unitsPerProduct, productCode } = catalogue.shortage;
      const quantity = shortageQuantity(await availableOf(sku), unitsPerProduct);
      shortfall = quantity * unitsPerProduct;
      body = { ...body, lines: [{ productCode, quantity, unitPrice: 18_000 }] };
    }
    const answer = await act(storefront, 'POST', '/orders', body, {
      'Idempotency-Key': `sim-${options.seed}-${plan.n}-${randomUUID()}`,
    });
    if (answer.status !== 201) {
      if (answer.status >= 500) throw new Error(`POST /orders: HTTP ${answer.status}`);
      counters.refused += 1;
      if (plan.fate !== 'invalidBody')
        counters.refusedGood.push(`#${plan.n} (${plan.fate}): ${answer.status}`);
      emit({ kind: 'refused', plan, httpStatus: answer.status, detail: String(answer.body.detail ?? '') });
      return;
    }
    const trace: MutableTrace = {
      orderId: String(answer.body.orderId),
      n: plan.n,
      fate: plan.fate,
      storefront,
      lines: (body.lines as { productCode: string; quantity: number }[]).map(({ productCode, quantity }) => ({
        productCode,
        quantity,
      })),
      dueAt,
      placedAt: Date.now(),
      statuses: [],
      finalStatus: null,
      finalAt: null,
    };
    see(trace, answer.body);
    traces.set(trace.orderId, trace);
    if (plan.couponCode !== null) counters.coupons += 1;
    emit({ kind: 'placed', order: trace });
    track(afterthought(trace, plan).catch((error: unknown) => failed(trace.orderId, error)));
    if (follow)
      track(followOrder(trace, plan, shortfall).catch((error: unknown) => failed(trace.orderId, error)));
    else if (plan.fate === 'shortage') {
      // Not watching: the goods arrive a little later anyway.
      track(
        react(trace, plan, 'WAITING_FOR_STOCK', shortfall).catch((error: unknown) =>
          failed(trace.orderId, error),
        ),
      );
    }
  }

  function stats(): TrafficStats {
    const byStatus: Record<string, number> = {};
    const placedPerStorefront: Record<string, number> = {};
    const placedAt = new Map<string, number>();
    const finalAt = new Map<string, number>();
    for (const trace of traces.values()) {
      const current = trace.statuses.at(-1)?.status ?? 'PLACED';
      byStatus[current] = (byStatus[current] ?? 0) + 1;
      placedPerStorefront[trace.storefront] = (placedPerStorefront[trace.storefront] ?? 0) + 1;
      placedAt.set(trace.orderId, trace.dueAt);
      if (trace.finalAt !== null) finalAt.set(trace.orderId, trace.finalAt);
    }
    const count = (status: string): number => byStatus[status] ?? 0;
    return {
      elapsedMs: Date.now() - startedAt,
      offered: counters.offered,
      placed: traces.size,
      refused: counters.refused,
      byStatus,
      delivered: count('DELIVERED'),
      cancelled: count('CANCELLED'),
      rejected: count('REJECTED'),
      failed: count('FAILED'),
      inFlight: traces.size - finalAt.size,
      placedPerStorefront,
      cancelBeforeDispatch: {
        accepted: counters.cancelBeforeAccepted,
        refused: counters.cancelBeforeRefused,
      },
      cancelAfterDispatch: { tooLate: counters.cancelAfterTooLate, accepted: counters.cancelAfterAccepted },
      addressChanges: { accepted: counters.addressAccepted, refused: counters.addressRefused },
      coupons: counters.coupons,
      reviews: counters.reviews,
      shortages: counters.shortages,
      receipts: counters.receipts,
      topUps: counters.topUps,
      consumerLag: counters.consumerLag,
      deadLetters: counters.deadLetters,
      requests: counters.requests,
      serverErrors: counters.serverErrors,
      errors: counters.errors,
      placedAt,
      finalAt,
    };
  }

  function summary(): TrafficSummary {
    const orders = [...traces.values()].sort((a, b) => a.n - b.n);
    const unfinished = orders.filter((trace) => trace.finalStatus === null);
    const unexpected = orders.filter(
      (trace) =>
        trace.finalStatus !== null &&
        !(expectedOutcome(trace.fate) as readonly string[]).includes(trace.finalStatus),
    );
    const latencies = orders.flatMap((trace) =>
      trace.finalStatus === 'DELIVERED' && trace.finalAt !== null && trace.fate !== 'shortage'
        ? [trace.finalAt - trace.dueAt]
        : [],
    );
    return {
      ...stats(),
      orders,
      unfinished: unfinished.map((trace) => trace.orderId),
      lost: [
        ...unfinished.filter((trace) => !isBadFate(trace.fate)).map((trace) => trace.orderId),
        ...counters.refusedGood,
      ],
      unexpected: unexpected.map((trace) => `${trace.orderId} ${trace.fate}→${trace.finalStatus ?? ''}`),
      deliveryLatencyMs: percentiles(latencies),
    };
  }

  /** Set when placement ends; `stop` may bring it forward. */
  let drainUntil = Infinity;
  let stopNowAt = Infinity;
  let hurry = new AbortController();
  const placements = new Set<Promise<void>>();
  const progress = options.onProgress
    ? setInterval(() => options.onProgress?.(stats()), options.progressEveryMs ?? 500)
    : undefined;

  const done = (async (): Promise<TrafficSummary> => {
    const scraper = setInterval(() => void scrape(), 2_000);
    let topUps: NodeJS.Timeout | undefined;
    try {
      const mappingAnswer = await act(
        options.mappingUrl ?? options.platformUrl,
        'GET',
        '/adapters/order-scm/mapping',
      );
      if (mappingAnswer.status !== 200)
        throw new Error(`GET /adapters/order-scm/mapping: HTTP ${mappingAnswer.status}`);
      const mapping = mapViewOf(mappingAnswer.body);
      if ('problem' in mapping) throw new Error(`GET /adapters/order-scm/mapping: ${mapping.problem}`);
      const catalogue = catalogueOf(mapping);
      catalogueSku = catalogue.shortage?.sku ?? null;
      await topUp(catalogue);
      topUps = setInterval(
        () => void topUp(catalogue).catch((error: unknown) => failed(null, error)),
        topUpEveryMs,
      );

      startedAt = Date.now();
      const total = plannedCount(options.ratePerSec, options.durationMs);
      for (let n = 0; n < total && !placing.signal.aborted; n += 1) {
        const dueAt = startedAt + dueAtMs(n, options.ratePerSec);
        await sleep(dueAt - Date.now(), placing.signal);
        if (placing.signal.aborted) break;
        // The plan is drawn here, in order of n, so it does not depend on timing.
        const plan = planOrder(random, n, {
          mix: options.mix,
          catalogue,
          storefronts: options.storefronts.length,
          deliveryDate: kstDate(Date.now()),
        });
        counters.offered += 1;
        const placement = place(plan, dueAt, catalogue).catch((error: unknown) => failed(null, error));
        track(placement);
        placements.add(placement);
        void placement.finally(() => placements.delete(placement));
      }
      placing.abort();

      // Placements already sent are seen through whatever the drain (the caller counts them),
      // unless `stop(0)` says to stop now.
      const placedBy = Date.now() + 30_000;
      while (placements.size > 0 && Date.now() < Math.min(placedBy, stopNowAt)) {
        await Promise.race([Promise.allSettled([...placements]), sleep(placedBy - Date.now(), hurry.signal)]);
      }
      drainUntil = Math.min(drainUntil, Date.now() + drainDefault);
      while (tasks.size > 0 && Date.now() < drainUntil) {
        await Promise.race([Promise.allSettled([...tasks]), sleep(drainUntil - Date.now(), hurry.signal)]);
      }
    } finally {
      finished.abort();
      clearInterval(scraper);
      if (topUps) clearInterval(topUps);
      if (progress) clearInterval(progress);
      await Promise.allSettled([...tasks]);
      await scrape();
    }
    const result = summary();
    options.onProgress?.(result);
    return result;
  })();

  return {
    stats,
    async stop(drainMs = drainDefault) {
      drainUntil = Math.min(drainUntil, Date.now() + drainMs);
      if (drainMs <= 0) stopNowAt = Date.now();
      placing.abort();
      hurry.abort();
      hurry = new AbortController();
      return done;
    },
    done,
  };
}

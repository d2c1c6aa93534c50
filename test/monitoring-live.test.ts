/**
 * The monitoring as people use it, against the real Prometheus of the stack: a whole platform in
 * this process is announced to it as a scrape target under a job of its own, real orders go
 * through it (delivered, failed, cancelled, short of stock, stalled), and then every dashboard
 * panel's query and every recording rule is evaluated by Prometheus, with Grafana's variables
 * substituted, and must give what the test did. A poison message must fire the dead-letter alert,
 * and the stalled order the stuck-order alert, through Prometheus's own alerts API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { parse } from 'yaml';
import { platformContexts } from '@contracts/principals';
import type { RunningPlatform } from '@platform/host';
import {
  act,
  appearsIn,
  fullJourney,
  placeOrder,
  receiveStock,
  statusReaches,
  type UrlOf,
} from '@test/e2e/journey';
import { call, createTestDeployment } from '@test/harness/platform';
import { testEndpoints } from '@test/harness/endpoints';
import {
  ruleVariant,
  rulesFile,
  testPrometheus,
  type Sample,
  type TestPrometheus,
} from '@test/harness/prometheus';
import { waitFor } from '@test/harness/wait';

const deployment = createTestDeployment('mon');
// The deployment's own job label: every query below is scoped to it, as a person picks the
// deployment in the boards' `job` variable, so no other run's data can make a figure right.
const job = `scm-test-${deployment.database.slice(-12)}`;
let platform: RunningPlatform;
let prometheus: TestPrometheus;
let startedAt: Date;
const urlOf: UrlOf = () => platform.url;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  prometheus = await testPrometheus();
  startedAt = new Date();
  platform = await deployment.start([...platformContexts]);
  cleanups.push(prometheus.announce(job, [platform.metricsUrl]));
  // The stuck-order SLA is 30 minutes; scaled by 1/360 it is 5 s (see ruleVariant).
  const variant = ruleVariant(fs.readFileSync(rulesFile, 'utf8'), ['ScmOrderStuckInStage'], 1 / 360);
  cleanups.push(await prometheus.loadRules(job, variant));
  await prometheus.scraped(job, new Date());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await deployment.stop();
});

const orders = { placed: 0, delivered: 0, failed: 0, cancelled: 0, shortages: 0 };
let stalled = '';

/** One order through to dispatch, then the courier reports it failed. */
async function failedDelivery(): Promise<void> {
  await receiveStock(urlOf, 'SKU-KIMCHI-500G', 1);
  const id = await placeOrder(urlOf, [{ productCode: 'PRD-KIMCHI', quantity: 1, unitPrice: 12000 }]);
  await statusReaches(urlOf, id, 'RECEIVED');
  await appearsIn(urlOf, 'warehouse', '/warehouse/tasks?status=to-pick', id);
  await act(urlOf, 'warehouse', `/warehouse/tasks/WH-${id}/pick`, { pickerId: 'P-1' });
  await act(urlOf, 'warehouse', `/warehouse/tasks/WH-${id}/pack`, { packerId: 'P-2', parcelCount: 1 });
  await appearsIn(urlOf, 'delivery', '/delivery/shipments?status=ready', id);
  await act(urlOf, 'delivery', `/delivery/shipments/SHP-${id}/dispatch`, { courierId: 'C-1' });
  await act(urlOf, 'delivery', `/delivery/shipments/SHP-${id}/fail`, { reason: 'RECIPIENT_UNREACHABLE' });
  await statusReaches(urlOf, id, 'FAILED');
}

async function cancelled(
  status: string,
  lines: Record<string, unknown>[],
  kitchenWaits = false,
): Promise<void> {
  const id = await placeOrder(urlOf, lines);
  await statusReaches(urlOf, id, status);
  if (kitchenWaits) await appearsIn(urlOf, 'production', '/kitchen/tasks?status=waiting', id);
  expect((await call(platform.url, 'POST', `/orders/${id}/cancel`, {})).status).toBe(202);
  await statusReaches(urlOf, id, 'CANCELLED');
}

/** An instant query's samples as `label value -> value`, e.g. `{ cooking: 1 }`. */
const byLabel = (samples: readonly Sample[], label: string): Record<string, number> =>
  Object.fromEntries(samples.map((sample) => [sample.metric[label] ?? '', sample.value]));

describe('on real traffic', () => {
  beforeAll(async () => {
    for (let i = 0; i < 2; i += 1) await fullJourney(urlOf);
    orders.delivered = 2;
    await failedDelivery();
    orders.failed = 1;
    await receiveStock(urlOf, 'SKU-BULGOGI-300G', 1);
    // Cancelled while the kitchen waits, and while the reservation waits for stock.
    await cancelled('RECEIVED', [{ productCode: 'PRD-BULGOGI', quantity: 1, unitPrice: 15000 }], true);
    await cancelled('WAITING_FOR_STOCK', [{ productCode: 'PRD-SOYMILK-24', quantity: 1, unitPrice: 18000 }]);
    orders.cancelled = 2;
    orders.shortages = 1;
    // Nobody cooks this one: auto-advance is off, so it waits in the kitchen.
    stalled = await placeOrder(urlOf, [{ productCode: 'PRD-BIBIMBAP', quantity: 1, unitPrice: 9500 }]);
    await appearsIn(urlOf, 'production', '/kitchen/tasks?status=waiting', stalled);
    orders.placed = 6;
  });

  it('the stuck-order alert fires for the stage the stalled order waits in', async () => {
    const alert = await waitFor(
      'ScmOrderStuckInStage to fire',
      async () =>
        (await prometheus.alerts()).find(
          (candidate) =>
            candidate.labels.alertname === 'ScmOrderStuckInStage' &&
            candidate.labels.job === job &&
            candidate.state === 'firing',
        ),
      { timeoutMs: 40_000, intervalMs: 500 },
    );
    expect(alert.labels).toMatchObject({
      stage: 'cooking',
      context: 'production',
      variant: 'test',
      sla: '5000ms',
    });
    expect(alert.annotations.description).toContain('At least 1 orders entered cooking');
    // Only the stage it waits in: the orders that moved on are not stuck anywhere.
    const stuck = (await prometheus.alerts()).filter(
      (candidate) => candidate.labels.alertname === 'ScmOrderStuckInStage' && candidate.labels.job === job,
    );
    expect(stuck.map((candidate) => candidate.labels.stage)).toEqual(['cooking']);
  });

  it('a poison message fires ScmMessagesDeadLettered (the rule as written)', async () => {
    const kafka = new Kafka({ brokers: testEndpoints().kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      // Not the Confluent wire format: no consumer of the topic can decode it.
      await producer.send({
        topic: `${deployment.namespace}scm.fulfilment-requests`,
        messages: [{ key: 'POISON-1', value: Buffer.from('not an avro record') }],
      });
    } finally {
      await producer.disconnect();
    }
    const alert = await waitFor(
      'ScmMessagesDeadLettered to fire',
      async () =>
        (await prometheus.alerts()).find(
          (candidate) =>
            candidate.labels.alertname === 'ScmMessagesDeadLettered' &&
            candidate.labels.job === job &&
            candidate.labels.variant === undefined &&
            candidate.labels.group === `${deployment.namespace}inventory` &&
            candidate.state === 'firing',
        ),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(alert.labels).toMatchObject({ category: 'permanent', severity: 'warning' });
    expect((await deployment.records(`${deployment.namespace}inventory.dlq`)).length).toBe(1);
  });

  describe('every dashboard query and recording rule', () => {
    const dashboardsDir = path.resolve(__dirname, '..', 'infra', 'grafana', 'dashboards');
    const boards = fs.readdirSync(dashboardsDir).filter((name) => name.endsWith('.json'));

    interface Query {
      readonly board: string;
      readonly panel: string;
      readonly expr: string;
    }

    const queries: Query[] = boards.flatMap((file) => {
      const board = JSON.parse(fs.readFileSync(path.join(dashboardsDir, file), 'utf8')) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      return board.panels.flatMap((panel) =>
        panel.targets.map((target) => ({ board: file, panel: panel.title, expr: target.expr })),
      );
    });

    /** What Grafana would send: its variables substituted for this deployment. */
    function substitute(expr: string, context: string): string {
      const rangeSeconds = Math.ceil((Date.now() - startedAt.getTime()) / 1000) + 5;
      return (
        expr
          // Grafana's rate interval: four scrape intervals (1 s for announced targets).
          .replace(/\$__rate_interval\b|\$\{__rate_interval\}/g, '4s')
          .replace(/\$__interval\b|\$\{__interval\}/g, '1s')
          .replace(/\$__range\b|\$\{__range\}/g, `${rangeSeconds}s`)
          .replace(/\$job\b|\$\{job\}/g, job)
          .replace(/\$context\b|\$\{context\}/g, context)
      );
    }

    /** Over the whole run, step 1 s: the series a panel draws. */
    async function drawn(expr: string, context: string) {
      return prometheus.queryRange(substitute(expr, context), startedAt, new Date(), 1);
    }

    it('gives the figures of the traffic the test made (order journey board)', async () => {
      const journey = (title: string): string => {
        const found = queries.find((query) => query.board === 'order-journey.json' && query.panel === title);
        if (found === undefined) throw new Error(`no panel ${title}`);
        return substitute(found.expr, '');
      };
      // Recording rules evaluate every 15 s: wait until the last change has been recorded.
      const inStage = await waitFor(
        'scm:orders_in_stage to show the stalled order',
        async () => {
          const samples = byLabel(await prometheus.query(journey('Orders in each stage now')), 'stage');
          return samples.cooking === 1 && samples.transit === 0 && samples;
        },
        { timeoutMs: 40_000, intervalMs: 1_000 },
      );
      expect(inStage).toEqual({
        reservation: 0,
        cooking: 1,
        picking: 0,
        packing: 0,
        dispatch: 0,
        transit: 0,
      });

      const figure = async (title: string): Promise<number> => {
        const [sample, ...more] = await prometheus.query(journey(title));
        expect(more).toEqual([]);
        // increase() extrapolates a little past the last sample; a count is the nearest integer.
        expect(Math.abs((sample?.value ?? NaN) - Math.round(sample?.value ?? NaN))).toBeLessThan(0.3);
        return Math.round(sample?.value ?? NaN);
      };
      expect({
        placed: await figure('Orders placed'),
        delivered: await figure('Delivered'),
        failed: await figure('Delivery failures'),
        cancelled: await figure('Cancelled'),
        shortages: await figure('Stock shortages'),
      }).toEqual({
        placed: orders.placed,
        delivered: orders.delivered,
        failed: orders.failed,
        cancelled: orders.cancelled,
        shortages: orders.shortages,
      });

      const notCompleted = await prometheus.query(journey('Left a stage other than completed'));
      const left = Object.fromEntries(
        notCompleted
          .filter((sample) => Math.round(sample.value) > 0)
          .map((sample) => [`${sample.metric.stage} ${sample.metric.outcome}`, Math.round(sample.value)]),
      );
      expect(left).toEqual({ 'cooking cancelled': 1, 'reservation cancelled': 1, 'transit failed': 1 });
      const reasons = byLabel(await prometheus.query(journey('Delivery failures by reason')), 'reason');
      expect(Object.entries(reasons).filter(([, count]) => Math.round(count) > 0)).toEqual([
        ['RECIPIENT_UNREACHABLE', expect.closeTo(1, 0)],
      ]);
      // Stage times are real times between real steps: positive and below the test's length.
      const mean = byLabel(await prometheus.query(journey('Mean time in stage')), 'stage');
      const runSeconds = (Date.now() - startedAt.getTime()) / 1000;
      for (const stage of ['reservation', 'picking', 'packing', 'dispatch', 'transit'])
        expect(mean[stage]).toBeGreaterThan(0);
      expect(Object.values(mean).every((seconds) => seconds >= 0 && seconds < runSeconds)).toBe(true);
    });

    it('counts HTTP requests by route template, never by raw path', async () => {
      const [routes] = queries.filter(
        (query) => query.panel === 'HTTP requests per second by route and status',
      );
      const series = await drawn(routes?.expr ?? '', '');
      const labels = series.map((drawnSeries) => `${drawnSeries.metric.route} ${drawnSeries.metric.status}`);
      expect(labels).toEqual(
        expect.arrayContaining(['/orders 201', '/orders/:id 200', '/orders/:id/cancel 202', '/metrics 200']),
      );
      expect(labels.filter((label) => label.includes('ORD-'))).toEqual([]);
    });

    it.each(queries.map((query) => [`${query.board}: ${query.panel}`, query] as const))(
      '%s returns data',
      async (_name, query) => {
        const contexts = query.expr.includes('$context') ? ['inventory', 'warehouse', 'delivery'] : [''];
        for (const context of contexts) {
          const series = await drawn(query.expr, context);
          // Some step of the run drew a number (NaN is what a quantile of nothing gives).
          const values = series.flatMap((drawnSeries) => drawnSeries.values.map(([, value]) => value));
          expect({ context, expr: query.expr, finite: values.some(Number.isFinite) }).toEqual({
            context,
            expr: query.expr,
            finite: true,
          });
        }
      },
    );

    it('every recording rule has a value for this deployment', async () => {
      const groups = (
        parse(fs.readFileSync(rulesFile, 'utf8')) as { groups: { rules: { record?: string }[] }[] }
      ).groups;
      const records = groups.flatMap((group) =>
        group.rules.flatMap((rule) => (rule.record ? [rule.record] : [])),
      );
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) {
        const series = await prometheus.queryRange(`${record}{job="${job}"}`, startedAt, new Date(), 1);
        const values = series.flatMap((recorded) => recorded.values.map(([, value]) => value));
        expect({ record, finite: values.some(Number.isFinite) }).toEqual({ record, finite: true });
      }
    });
  });
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { platformVariables } from '@platform/config';

// Prometheus scrapes each process's metrics listener (its default port), not the API.
const metricsPort = platformVariables.METRICS_PORT.fallback;

// Prometheus's own checker is the judge of its files: promtool ships with the Debian package
// `prometheus`, which the native stack installs anyway. Grafana cannot run here, so its
// dashboard's queries go through promtool's PromQL parser instead.

const infraDir = path.resolve(__dirname, '..', 'infra');
const prometheusDir = path.join(infraDir, 'prometheus');
const rulesFile = path.join(prometheusDir, 'rules.yml');
const dashboardsDir = path.join(infraDir, 'grafana', 'dashboards');
const provisioningDir = path.join(infraDir, 'grafana', 'provisioning');

interface Outcome {
  status: number | null;
  output: string;
}

function promtool(args: string[]): Outcome {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    const missing = 'code' in result.error && result.error.code === 'ENOENT';
    throw new Error(
      missing
        ? "promtool is not on PATH: install the Debian package 'prometheus' (apt-get install prometheus), " +
          'as the native stack (npm run stack) does.'
        : `promtool failed to run: ${result.error.message}`,
    );
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function inTempDir<T>(work: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scm-promtool-'));
  try {
    return work(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function readYamlFile(file: string): Record<string, unknown> {
  const content: unknown = parse(fs.readFileSync(file, 'utf8'));
  if (!isRecord(content)) throw new Error(`${file} is not a YAML mapping`);
  return content;
}

interface PanelQuery {
  name: string;
  expr: string;
  datasourceUid: unknown;
}

/** Every query of every panel, rows' nested panels included. */
function dashboardQueries(dashboard: unknown): PanelQuery[] {
  if (!isRecord(dashboard)) throw new Error('a dashboard must be a JSON object');
  const queries: PanelQuery[] = [];
  const visit = (panels: unknown): void => {
    for (const panel of records(panels)) {
      visit(panel.panels);
      const panelDatasource = isRecord(panel.datasource) ? panel.datasource.uid : undefined;
      for (const target of records(panel.targets)) {
        const datasourceUid = isRecord(target.datasource) ? target.datasource.uid : panelDatasource;
        const name = `panel ${String(panel.id)} "${String(panel.title)}" query ${String(target.refId)}`;
        queries.push({ name, expr: typeof target.expr === 'string' ? target.expr : '', datasourceUid });
      }
    }
  };
  visit(dashboard.panels);
  return queries;
}

/**
 * promtool has no command to parse a lone expression, but it parses every rule's: each query
 * becomes a recording rule. Grafana's interval variables become a fixed range first.
 */
function checkPromql(queries: { name: string; expr: string }[]): Outcome {
  const rules = queries.map((query, index) => ({
    record: `dashboard:query_${index}`,
    expr: query.expr.replace(
      /\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g,
      '5m',
    ),
    labels: { query: query.name },
  }));
  return inTempDir((dir) => {
    const file = path.join(dir, 'dashboard-queries.yml');
    fs.writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    return promtool(['check', 'rules', file]);
  });
}

function dashboardFiles(): string[] {
  return fs
    .readdirSync(dashboardsDir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => path.join(dashboardsDir, name));
}

describe('Prometheus configuration', () => {
  it.each(['prometheus.yml', 'prometheus.native.yml'])('%s passes promtool check config', (name) => {
    // check config also loads and checks every file under rule_files.
    const outcome = promtool(['check', 'config', path.join(prometheusDir, name)]);
    expect(outcome).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('scrapes the platform where each column runs it', () => {
    const targetsOf = (name: string): unknown[] =>
      records(readYamlFile(path.join(prometheusDir, name)).scrape_configs)
        .filter((job) => job.job_name === 'platform')
        .flatMap((job) => records(job.static_configs))
        .flatMap((group) => (Array.isArray(group.targets) ? group.targets : []));
    // In docker-compose: every container of the platform's image, in whichever mode runs.
    // Merge keys (`<<: *app-defaults`) are YAML 1.1: the parser resolves them only when asked.
    const composeFile = fs.readFileSync(path.join(prometheusDir, '..', '..', 'docker-compose.yml'), 'utf8');
    const compose = records([records([parse(composeFile, { merge: true })])[0]?.services])[0] ?? {};
    const appServices = Object.entries(compose)
      .filter(([, service]) => records([service])[0]?.image === 'scm-platform:local')
      .map(([name]) => `${name}:${metricsPort}`);
    expect(appServices).toHaveLength(9);
    expect([...targetsOf('prometheus.yml')].sort()).toEqual(appServices.sort());
    expect(targetsOf('prometheus.native.yml')).toEqual([`127.0.0.1:${metricsPort}`]);
  });

  it('rules pass promtool check rules', () => {
    expect(promtool(['check', 'rules', rulesFile])).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('rules record and alert as intended (promtool test rules)', () => {
    const platform = { job: 'platform', instance: 'platform:8080' };
    const lag = { ...platform, group: 'inventory', topic: 'scm.fulfilment-requests' };
    const series = (name: string, labels: Record<string, string>, values: string) => ({
      series: `${name}{${Object.entries(labels)
        .map(([key, value]) => `${key}="${value}"`)
        .join(',')}}`,
      values,
    });
    const unitTests: { rule_files: string[]; evaluation_interval: string; tests: unknown[] } = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            series('up', platform, '0x10'),
            series('scm_consumer_lag', { ...lag, partition: '0' }, '600x20'),
            series('scm_consumer_lag', { ...lag, partition: '1' }, '600x20'),
            // A second instance of the context reads the same partitions from the broker.
            series('scm_consumer_lag', { ...lag, instance: 'platform-2:8080', partition: '1' }, '600x20'),
            // A second group, below the threshold: must stay quiet.
            series('scm_consumer_lag', { ...lag, group: 'tracking', partition: '0' }, '900x20'),
            series('scm_messages_dead_lettered_total', platform, '0 0 1 1 1'),
          ],
          promql_expr_test: [
            {
              expr: 'scm:consumer_lag:sum',
              eval_time: '1m',
              exp_samples: [
                {
                  labels:
                    'scm:consumer_lag:sum{group="inventory",job="platform",topic="scm.fulfilment-requests"}',
                  value: 1200,
                },
                {
                  labels:
                    'scm:consumer_lag:sum{group="tracking",job="platform",topic="scm.fulfilment-requests"}',
                  value: 900,
                },
              ],
            },
          ],
          alert_rule_test: [
            { alertname: 'ScmProcessDown', eval_time: '1m', exp_alerts: [] },
            {
              alertname: 'ScmProcessDown',
              eval_time: '3m',
              exp_alerts: [
                {
                  exp_labels: { ...platform, severity: 'critical' },
                  exp_annotations: {
                    summary: 'Platform process platform:8080 is not answering /metrics',
                    description: 'Prometheus has failed to scrape platform:8080 for 2 minutes.',
                  },
                },
              ],
            },
            { alertname: 'ScmConsumerLagHigh', eval_time: '5m', exp_alerts: [] },
            {
              alertname: 'ScmConsumerLagHigh',
              eval_time: '15m',
              exp_alerts: [
                {
                  exp_labels: { job: 'platform', group: 'inventory', topic: lag.topic, severity: 'warning' },
                  exp_annotations: {
                    summary: 'Consumer lag above 1000 for 10 minutes',
                    description: `inventory on ${lag.topic} is 1200 messages behind.`,
                  },
                },
              ],
            },
            { alertname: 'ScmMessagesDeadLettered', eval_time: '1m', exp_alerts: [] },
            {
              alertname: 'ScmMessagesDeadLettered',
              eval_time: '3m',
              exp_alerts: [
                {
                  exp_labels: { ...platform, severity: 'warning' },
                  exp_annotations: {
                    summary: 'Messages were dead-lettered in the last 10 minutes',
                    description: '1 messages dead-lettered (platform, platform:8080).',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    // The journey: orders enter the kitchen; one is never cooked. A second platform job restarts
    // (process_start_time_seconds changes), which must silence its stuck-order alert.
    const kitchen = { ...platform, context: 'production', stage: 'cooking' };
    const restarted = { ...kitchen, job: 'other', instance: 'other:8080' };
    unitTests.tests.push({
      interval: '1m',
      input_series: [
        series('scm_order_stage_entries_total', kitchen, '0 3 3 3x60'),
        series('scm_order_stage_exits_total', { ...kitchen, outcome: 'completed' }, '0 0 2 2x60'),
        series('scm_order_stage_entries_total', restarted, '5 5x30 0x30'),
        series('scm_order_stage_exits_total', { ...restarted, outcome: 'completed' }, '0 0x30 0x30'),
        series('process_start_time_seconds', { ...restarted }, '100x30 2000x30'),
        series('process_start_time_seconds', platform, '100x62'),
        // Orders placed, nothing reserved: no events flow back.
        series('scm_orders_placed_total', platform, '0+1x30'),
        series(
          'scm_events_published_total',
          { ...platform, topic: 'scm.inventory-events', event_type: 'StockReserved' },
          '0x30',
        ),
        // Lag waits and the group consumes nothing.
        series('scm_consumer_lag', { ...lag, partition: '0' }, '50x20'),
        series('scm_messages_consumed_total', { ...platform, group: 'inventory', topic: lag.topic }, '7x20'),
      ],
      promql_expr_test: [
        {
          expr: 'scm:orders_in_stage',
          eval_time: '5m',
          exp_samples: [
            { labels: 'scm:orders_in_stage{context="production",job="platform",stage="cooking"}', value: 1 },
            { labels: 'scm:orders_in_stage{context="production",job="other",stage="cooking"}', value: 5 },
          ],
        },
      ],
      alert_rule_test: [
        // 30 minutes after the order entered, plus the rule's 1 m.
        { alertname: 'ScmOrderStuckInStage', eval_time: '30m', exp_alerts: [] },
        {
          alertname: 'ScmOrderStuckInStage',
          eval_time: '33m',
          exp_alerts: [
            {
              exp_labels: {
                job: 'platform',
                context: 'production',
                stage: 'cooking',
                severity: 'warning',
                sla: '30m',
              },
              exp_annotations: {
                summary: 'Orders stuck in cooking for more than 30 minutes',
                description:
                  'At least 1 orders entered cooking (production) more than 30 minutes ago and have not left it.',
              },
            },
          ],
        },
        { alertname: 'ScmNoEventsWhileOrdersPlaced', eval_time: '4m', exp_alerts: [] },
        {
          alertname: 'ScmNoEventsWhileOrdersPlaced',
          eval_time: '15m',
          exp_alerts: [
            {
              exp_labels: { job: 'platform', severity: 'critical' },
              exp_annotations: {
                summary: 'Orders are placed but no fulfilment events flow',
                description: '10 orders placed in 10 minutes and not one reserved, short or rejected.',
              },
            },
          ],
        },
        {
          alertname: 'ScmConsumerStuck',
          eval_time: '10m',
          exp_alerts: [
            {
              exp_labels: { job: 'platform', group: 'inventory', topic: lag.topic, severity: 'critical' },
              exp_annotations: {
                summary: 'Consumer of inventory is stuck',
                description: `50 records wait on ${lag.topic} and inventory has consumed nothing for 5 minutes.`,
              },
            },
          ],
        },
      ],
    });
    const outcome = inTempDir((dir) => {
      const file = path.join(dir, 'rules.test.yml');
      fs.writeFileSync(file, stringify(unitTests));
      return promtool(['test', 'rules', file]);
    });
    expect(outcome).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});

describe('Grafana provisioning', () => {
  const datasourceUids = records(
    readYamlFile(path.join(provisioningDir, 'datasources', 'prometheus.yml')).datasources,
  ).map((datasource) => datasource.uid);

  it('provisions a Prometheus datasource at the compose service, under a fixed uid', () => {
    expect(
      records(readYamlFile(path.join(provisioningDir, 'datasources', 'prometheus.yml')).datasources),
    ).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
  });

  it('loads dashboards from where docker-compose.yml mounts infra/grafana/dashboards', () => {
    const providers = records(
      readYamlFile(path.join(provisioningDir, 'dashboards', 'dashboards.yml')).providers,
    );
    const paths = providers.map((provider) =>
      isRecord(provider.options) ? provider.options.path : undefined,
    );
    expect(paths).toEqual(['/etc/grafana/dashboards']);
    const compose: unknown = parse(fs.readFileSync(path.join(infraDir, '..', 'docker-compose.yml'), 'utf8'), {
      merge: true,
    });
    const grafana = isRecord(compose) && isRecord(compose.services) ? compose.services.grafana : undefined;
    const mounts = isRecord(grafana) && Array.isArray(grafana.volumes) ? grafana.volumes : [];
    const mounted = mounts
      .filter((mount): mount is string => typeof mount === 'string')
      .map((m) => m.split(':'));
    expect(mounted).toContainEqual(['./infra/grafana/dashboards', '/etc/grafana/dashboards', 'ro']);
  });

  it.each(dashboardFiles().map((file) => [path.basename(file), file]))(
    '%s queries the provisioned datasource with valid PromQL',
    (_name, file) => {
      const queries = dashboardQueries(JSON.parse(fs.readFileSync(file, 'utf8')));
      expect(queries.length).toBeGreaterThan(0);
      expect(queries.filter((query) => !datasourceUids.includes(query.datasourceUid))).toEqual([]);
      expect(queries.filter((query) => query.expr.trim() === '')).toEqual([]);
      expect(checkPromql(queries)).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
    },
  );

  it('the PromQL check rejects an invalid query', () => {
    // Guards the check above: a checker that passes everything would make it worthless.
    expect(checkPromql([{ name: 'broken', expr: 'sum(rate(scm_messages_dead_lettered_total[5m])' }])).toEqual(
      {
        status: 1,
        output: expect.stringContaining('FAILED'),
      },
    );
  });
});

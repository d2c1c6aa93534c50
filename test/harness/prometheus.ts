/**
 * The stack's real Prometheus, as a test sees it: it announces its platform processes as scrape
 * targets (a file_sd file the stack's Prometheus watches, scraped every second), loads rule
 * variants generated from infra/prometheus/rules.yml, and asks the HTTP API what Prometheus
 * recorded and which alerts fire.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { prometheusRunPaths } from '../../infra/stack/components';
import { readStackConfig } from '../../infra/stack/config';
import { status, up } from '../../infra/stack/stack';
import { waitFor } from './wait';

export const rulesFile = path.resolve(__dirname, '..', '..', 'infra', 'prometheus', 'rules.yml');

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface Series {
  readonly metric: Record<string, string>;
  readonly values: readonly (readonly [number, number])[];
}

export interface Alert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
}

export interface TestPrometheus {
  readonly url: string;
  /** Makes Prometheus scrape `urls` under the job `job` until the returned function is called. */
  announce(job: string, urls: readonly string[]): () => void;
  /** Loads a rule file (YAML text) until the returned function is called. */
  loadRules(name: string, yaml: string): Promise<() => Promise<void>>;
  query(expr: string, at?: Date): Promise<Sample[]>;
  queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<Series[]>;
  alerts(): Promise<Alert[]>;
  /** Resolves once every target of `job` has been scraped successfully after `since`. */
  scraped(job: string, since: Date): Promise<void>;
}

/**
 * The stack's Prometheus (started if it is not running: under testcontainers the run may have
 * none of its own). PROMETHEUS_URL, when given, must be this stack's: a test can only announce
 * targets to a Prometheus whose files it can reach.
 */
export async function testPrometheus(): Promise<TestPrometheus> {
  const config = readStackConfig(process.env);
  const url = `http://127.0.0.1:${config.prometheus.port}`;
  const given = process.env.PROMETHEUS_URL;
  if (given && given.replace(/\/+$/, '') !== url)
    throw new Error(
      `PROMETHEUS_URL is ${given}, but the stack's Prometheus (STACK_DIR=${config.dir}) is ${url}: ` +
        'this test announces its targets through that stack, so run it against the stack itself.',
    );
  if ((await status(config)).find((component) => component.name === 'prometheus')?.state !== 'ready')
    await up(config, ['prometheus']);
  const { targetsDir, rulesDir } = prometheusRunPaths(config);

  async function api(pathAndQuery: string, init?: RequestInit): Promise<unknown> {
    const response = await fetch(`${url}${pathAndQuery}`, { ...init, signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { status: string; data?: unknown; error?: string };
    if (!response.ok || body.status !== 'success')
      throw new Error(`Prometheus ${pathAndQuery}: ${response.status} ${body.error ?? ''}`);
    return body.data;
  }

  async function reload(): Promise<void> {
    const response = await fetch(`${url}/-/reload`, { method: 'POST' });
    if (!response.ok)
      throw new Error(`Prometheus refused to reload: ${response.status} ${await response.text()}`);
  }

  const number = (text: string): number => Number(text);

  return {
    url,
    announce(job, urls) {
      const file = path.join(targetsDir, `${job}.json`);
      const targets = urls.map((target) => new URL(target).host);
      // Written whole and renamed: Prometheus must never read half a file.
      fs.writeFileSync(`${file}.tmp`, JSON.stringify([{ targets, labels: { job } }]));
      fs.renameSync(`${file}.tmp`, file);
      return () => fs.rmSync(file, { force: true });
    },
    async loadRules(name, yaml) {
      const file = path.join(rulesDir, `${name}.yml`);
      fs.writeFileSync(file, yaml);
      await reload();
      return async () => {
        fs.rmSync(file, { force: true });
        await reload();
      };
    },
    async query(expr, at = new Date()) {
      const params = new URLSearchParams({ query: expr, time: String(at.getTime() / 1000) });
      const data = (await api(`/api/v1/query?${params}`)) as {
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[];
      };
      if (data.resultType !== 'vector') throw new Error(`${expr} is a ${data.resultType}, not a vector`);
      return data.result.map(({ metric, value }) => ({ metric, value: number(value[1]) }));
    },
    async queryRange(expr, start, end, stepSeconds) {
      const params = new URLSearchParams({
        query: expr,
        start: String(start.getTime() / 1000),
        end: String(end.getTime() / 1000),
        step: String(stepSeconds),
      });
      const data = (await api(`/api/v1/query_range?${params}`)) as {
        result: { metric: Record<string, string>; values: [number, string][] }[];
      };
      return data.result.map(({ metric, values }) => ({
        metric,
        values: values.map(([at, value]) => [at, number(value)] as const),
      }));
    },
    async alerts() {
      const data = (await api('/api/v1/alerts')) as { alerts: Alert[] };
      return data.alerts;
    },
    async scraped(job, since) {
      await waitFor(`Prometheus to scrape ${job}`, async () => {
        const data = (await api(`/api/v1/targets?state=active`)) as {
          activeTargets: { labels: Record<string, string>; health: string; lastScrape: string }[];
        };
        const mine = data.activeTargets.filter((target) => target.labels.job === job);
        return (
          mine.length > 0 &&
          mine.every((target) => target.health === 'up' && Date.parse(target.lastScrape) > since.getTime())
        );
      });
    },
  };
}

const durationUnits = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 } as const;
type DurationUnit = keyof typeof durationUnits;
const isUnit = (unit: string): unit is DurationUnit => unit in durationUnits;

/** A Prometheus duration (`30m`, `1h30m`, `500ms`) times `factor`, in milliseconds. */
export function scaleDuration(duration: string, factor: number): string {
  let seconds = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    if (amount === undefined || unit === undefined || !isUnit(unit))
      throw new Error(`not a duration: ${duration}`);
    seconds += Number(amount) * durationUnits[unit];
  }
  return `${Math.max(1, Math.round(seconds * factor * 1000))}ms`;
}

/**
 * A variant of rules.yml for tests, which cannot wait for the real `for:` durations and SLAs:
 * the named alerts only, every duration scaled by `factor` (in `for:`, range selectors, offsets
 * and duration labels such as `sla`), evaluated every second, labelled `variant: test`. Being
 * generated from the file itself, it tests the rule as written, not a copy of it.
 */
export function ruleVariant(source: string, alerts: readonly string[], factor: number): string {
  const parsed = parse(source) as { groups: { name: string; rules: Record<string, unknown>[] }[] };
  const scaleExpr = (expr: string): string =>
    expr
      .replace(
        /\[(\w+)(:\w*)?\]/g,
        (_all, range: string, step: string | undefined) => `[${scaleDuration(range, factor)}${step ?? ''}]`,
      )
      .replace(/offset (\w+)/g, (_all, duration: string) => `offset ${scaleDuration(duration, factor)}`);
  const groups = parsed.groups
    .map((group) => ({
      name: `${group.name}-test-variant`,
      interval: '1s',
      rules: group.rules
        .filter((rule) => typeof rule.alert === 'string' && alerts.includes(rule.alert))
        .map((rule) => {
          const labels = (rule.labels ?? {}) as Record<string, string>;
          return {
            ...rule,
            expr: scaleExpr(String(rule.expr)),
            ...(typeof rule.for === 'string' ? { for: scaleDuration(rule.for, factor) } : {}),
            labels: {
              ...labels,
              ...(labels.sla === undefined ? {} : { sla: scaleDuration(labels.sla, factor) }),
              variant: 'test',
            },
          };
        }),
    }))
    .filter((group) => group.rules.length > 0);
  return stringify({ groups });
}

/**
 * Health and lag tell the truth (issue 13, item 5): the lag a process exports is the broker's,
 * compared with what Kafka's own `kafka-consumer-groups --describe` prints for a group that has
 * committed lag and no active member; and `/ready` drops within seconds when the document store
 * hangs (SIGSTOP), and comes back when it resumes. The hung store is one of its own, started
 * from the native stack's install, so stopping it disturbs no other test.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { portIsOpen } from '@infra/stack/processes';
import { findJava } from '@infra/stack/prerequisites';
import { readPlatformConfig } from '@platform/config';
import { startPlatform, type RunningPlatform } from '@platform/host';
import { createLogger } from '@runtime/log';
import { trackingGroup } from '@services/tracking';
import { testAuthEnv } from '@test/harness/credentials';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { describeWithNativeInstalls, documentStore, nativeStack } from '@test/harness/native';
import { createTestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';

const endpoints = testEndpoints();
const run = promisify(execFile);

interface ToolRow {
  topic: string;
  partition: number;
  current: string;
  logEnd: string;
  lag: string;
}

/** Kafka's consumer-groups tool from the stack's own jars, as an operator would run it. */
async function describeGroup(group: string): Promise<{ text: string; rows: ToolRow[] }> {
  const libs = path.join(nativeStack.installDir, `kafka-${nativeStack.kafka.version}`, 'libs');
  const java = findJava(17, "Kafka's consumer-groups tool");
  const { stdout, stderr } = await run(
    java,
    [
      '-Xmx256m',
      '-cp',
      `${libs}/*`,
      'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
      '--bootstrap-server',
      endpoints.kafkaBrokers.join(','),
      '--describe',
      '--group',
      group,
    ],
    { timeout: 60_000 },
  );
  const text = `${stdout}${stderr}`;
  const rows = stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[0] === group && fields.length >= 6)
    .map(([, topic, partition, current, logEnd, lag]) => ({
      topic: String(topic),
      partition: Number(partition),
      current: String(current),
      logEnd: String(logEnd),
      lag: String(lag),
    }));
  return { text, rows };
}

/** `scm_consumer_lag` of one group from a process's `/metrics`, by `topic:partition`. */
async function exportedLag(url: string, group: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const lag = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^scm_consumer_lag\{([^}]*)\} (\S+)$/.exec(line);
    if (!match?.[1]) continue;
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (labels.group === group) lag.set(`${labels.topic}:${labels.partition}`, Number(match[2]));
  }
  return lag;
}

async function readiness(url: string): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`${url}/ready`);
  const body = (await response.json()) as { reasons: string[] };
  return { status: response.status, reasons: body.reasons };
}

describeWithNativeInstalls('truthful health and lag', () => {
  const kafka = new Kafka({
    clientId: 'health-and-lag-test',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer();

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  describe('lag of a group with no active member', () => {
    const deployment = createTestDeployment('lag');
    afterAll(() => deployment.stop());

    it('exports the committed lag Kafka’s consumer-groups tool shows', async () => {
      const platform = await deployment.start(['tracking']);
      const group = `${deployment.namespace}${trackingGroup}`;
      const topic = `${deployment.namespace}scm.inventory-events`;
      // Right after its creation a topic's leader may still move: asked again until it answers.
      const partitions = await waitFor('the topic to answer', async () =>
        (await admin.fetchTopicOffsets(topic)).map((offset) => offset.partition),
      );
      // Records tracking filters out by their header: committed without decoding, so the
      // group's offsets move without any handler in the way.
      const filtered = (partition: number, count: number) =>
        Array.from({ length: count }, (_, i) => ({
          partition,
          key: `k${i}`,
          value: 'x',
          headers: { 'event-type': 'StockReceived' },
        }));
      await producer.send({ topic, acks: -1, messages: partitions.flatMap((p) => filtered(p, 1)) });
      await waitFor('the group to commit one record on every partition', async () => {
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return committed?.partitions.every((p) => p.offset === '1');
      });

      // The consumer leaves its group while the process stays up; then the log grows.
      for (const runner of platform.contexts.flatMap((context) => context.runners)) await runner.stop();
      await producer.send({ topic, acks: -1, messages: partitions.flatMap((p) => filtered(p, p + 3)) });

      const tool = await describeGroup(group);
      expect(tool.text).toContain('has no active members');
      const mine = tool.rows.filter((row) => row.topic === topic);
      expect(mine.map((row) => [row.partition, row.current, row.lag]).sort()).toEqual(
        partitions.map((p) => [p, '1', String(p + 3)]).sort(),
      );
      const numeric = tool.rows.filter((row) => /^\d+$/.test(row.lag));
      const expected = new Map(numeric.map((row) => [`${row.topic}:${row.partition}`, Number(row.lag)]));
      const seen = await waitFor(
        'the exported lag to match the tool',
        async () => {
          const lag = await exportedLag(platform.metricsUrl, group);
          return [...expected].every(([key, value]) => lag.get(key) === value) && lag;
        },
        { timeoutMs: 20_000, intervalMs: 500 },
      );
      // Nothing else of the group lags: its other topics are empty.
      const total = [...seen.values()].reduce((sum, value) => sum + value, 0);
      expect(total).toBe([...expected.values()].reduce((sum, value) => sum + value, 0));
      expect(total).toBeGreaterThan(0);

      const ready = await readiness(platform.url);
      expect(ready.status).toBe(503);
      expect(ready.reasons.join('; ')).toContain(group);
    }, 120_000);
  });

  describe('a hung document store', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hung-store-'));
    const namespace = `${uniqueName('t-hang')}.`;
    let store: ChildProcess | undefined;
    let platform: RunningPlatform | undefined;

    afterAll(async () => {
      if (store?.pid) process.kill(store.pid, 'SIGCONT');
      await platform?.stop();
      store?.kill('SIGKILL');
      const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(namespace));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('makes /ready answer not ready within seconds, and ready again once it resumes', async () => {
      const port = await freePort();
      store = spawn(documentStore.binary, documentStore.args(dataDir, port), { stdio: 'ignore' });
      await waitFor('the store to listen', () => portIsOpen(port));
      const config = readPlatformConfig(
        { ...endpoints, mongoUrl: `mongodb://127.0.0.1:${port}/` },
        ['tracking'],
        {
          PORT: '0',
          ...testAuthEnv(),
          TOPIC_NAMESPACE: namespace,
          MONGO_DATABASE: 'hang',
          LOG_LEVEL: 'error',
        },
      );
      platform = await startPlatform(config, createLogger(config.logLevel));
      await platform.ready();
      const url = platform.url;
      expect(await readiness(url)).toEqual({ status: 200, reasons: [] });

      const pid = Number(store.pid);
      process.kill(pid, 'SIGSTOP');
      try {
        const down = await waitFor(
          '/ready to say not ready',
          async () => {
            const report = await readiness(url);
            return report.status === 503 && report;
          },
          { timeoutMs: 10_000, intervalMs: 250 },
        );
        expect(down.reasons.join('; ')).toMatch(/document store/);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await waitFor('/ready to say ready again', async () => (await readiness(url)).status === 200, {
        timeoutMs: 30_000,
        intervalMs: 250,
      });
    }, 120_000);
  });
});

/** A port the system just handed out: a fixed one may be taken by any client's socket. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

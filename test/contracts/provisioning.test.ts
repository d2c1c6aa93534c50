/**
 * Topic provisioning against the real broker: the catalogue is created with its partitions and
 * configs, a second run changes nothing, a config changed behind the catalogue's back is restored
 * (without resetting overrides the catalogue does not own), and partition drift is reported, never
 * applied. The library runs on prefixed copies of the catalogue (unique names, deleted after);
 * `npm run topics:provision` runs once end to end on the real catalogue names (idempotent, kept:
 * other tests and the platform use them) plus a unique dead-letter group.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import {
  desiredTopics,
  provisionTopics,
  type DesiredTopic,
  createTopicsWithLeaders,
} from '@contracts/provision';
import { deadLetterTopicName, topics } from '@contracts/topics';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';

const endpoints = testEndpoints();
const repoRoot = path.resolve(__dirname, '../..');
const run = promisify(execFile);

interface Described {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Record<string, string>;
}

async function describeTopics(admin: Admin, names: readonly string[]): Promise<Map<string, Described>> {
  const metadata = await admin.fetchTopicMetadata({ topics: [...names] });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const described = new Map<string, Described>();
  for (const topic of metadata.topics) {
    const entries = configs.resources.find((r) => r.resourceName === topic.name)?.configEntries ?? [];
    described.set(topic.name, {
      partitions: topic.partitions.length,
      replicationFactor: Math.max(...topic.partitions.map((p) => p.replicas.length)),
      config: Object.fromEntries(entries.map((entry) => [entry.configName, entry.configValue])),
    });
  }
  return described;
}

/** What the broker holds for `topic`, reduced to what the catalogue declares. */
function asDeclared(topic: DesiredTopic, described: Described | undefined): unknown {
  return {
    partitions: described?.partitions,
    replicationFactor: described?.replicationFactor,
    config: Object.fromEntries(Object.keys(topic.config).map((name) => [name, described?.config[name]])),
  };
}

function declared(topic: DesiredTopic): unknown {
  return { partitions: topic.partitions, replicationFactor: topic.replicationFactor, config: topic.config };
}

describe('topic provisioning against the real broker', () => {
  const kafka = new Kafka({
    clientId: 'provisioning-test',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const created = new Set<string>();

  // The catalogue under unique names: same partitions, cleanup and retention, plus one dead-letter topic.
  const prefix = `${uniqueName('provisioning')}.`;
  const group = uniqueName('provisioning-group');
  const desired = desiredTopics(
    { replicationFactor: 1, deadLetterGroups: [group] },
    topics.map((topic) => ({ ...topic, name: `${prefix}${topic.name}` })),
  );
  const names = desired.map((topic) => topic.name);

  beforeAll(async () => {
    await admin.connect();
  });

  afterAll(async () => {
    if (created.size > 0) await admin.deleteTopics({ topics: [...created], timeout: 30_000 });
    await admin.disconnect();
  });

  it('creates the catalogue with its partitions and configs, and a second run changes nothing', async () => {
    names.forEach((name) => created.add(name));
    const first = await provisionTopics(admin, desired);
    expect(first.drift).toEqual([]);
    expect(first.actions.map((action) => action.kind)).toEqual(names.map(() => 'create'));

    const second = await provisionTopics(admin, desired);
    expect(second).toEqual({ actions: names.map((name) => ({ kind: 'unchanged', name })), drift: [] });

    const described = await describeTopics(admin, names);
    for (const topic of desired)
      expect(asDeclared(topic, described.get(topic.name))).toEqual(declared(topic));
    // Spot checks against the declarations themselves, not only against desiredTopics' derivation.
    const orders = described.get(`${prefix}order.events`);
    expect(orders?.partitions).toBe(6);
    expect(orders?.config['cleanup.policy']).toBe('delete');
    expect(orders?.config['retention.ms']).toBe(String(30 * 24 * 60 * 60 * 1000));
    expect(described.get(`${prefix}scm.inventory-events`)?.config['retention.ms']).toBe(
      String(7 * 24 * 60 * 60 * 1000),
    );
    expect(described.get(deadLetterTopicName(group))?.partitions).toBe(1);
  });

  it('restores a config changed behind its back and keeps overrides the catalogue does not own', async () => {
    const topic = desired[1];
    if (topic === undefined) throw new Error('the catalogue is empty');
    // An operator shortens retention and sets segment.ms (AlterConfigs replaces the whole set).
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic.name,
          configEntries: [
            ...Object.entries({ ...topic.config, 'retention.ms': '3600000' }).map(([name, value]) => ({
              name,
              value,
            })),
            { name: 'segment.ms', value: '7200000' },
          ],
        },
      ],
    });

    // On KRaft the change is acknowledged before the broker describes it (see provision.ts).
    await waitFor('the operator change to be visible', async () => {
      const config = (await describeTopics(admin, [topic.name])).get(topic.name)?.config;
      return config?.['retention.ms'] === '3600000' && config['segment.ms'] === '7200000';
    });

    const plan = await provisionTopics(admin, desired);
    expect(plan.drift).toEqual([]);
    expect(plan.actions.filter((action) => action.kind !== 'unchanged')).toEqual([
      {
        kind: 'alter-config',
        topic,
        changes: [{ name: 'retention.ms', from: '3600000', to: topic.config['retention.ms'] }],
      },
    ]);
    // provisionTopics returns once its change is visible: no wait here.
    const after = (await describeTopics(admin, [topic.name])).get(topic.name);
    expect(asDeclared(topic, after)).toEqual(declared(topic));
    expect(after?.config['segment.ms']).toBe('7200000');

    const again = await provisionTopics(admin, desired);
    expect(again.actions.every((action) => action.kind === 'unchanged')).toBe(true);
  });

  it('reports partition drift and does not apply it', async () => {
    const [template] = desired;
    if (template === undefined) throw new Error('the catalogue is empty');
    const fewer: DesiredTopic = { ...template, name: uniqueName('provisioning-fewer') };
    const more: DesiredTopic = { ...template, name: uniqueName('provisioning-more') };
    created.add(fewer.name);
    created.add(more.name);
    // Created by someone else with the wrong partition count and broker-default configs.
    await createTopicsWithLeaders(admin, {
      topics: [
        { topic: fewer.name, numPartitions: 2, replicationFactor: 1 },
        { topic: more.name, numPartitions: 8, replicationFactor: 1 },
      ],
    });

    const plan = await provisionTopics(admin, [fewer, more]);
    expect(plan.drift).toEqual([
      expect.objectContaining({ topic: fewer.name, setting: 'partitions', desired: 6, actual: 2 }),
      expect.objectContaining({ topic: more.name, setting: 'partitions', desired: 6, actual: 8 }),
    ]);
    expect(plan.drift[0]?.why).toMatch(/breaks per-order ordering/);
    expect(plan.drift[1]?.why).toMatch(/cannot remove partitions/);

    const described = await describeTopics(admin, [fewer.name, more.name]);
    expect(described.get(fewer.name)?.partitions).toBe(2);
    expect(described.get(more.name)?.partitions).toBe(8);
    // What can be changed safely still is: the configs now follow the catalogue.
    expect(described.get(fewer.name)?.config['retention.ms']).toBe(template.config['retention.ms']);

    // Drift is reported on every run; it is never "fixed" by a later one.
    const again = await provisionTopics(admin, [fewer, more]);
    expect(again.drift.map((drift) => [drift.topic, drift.actual])).toEqual([
      [fewer.name, 2],
      [more.name, 8],
    ]);
    expect(again.actions.every((action) => action.kind === 'unchanged')).toBe(true);
  });

  it('npm run topics:provision provisions the real catalogue idempotently and exits 1 on drift', async () => {
    const cliGroup = uniqueName('provisioning-cli');
    const driftGroup = uniqueName('provisioning-cli-drift');
    const dlq = deadLetterTopicName(cliGroup);
    const driftDlq = deadLetterTopicName(driftGroup);
    created.add(dlq);
    created.add(driftDlq);
    const provision = (groups: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      run(
        'npm',
        [
          'run',
          '-s',
          'topics:provision',
          '--',
          '--brokers',
          endpoints.kafkaBrokers.join(','),
          '--dead-letter-groups',
          groups,
        ],
        { cwd: repoRoot, env: process.env, timeout: 90_000 },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({
          code: typeof error.code === 'number' ? error.code : -1,
          stdout: error.stdout ?? '',
          stderr: error.stderr ?? '',
        }),
      );

    // First run: the catalogue topics are created, or left/updated if an earlier run made them.
    const first = await provision(cliGroup);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const firstLines = first.stdout.trim().split('\n');
    expect(firstLines).toHaveLength(topics.length + 1);
    for (const topic of topics) {
      expect(firstLines).toContainEqual(
        expect.stringMatching(new RegExp(`^(created|unchanged|updated) ${topic.name}\\b`)),
      );
    }
    expect(firstLines).toContain(`created ${dlq}`);

    // Second run: nothing to do.
    const second = await provision(cliGroup);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout.trim().split('\n')).toEqual(
      [...topics.map((t) => t.name), dlq].map((n) => `unchanged ${n}`),
    );

    const catalogue = desiredTopics({ replicationFactor: 1, deadLetterGroups: [cliGroup] });
    const described = await describeTopics(
      admin,
      catalogue.map((topic) => topic.name),
    );
    for (const topic of catalogue)
      expect(asDeclared(topic, described.get(topic.name))).toEqual(declared(topic));

    // Drift: a dead-letter topic someone created with 3 partitions instead of 1.
    await createTopicsWithLeaders(admin, {
      topics: [{ topic: driftDlq, numPartitions: 3, replicationFactor: 1 }],
    });
    const drifted = await provision(driftGroup);
    expect(drifted.code).toBe(1);
    expect(drifted.stderr).toContain(`DRIFT ${driftDlq}: partitions is 3, catalogue says 1`);
    expect((await describeTopics(admin, [driftDlq])).get(driftDlq)?.partitions).toBe(3);
  });
});

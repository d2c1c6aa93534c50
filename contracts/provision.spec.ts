import {
  ConfigResourceTypes,
  type ConfigEntries,
  type DescribeConfigResponse,
  type IResourceConfig,
  type ResourceConfigQuery,
  type ITopicConfig,
  type ITopicMetadata,
} from 'kafkajs';
import {
  clusterReplicationFactor,
  desiredTopics,
  parseReplicationSetting,
  planTopics,
  provisionTopics,
  type DesiredTopic,
  type ObservedTopic,
  type TopicAdmin,
} from './provision';
import { replication, replicationFor, topics } from './topics';

const orders: DesiredTopic = {
  name: 'order.events',
  partitions: 6,
  replicationFactor: 1,
  config: { 'cleanup.policy': 'delete', 'retention.ms': '2592000000' },
};

const observed = (overrides: Partial<ObservedTopic> = {}): Map<string, ObservedTopic> =>
  new Map([
    [
      'order.events',
      {
        name: 'order.events',
        partitions: 6,
        replicationFactor: 1,
        config: { 'cleanup.policy': 'delete', 'retention.ms': '2592000000', 'segment.ms': '604800000' },
        ...overrides,
      },
    ],
  ]);

describe('desiredTopics', () => {
  it('derives every catalogue topic and the requested dead-letter topics', () => {
    const desired = desiredTopics({ replicationFactor: 3, deadLetterGroups: ['inventory'] });
    expect(desired.map((topic) => topic.name)).toEqual([
      ...topics.map((topic) => topic.name),
      'inventory.dlq',
    ]);
    expect(desired[0]).toEqual({
      name: 'order.events',
      partitions: 6,
      replicationFactor: 3,
      config: {
        'cleanup.policy': 'delete',
        'retention.ms': String(30 * 24 * 60 * 60 * 1000),
        'min.insync.replicas': '2',
        'message.timestamp.type': 'CreateTime',
      },
    });
    expect(desired[desired.length - 1]).toMatchObject({ name: 'inventory.dlq', partitions: 1 });
  });

  it('requires one in-sync replica only when there are fewer than three', () => {
    const [first] = desiredTopics({ replicationFactor: 1 });
    expect(first?.config['min.insync.replicas']).toBe('1');
  });
});

describe('replication per environment', () => {
  it('is three copies with two in sync on a cluster, one and one on a single broker', () => {
    expect(replicationFor(3)).toEqual(replication.cluster);
    expect(replicationFor(1)).toEqual(replication.singleBroker);
    expect(replication).toEqual({
      singleBroker: { replicationFactor: 1, minInSyncReplicas: 1 },
      cluster: { replicationFactor: 3, minInSyncReplicas: 2 },
    });
    // Two copies cannot require both: writes would stop whenever either broker is down.
    expect(replicationFor(2)).toEqual({ replicationFactor: 2, minInSyncReplicas: 1 });
    expect(replicationFor(5)).toEqual({ replicationFactor: 5, minInSyncReplicas: 2 });
    for (const factor of [1, 2, 3])
      expect(
        desiredTopics({ replicationFactor: factor }).map((t) => t.config['min.insync.replicas']),
      ).toEqual(topics.map(() => String(replicationFor(factor).minInSyncReplicas)));
  });

  it('is given as auto or a positive whole number', () => {
    expect(['auto', '1', '3', '0', '-1', '2.5', '', 'three'].map(parseReplicationSetting)).toEqual([
      'auto',
      1,
      3,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("auto is the cluster's default.replication.factor, asked of a live broker", async () => {
    const asked: unknown[] = [];
    const cluster = (defaultFactor: string | undefined) => ({
      describeCluster: async () => ({
        brokers: [{ nodeId: 2, host: 'h', port: 1 }],
        controller: 2,
        clusterId: 'c',
      }),
      describeConfigs: async (request: {
        resources: ResourceConfigQuery[];
      }): Promise<DescribeConfigResponse> => {
        asked.push(...request.resources);
        return {
          throttleTime: 0,
          resources: [
            {
              errorCode: 0,
              errorMessage: '',
              resourceName: '2',
              resourceType: ConfigResourceTypes.BROKER,
              configEntries: (defaultFactor === undefined
                ? []
                : [
                    { configName: 'default.replication.factor', configValue: defaultFactor },
                  ]) as ConfigEntries[],
            },
          ],
        };
      },
    });
    expect(await clusterReplicationFactor(cluster('3'))).toBe(3);
    expect(asked).toEqual([
      { type: ConfigResourceTypes.BROKER, name: '2', configNames: ['default.replication.factor'] },
    ]);
    expect(await clusterReplicationFactor(cluster('1'))).toBe(1);
    await expect(clusterReplicationFactor(cluster(undefined))).rejects.toThrow(/default.replication.factor/);
  });
});

describe('planTopics', () => {
  it('creates a missing topic', () => {
    expect(planTopics([orders], new Map())).toEqual({
      actions: [{ kind: 'create', topic: orders }],
      drift: [],
    });
  });

  it('leaves a matching topic alone, whatever else the broker reports', () => {
    expect(planTopics([orders], observed())).toEqual({
      actions: [{ kind: 'unchanged', name: 'order.events' }],
      drift: [],
    });
  });

  it('alters a config that differs', () => {
    const plan = planTopics(
      [orders],
      observed({ config: { 'cleanup.policy': 'compact', 'retention.ms': '2592000000' } }),
    );
    expect(plan.actions).toEqual([
      {
        kind: 'alter-config',
        topic: orders,
        changes: [{ name: 'cleanup.policy', from: 'compact', to: 'delete' }],
      },
    ]);
  });

  it('reports partitions and replication factor as drift rather than changing them', () => {
    const plan = planTopics([orders], observed({ partitions: 3, replicationFactor: 2 }));
    expect(plan.actions).toEqual([{ kind: 'unchanged', name: 'order.events' }]);
    expect(plan.drift).toEqual([
      expect.objectContaining({ topic: 'order.events', setting: 'partitions', desired: 6, actual: 3 }),
      expect.objectContaining({
        topic: 'order.events',
        setting: 'replication factor',
        desired: 1,
        actual: 2,
      }),
    ]);
    expect(plan.drift[0]?.why).toMatch(/breaks per-order ordering/);
  });
});

/** An in-memory broker that records what provisioning asks of it. */
class FakeAdmin implements TopicAdmin {
  readonly created: ITopicConfig[] = [];
  readonly altered: IResourceConfig[] = [];

  constructor(private readonly topics: Map<string, { partitions: number; config: Record<string, string> }>) {}

  async listTopics(): Promise<string[]> {
    return [...this.topics.keys()];
  }

  async fetchTopicMetadata(options?: { topics: string[] }): Promise<{ topics: ITopicMetadata[] }> {
    const names = options?.topics ?? [...this.topics.keys()];
    return {
      topics: names.map((name) => ({
        name,
        partitions: Array.from({ length: this.topics.get(name)?.partitions ?? 0 }, (_, partitionId) => ({
          partitionErrorCode: 0,
          partitionId,
          leader: 1,
          replicas: [1],
          isr: [1],
        })),
      })),
    };
  }

  async describeConfigs(configs: { resources: { name: string }[] }): Promise<DescribeConfigResponse> {
    return {
      throttleTime: 0,
      resources: configs.resources.map((resource) => ({
        resourceName: resource.name,
        resourceType: ConfigResourceTypes.TOPIC,
        errorCode: 0,
        errorMessage: '',
        configEntries: Object.entries(this.topics.get(resource.name)?.config ?? {}).map(
          ([configName, configValue]): ConfigEntries => ({
            configName,
            configValue,
            isDefault: false,
            configSource: 1,
            isSensitive: false,
            readOnly: false,
            configSynonyms: [],
          }),
        ),
      })),
    };
  }

  async createTopics(options: { topics: ITopicConfig[] }): Promise<boolean> {
    for (const topic of options.topics) {
      this.created.push(topic);
      const config = Object.fromEntries(
        (topic.configEntries ?? []).map((entry) => [entry.name, entry.value]),
      );
      this.topics.set(topic.topic, { partitions: topic.numPartitions ?? 1, config });
    }
    return true;
  }

  async alterConfigs(configs: { validateOnly: boolean; resources: IResourceConfig[] }): Promise<void> {
    for (const resource of configs.resources) {
      this.altered.push(resource);
      const config = Object.fromEntries(resource.configEntries.map((entry) => [entry.name, entry.value]));
      this.topics.set(resource.name, { partitions: this.topics.get(resource.name)?.partitions ?? 0, config });
    }
  }
}

describe('provisionTopics', () => {
  it('creates what is missing, re-sends the full config of what differs, and is idempotent', async () => {
    const admin = new FakeAdmin(
      new Map([['order.events', { partitions: 6, config: { 'cleanup.policy': 'compact' } }]]),
    );
    const desired = desiredTopics({ replicationFactor: 1 });

    const first = await provisionTopics(admin, desired);
    expect(admin.created.map((topic) => topic.topic)).toEqual(topics.slice(1).map((topic) => topic.name));
    // The non-incremental AlterConfigs API replaces the topic's config: every owned entry is sent.
    expect(admin.altered).toEqual([
      {
        type: ConfigResourceTypes.TOPIC,
        name: 'order.events',
        configEntries: Object.entries(desired[0]?.config ?? {}).map(([name, value]) => ({ name, value })),
      },
    ]);
    expect(first.drift).toEqual([]);

    const second = await provisionTopics(admin, desired);
    expect(second.actions.every((action) => action.kind === 'unchanged')).toBe(true);
    expect(admin.created).toHaveLength(topics.length - 1);
    expect(admin.altered).toHaveLength(1);
  });
});

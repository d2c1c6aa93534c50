/**
 * Creates and updates the catalogue's topics on a broker, idempotently: missing topics are
 * created, existing ones get their configuration set to the catalogue's, and what cannot be
 * changed safely is reported as drift instead of being forced.
 *
 * The decision is a pure function (`planTopics`) of the desired and observed topics; the kafkajs
 * part only observes and executes, so the rules are unit-tested without a broker.
 */
import { ConfigResourceTypes, ConfigSource, type Admin, type ITopicConfig } from 'kafkajs';
import {
  deadLetters,
  deadLetterTopicName,
  replicationFor,
  topics as catalogue,
  type TopicDeclaration,
} from './topics';

export interface DesiredTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Every dynamic config the catalogue owns, as Kafka strings. */
  readonly config: Readonly<Record<string, string>>;
}

export interface ObservedTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string | undefined>>;
  /**
   * The topic's own dynamic configs (source TOPIC_CONFIG, i.e. set on this topic rather than
   * inherited from the broker), including ones the catalogue does not own, e.g. an operator's
   * `segment.ms`. Absent when unknown.
   */
  readonly overrides?: Readonly<Record<string, string>>;
}

export interface ConfigChange {
  readonly name: string;
  readonly from: string | undefined;
  readonly to: string;
}

export type TopicAction =
  | { readonly kind: 'create'; readonly topic: DesiredTopic }
  | { readonly kind: 'alter-config'; readonly topic: DesiredTopic; readonly changes: readonly ConfigChange[] }
  | { readonly kind: 'unchanged'; readonly name: string };

export interface Drift {
  readonly topic: string;
  readonly setting: 'partitions' | 'replication factor';
  readonly desired: number;
  readonly actual: number;
  readonly why: string;
}

export interface TopicPlan {
  readonly actions: readonly TopicAction[];
  readonly drift: readonly Drift[];
}

export interface ProvisionOptions {
  /** 1 on a single local broker; 3 in a real cluster. */
  readonly replicationFactor: number;
  /** Consumer groups whose dead-letter topics (`<group>.dlq`) to provision as well. */
  readonly deadLetterGroups?: readonly string[];
}

/** A replication factor, or `auto`: the cluster's own default (see `clusterReplicationFactor`). */
export type ReplicationSetting = number | 'auto';

/**
 * The replication factor `auto` stands for: the cluster's `default.replication.factor`, which its
 * operator set for its size (the native stack: 1 on one node, 3 on a cluster; managed services: 3).
 * Not the number of brokers the cluster reports: that counts only the live ones, so a platform
 * (re)started while one broker of three is down would create topics with two copies, and lower
 * `min.insync.replicas` of the existing ones to 1 — a lasting loss of durability from a passing
 * outage. The default does not change while a broker is down.
 */
export async function clusterReplicationFactor(
  admin: Pick<Admin, 'describeCluster' | 'describeConfigs'>,
): Promise<number> {
  const { brokers } = await admin.describeCluster();
  const [broker] = brokers;
  if (broker === undefined) throw new Error('the cluster reports no broker');
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      {
        type: ConfigResourceTypes.BROKER,
        name: String(broker.nodeId),
        configNames: ['default.replication.factor'],
      },
    ],
  });
  const value = Number(
    resources[0]?.configEntries.find((entry) => entry.configName === 'default.replication.factor')
      ?.configValue,
  );
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`broker ${broker.nodeId} reports no default.replication.factor`);
  return value;
}

/** `auto` or a positive integer, as a command line or the environment gives it; undefined if neither. */
export function parseReplicationSetting(raw: string): ReplicationSetting | undefined {
  if (raw === 'auto') return 'auto';
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= 1 ? value : undefined;
}

/** `auto` resolved against the cluster; a number as it is. */
export async function resolveReplicationFactor(
  admin: Pick<Admin, 'describeCluster' | 'describeConfigs'>,
  setting: ReplicationSetting,
): Promise<number> {
  return setting === 'auto' ? clusterReplicationFactor(admin) : setting;
}

function topicConfig(
  cleanupPolicy: string,
  retentionMs: number,
  replicationFactor: number,
): Readonly<Record<string, string>> {
  return {
    'cleanup.policy': cleanupPolicy,
    'retention.ms': String(retentionMs),
    'min.insync.replicas': String(replicationFor(replicationFactor).minInSyncReplicas),
    // Timestamps are the producers' (when the event was produced), not the broker's append time.
    'message.timestamp.type': 'CreateTime',
  };
}

export function desiredTopic(topic: TopicDeclaration, replicationFactor: number): DesiredTopic {
  return {
    name: topic.name,
    partitions: topic.partitions,
    replicationFactor,
    config: topicConfig(topic.cleanupPolicy, topic.retentionMs, replicationFactor),
  };
}

export function desiredDeadLetterTopic(consumerGroup: string, replicationFactor: number): DesiredTopic {
  return {
    name: deadLetterTopicName(consumerGroup),
    partitions: deadLetters.partitions,
    replicationFactor,
    config: topicConfig(deadLetters.cleanupPolicy, deadLetters.retentionMs, replicationFactor),
  };
}

/** The catalogue's topics plus the requested dead-letter topics. */
export function desiredTopics(
  options: ProvisionOptions,
  topics: readonly TopicDeclaration[] = catalogue,
): DesiredTopic[] {
  return [
    ...topics.map((topic) => desiredTopic(topic, options.replicationFactor)),
    ...(options.deadLetterGroups ?? []).map((group) =>
      desiredDeadLetterTopic(group, options.replicationFactor),
    ),
  ];
}

export function planTopics(
  desired: readonly DesiredTopic[],
  observed: ReadonlyMap<string, ObservedTopic>,
): TopicPlan {
  const actions: TopicAction[] = [];
  const drift: Drift[] = [];
  for (const topic of desired) {
    const current = observed.get(topic.name);
    if (current === undefined) {
      actions.push({ kind: 'create', topic });
      continue;
    }
    if (current.partitions !== topic.partitions) {
      drift.push({
        topic: topic.name,
        setting: 'partitions',
        desired: topic.partitions,
        actual: current.partitions,
        why:
          current.partitions < topic.partitions
            ? 'adding partitions re-maps keys, which breaks per-order ordering for orders in flight: do it deliberately, while producers are stopped'
            : 'Kafka cannot remove partitions: the catalogue must follow the topic, or the topic be recreated',
      });
    }
    if (current.replicationFactor !== topic.replicationFactor) {
      drift.push({
        topic: topic.name,
        setting: 'replication factor',
        desired: topic.replicationFactor,
        actual: current.replicationFactor,
        why: 'changing it is a partition reassignment, an operation for a person, not for a provisioning command',
      });
    }
    const changes = Object.entries(topic.config)
      .filter(([name, value]) => current.config[name] !== value)
      .map(([name, value]) => ({ name, from: current.config[name], to: value }));
    actions.push(
      changes.length === 0
        ? { kind: 'unchanged', name: topic.name }
        : { kind: 'alter-config', topic, changes },
    );
  }
  return { actions, drift };
}

/** The admin operations provisioning needs (a narrow port, so a fake can stand in for tests). */
export type TopicAdmin = Pick<
  Admin,
  'listTopics' | 'fetchTopicMetadata' | 'describeConfigs' | 'createTopics' | 'alterConfigs'
>;

async function observe(admin: TopicAdmin, names: readonly string[]): Promise<Map<string, ObservedTopic>> {
  const existing = new Set(await admin.listTopics());
  const present = names.filter((name) => existing.has(name));
  const observed = new Map<string, ObservedTopic>();
  if (present.length === 0) return observed;
  const metadata = await admin.fetchTopicMetadata({ topics: [...present] });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  for (const topic of metadata.topics) {
    const resource = configs.resources.find((candidate) => candidate.resourceName === topic.name);
    const config: Record<string, string> = {};
    const overrides: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? []) {
      config[entry.configName] = entry.configValue;
      // Sensitive values come back as null and cannot be re-sent; topics have none.
      if (entry.configSource === ConfigSource.TOPIC_CONFIG && typeof entry.configValue === 'string') {
        overrides[entry.configName] = entry.configValue;
      }
    }
    observed.set(topic.name, {
      name: topic.name,
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((partition) => partition.replicas.length)),
      config,
      overrides,
    });
  }
  return observed;
}

function toTopicConfig(topic: DesiredTopic): ITopicConfig {
  return {
    topic: topic.name,
    numPartitions: topic.partitions,
    replicationFactor: topic.replicationFactor,
    configEntries: Object.entries(topic.config).map(([name, value]) => ({ name, value })),
  };
}

/** The catalogue's configs, then the topic's overrides of configs the catalogue does not own. */
function alteredConfig(topic: DesiredTopic, current: ObservedTopic | undefined): [string, string][] {
  const foreign = Object.entries(current?.overrides ?? {}).filter(([name]) => !(name in topic.config));
  return [...Object.entries(topic.config), ...foreign];
}

export interface ApplyOptions {
  /**
   * How long to wait for created topics to have leaders (`awaitLeaders`) and altered configs to
   * become visible (`awaitVisible`); 15 s by default.
   */
  readonly settleTimeoutMs?: number;
}

/**
 * Waits until the broker describes every altered topic with the catalogue's configs. On KRaft
 * (Kafka 4.x) AlterConfigs is acknowledged once the controller has committed the change, before
 * the broker answering DescribeConfigs has applied it: measured here, a describe right after the
 * acknowledgement still returned the old value for ~200 ms. Without this wait a second run
 * straight after the first re-plans the same alteration, and a caller that checks (or a
 * process that starts producing) right after provisioning sees the old settings.
 */
async function awaitVisible(
  admin: TopicAdmin,
  altered: readonly DesiredTopic[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const observed = await observe(
      admin,
      altered.map((topic) => topic.name),
    );
    const pending = planTopics(altered, observed).actions.flatMap((action) =>
      action.kind === 'unchanged' ? [] : [action.topic.name],
    );
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`topic configs altered but not visible after ${timeoutMs} ms: ${pending.join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until every partition of the created topics has a leader, as kafkajs's `waitForLeaders`
 * would, but asking again when a broker does not know a topic yet: on a cluster the metadata of a
 * topic the controller just created reaches the other brokers a little later, and kafkajs's own
 * wait fails on the first "does not host this topic-partition" (seen on the native three-node
 * cluster).
 */
async function awaitLeaders(
  admin: Pick<TopicAdmin, 'fetchTopicMetadata'>,
  names: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError: unknown;
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [...names] });
      const led = (name: string): boolean => {
        const partitions = topics.find((topic) => topic.name === name)?.partitions ?? [];
        return partitions.length > 0 && partitions.every((partition) => partition.leader >= 0);
      };
      if (names.every(led)) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`topics created but without leaders after ${timeoutMs} ms (${names.join(', ')})${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * `admin.createTopics({ waitForLeaders: true })` made robust: creates the topics, then waits for
 * every partition's leader with `awaitLeaders`, which asks again while a broker does not know a
 * topic yet instead of failing on the first "does not host this topic-partition" (which kafkajs's
 * own wait does on a cluster, and on one broker busy creating other topics). Resolves to false
 * when every topic existed already, as `createTopics` does.
 */
export async function createTopicsWithLeaders(
  admin: Pick<TopicAdmin, 'createTopics' | 'fetchTopicMetadata'>,
  options: { readonly topics: ITopicConfig[]; readonly timeoutMs?: number },
): Promise<boolean> {
  const created = await admin.createTopics({ topics: options.topics, waitForLeaders: false });
  await awaitLeaders(
    admin,
    options.topics.map((topic) => topic.topic),
    options.timeoutMs ?? 15_000,
  );
  return created;
}

/**
 * Observes, plans and applies; returns once the broker describes what it applied. Safe to run
 * any number of times, and concurrently: a topic another process created in the meantime makes
 * `createTopics` report it as existing, which is fine.
 */
export async function provisionTopics(
  admin: TopicAdmin,
  desired: readonly DesiredTopic[],
  options: ApplyOptions = {},
): Promise<TopicPlan> {
  const observed = await observe(
    admin,
    desired.map((topic) => topic.name),
  );
  const plan = planTopics(desired, observed);
  const creates = plan.actions.flatMap((action) =>
    action.kind === 'create' ? [toTopicConfig(action.topic)] : [],
  );
  if (creates.length > 0) {
    await admin.createTopics({ topics: creates, waitForLeaders: false });
    await awaitLeaders(
      admin,
      creates.map((topic) => topic.topic),
      options.settleTimeoutMs ?? 15_000,
    );
  }
  const alters = plan.actions.flatMap((action) => (action.kind === 'alter-config' ? [action.topic] : []));
  if (alters.length > 0) {
    // kafkajs implements only the non-incremental AlterConfigs API (IncrementalAlterConfigs is
    // "not implemented" in 2.2.4), which REPLACES a topic's dynamic config: send every config the
    // catalogue owns, never just the changed ones, plus the topic's other overrides as they are
    // (e.g. an operator's segment.ms), or those would silently fall back to broker defaults.
    await admin.alterConfigs({
      validateOnly: false,
      resources: alters.map((topic) => ({
        type: ConfigResourceTypes.TOPIC,
        name: topic.name,
        configEntries: alteredConfig(topic, observed.get(topic.name)).map(([name, value]) => ({
          name,
          value,
        })),
      })),
    });
    await awaitVisible(admin, alters, options.settleTimeoutMs ?? 15_000);
  }
  return plan;
}

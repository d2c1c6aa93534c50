/**
 * Creates and updates the catalogue's topics on a broker, idempotently: missing topics are
 * created, existing ones get their configuration set to the catalogue's, and what cannot be
 * changed safely is reported as drift instead of being forced.
 *
 * The decision is a pure function (`planTopics`) of the desired and observed topics; the kafkajs
 * part only observes and executes, so the rules are unit-tested without a broker.
 */
import { ConfigResourceTypes, type Admin, type ITopicConfig } from 'kafkajs';
import { deadLetters, deadLetterTopicName, topics as catalogue, type TopicDeclaration } from './topics';

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

/**
 * min.insync.replicas follows the replication factor: with 3 replicas a write needs 2 (one broker
 * may fail without losing acknowledged writes); with fewer, requiring more than 1 would make the
 * topic unwritable as soon as one broker is down.
 */
function minInSyncReplicas(replicationFactor: number): number {
  return replicationFactor >= 3 ? 2 : 1;
}

function topicConfig(
  cleanupPolicy: string,
  retentionMs: number,
  replicationFactor: number,
): Readonly<Record<string, string>> {
  return {
    'cleanup.policy': cleanupPolicy,
    'retention.ms': String(retentionMs),
    'min.insync.replicas': String(minInSyncReplicas(replicationFactor)),
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
    for (const entry of resource?.configEntries ?? []) config[entry.configName] = entry.configValue;
    observed.set(topic.name, {
      name: topic.name,
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((partition) => partition.replicas.length)),
      config,
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

/**
 * Observes, plans and applies. Safe to run any number of times, and concurrently: a topic another
 * process created in the meantime makes `createTopics` report it as existing, which is fine.
 */
export async function provisionTopics(
  admin: TopicAdmin,
  desired: readonly DesiredTopic[],
): Promise<TopicPlan> {
  const plan = planTopics(
    desired,
    await observe(
      admin,
      desired.map((topic) => topic.name),
    ),
  );
  const creates = plan.actions.flatMap((action) =>
    action.kind === 'create' ? [toTopicConfig(action.topic)] : [],
  );
  if (creates.length > 0) await admin.createTopics({ topics: creates, waitForLeaders: true });
  const alters = plan.actions.flatMap((action) => (action.kind === 'alter-config' ? [action.topic] : []));
  if (alters.length > 0) {
    // kafkajs implements only the non-incremental AlterConfigs API, which REPLACES a topic's
    // dynamic config: send every config the catalogue owns, never just the changed ones, or the
    // others would fall back to broker defaults.
    await admin.alterConfigs({
      validateOnly: false,
      resources: alters.map((topic) => ({
        type: ConfigResourceTypes.TOPIC,
        name: topic.name,
        configEntries: Object.entries(topic.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  return plan;
}

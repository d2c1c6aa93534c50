/**
 * What the Helm chart (`infra/k8s/scm-platform/`) must know of the code: every context with its
 * principal, consumer group, input topics and Kafka ACLs, and every topic with its partitions and
 * retention. Derived here from the same declarations the processes run on (the contexts'
 * subscriptions, the topic catalogue, `contextGrants`) and written into the chart as
 * `catalogue.yaml`, which the templates read with `.Files.Get`. `catalogue.spec.ts` fails when the
 * file is not what this module derives, so the chart cannot drift from the code; sizing and
 * everything an operator chooses stay in the chart's `values.yaml`.
 */
import { stringify } from 'yaml';
import { contextPrincipal, platformContexts, type PlatformContext } from '@contracts/principals';
import { desiredDeadLetterTopic, desiredTopic } from '@contracts/provision';
import { deadLetterTopicName, topics, type TopicDeclaration } from '@contracts/topics';
import { contextFactories } from '@platform/contexts';
import { contextGrants, type AclGrant, type AclOperation } from '@platform/kafka-acls';

/** A Strimzi `KafkaUser` ACL rule (kafka.strimzi.io/v1): one resource, its operations. */
export interface StrimziAcl {
  readonly resource:
    | { readonly type: 'topic' | 'group'; readonly name: string; readonly patternType: 'literal' | 'prefix' }
    | { readonly type: 'cluster' };
  readonly operations: readonly string[];
}

export interface CatalogueContext {
  readonly name: PlatformContext;
  readonly principal: string;
  readonly group: string;
  readonly inputs: readonly string[];
  /**
   * The most instances that can share the group's work: the largest partition count among its
   * input topics. A partition is read by one member of a group at a time, so an instance beyond
   * it gets no partition of any topic that has fewer.
   */
  readonly maxReplicas: number;
  readonly writes: readonly string[];
  /** Names without the deployment's TOPIC_NAMESPACE; the chart prefixes them (never the cluster). */
  readonly acls: readonly StrimziAcl[];
}

export interface CatalogueTopic {
  readonly name: string;
  readonly partitions: number;
  /** The topic's own configs, without `min.insync.replicas`, which follows the replication factor. */
  readonly config: Readonly<Record<string, string>>;
}

export interface DeploymentCatalogue {
  readonly contexts: readonly CatalogueContext[];
  readonly topics: readonly CatalogueTopic[];
  /** One per consumer group: `<group>.dlq`. */
  readonly deadLetterTopics: readonly CatalogueTopic[];
}

const strimziOperations: Record<AclOperation, string> = {
  read: 'Read',
  write: 'Write',
  create: 'Create',
  delete: 'Delete',
  describe: 'Describe',
  'describe-configs': 'DescribeConfigs',
  'idempotent-write': 'IdempotentWrite',
};

/** The grants of one principal as Strimzi rules: one rule per resource, operations in the code's order. */
export function strimziAcls(grants: readonly AclGrant[]): StrimziAcl[] {
  const rules = new Map<string, { resource: StrimziAcl['resource']; operations: string[] }>();
  for (const grant of grants) {
    const key = `${grant.resource}\u0000${grant.pattern}\u0000${grant.name}`;
    const resource: StrimziAcl['resource'] =
      grant.resource === 'cluster'
        ? { type: 'cluster' }
        : {
            type: grant.resource,
            name: grant.name,
            patternType: grant.pattern === 'literal' ? 'literal' : 'prefix',
          };
    const rule = rules.get(key) ?? { resource, operations: [] };
    rule.operations.push(strimziOperations[grant.operation]);
    rules.set(key, rule);
  }
  return [...rules.values()];
}

/** Without the replication-dependent setting: the chart computes it from its replication factor. */
function topicEntry(
  name: string,
  partitions: number,
  config: Readonly<Record<string, string>>,
): CatalogueTopic {
  const own = Object.entries(config).filter(([key]) => key !== 'min.insync.replicas');
  return { name, partitions, config: Object.fromEntries(own) };
}

function partitionsOf(name: string): number {
  const topic = topics.find((candidate: TopicDeclaration) => candidate.name === name);
  if (topic === undefined) throw new Error(`${name} is no topic of the catalogue`);
  return topic.partitions;
}

export function deploymentCatalogue(): DeploymentCatalogue {
  const contexts = platformContexts.map((name): CatalogueContext => {
    const factory = contextFactories[name];
    // One consumer group per context is what the chart's one ScaledObject per Deployment assumes.
    const [subscription, ...others] = factory.subscriptions;
    if (subscription === undefined || others.length > 0)
      throw new Error(
        `context ${name} has ${factory.subscriptions.length} consumer groups; the chart expects one`,
      );
    const principal = contextPrincipal(name);
    return {
      name,
      principal,
      group: subscription.group,
      inputs: [...subscription.topics],
      maxReplicas: Math.max(...subscription.topics.map(partitionsOf)),
      writes: topics.filter((topic) => topic.writer === name).map((topic) => topic.name),
      acls: strimziAcls(contextGrants([name], principal)),
    };
  });
  return {
    contexts,
    // The replication factor only changes min.insync.replicas, which topicEntry leaves out.
    topics: topics.map((topic) => {
      const desired = desiredTopic(topic, 1);
      return topicEntry(desired.name, desired.partitions, desired.config);
    }),
    deadLetterTopics: contexts.map(({ group }) => {
      const desired = desiredDeadLetterTopic(group, 1);
      return topicEntry(deadLetterTopicName(group), desired.partitions, desired.config);
    }),
  };
}

export const catalogueHeader = `# GENERATED by \`npm run k8s:catalogue\` (infra/k8s/catalogue.ts) from the contexts'
# subscriptions, the topic catalogue (contracts/topics.ts) and the derived ACLs
# (platform/kafka-acls.ts). Do not edit: infra/k8s/catalogue.spec.ts fails when it is stale.
# Names carry no TOPIC_NAMESPACE; the templates prefix them with .Values.topicNamespace.
`;

export function renderCatalogue(catalogue: DeploymentCatalogue = deploymentCatalogue()): string {
  return `${catalogueHeader}${stringify(catalogue, { lineWidth: 0 })}`;
}

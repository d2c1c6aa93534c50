/**
 * The broker's ACLs of a deployment, derived from the topic catalogue (who writes what) and the
 * contexts' subscriptions (which group reads what), never written by hand: a context reads only
 * its own groups' input topics and writes only its own topic, its dead-letter topics and its
 * retry levels. A process hosting several contexts authenticates as one principal with the union
 * of their rights (see the README, "Kafka security").
 */
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
  type AclEntry,
  type Admin,
} from 'kafkajs';
import {
  combinedPrincipal,
  contextPrincipal,
  platformContexts,
  type PlatformContext,
} from '@contracts/principals';
import {
  desiredTopics,
  provisionTopics,
  resolveReplicationFactor,
  type ReplicationSetting,
  type TopicAdmin,
  type TopicPlan,
} from '@contracts/provision';
import { topics } from '@contracts/topics';
import { contextFactories } from './contexts';

export type AclOperation =
  | 'read'
  | 'write'
  | 'create'
  | 'delete'
  | 'describe'
  | 'describe-configs'
  | 'idempotent-write';

/** One right of one principal on a topic or group name (or every name starting with it), or the cluster. */
export interface AclGrant {
  /** The user name; the broker's principal is `User:<principal>`. */
  readonly principal: string;
  readonly resource: 'topic' | 'group' | 'cluster';
  readonly pattern: 'literal' | 'prefixed';
  readonly name: string;
  readonly operation: AclOperation;
}

/**
 * The rights of the contexts hosted by one process, as `principal`, in a deployment whose topics
 * and groups carry `namespace` as prefix.
 */
export function contextGrants(
  contexts: readonly PlatformContext[],
  principal: string,
  namespace = '',
): AclGrant[] {
  const grants = new Map<string, AclGrant>();
  const grant = (
    resource: AclGrant['resource'],
    pattern: AclGrant['pattern'],
    name: string,
    operations: readonly AclOperation[],
  ): void => {
    for (const operation of operations) {
      const entry: AclGrant = { principal, resource, pattern, name, operation };
      grants.set(`${resource}\u0000${pattern}\u0000${name}\u0000${operation}`, entry);
    }
  };
  // Every process publishes with an idempotent producer (the outbox relay, dead letters): the
  // broker answers its InitProducerId only with IDEMPOTENT_WRITE on the cluster.
  if (contexts.length > 0) grant('cluster', 'literal', clusterResource, ['idempotent-write']);
  for (const context of contexts) {
    for (const { group, topics: inputs } of contextFactories[context].subscriptions) {
      const own = `${namespace}${group}`;
      grant('group', 'literal', own, ['read', 'describe']);
      // The retry companion of a consumer with retry levels (runtime/retry-topics.ts).
      grant('group', 'literal', `${own}.retry`, ['read', 'describe']);
      // The dead-letter admin's throwaway readers, deleted after each read.
      grant('group', 'prefixed', `${own}.dlq.`, ['read', 'describe', 'delete']);
      for (const input of inputs) grant('topic', 'literal', `${namespace}${input}`, ['read', 'describe']);
      // `<group>.dlq` and its compacted `<group>.dlq.handled`, which the admin creates on first use
      // with the dead-letter topic's retention; never a bare `<group>.` prefix: the order
      // context's group is `order`, and `order.status-updates` is another context's topic.
      grant('topic', 'prefixed', `${own}.dlq`, ['read', 'write', 'create', 'describe', 'describe-configs']);
      grant('topic', 'prefixed', `${own}.retry.`, ['read', 'write', 'describe']);
    }
    for (const topic of topics.filter(({ writer }) => writer === context))
      grant('topic', 'literal', `${namespace}${topic.name}`, ['write', 'describe']);
  }
  return [...grants.values()];
}

/**
 * Every principal of a deployment with its rights: one per context (`scm-<context>`, for
 * `npm run context -- <name>`) and the combined one (`scm-platform`, for `npm start`).
 */
export function deploymentGrants(namespace = ''): AclGrant[] {
  return [
    ...platformContexts.flatMap((context) => contextGrants([context], contextPrincipal(context), namespace)),
    ...contextGrants(platformContexts, combinedPrincipal, namespace),
  ];
}

/** Kafka's one cluster resource name. */
const clusterResource = 'kafka-cluster';

const resourceTypes: Record<AclGrant['resource'], AclResourceTypes> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  cluster: AclResourceTypes.CLUSTER,
};

const operationTypes: Record<AclOperation, AclOperationTypes> = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  create: AclOperationTypes.CREATE,
  delete: AclOperationTypes.DELETE,
  describe: AclOperationTypes.DESCRIBE,
  'describe-configs': AclOperationTypes.DESCRIBE_CONFIGS,
  'idempotent-write': AclOperationTypes.IDEMPOTENT_WRITE,
};

/** As kafkajs's `admin.createAcls` takes them: allowed from any host. */
export function aclEntries(grants: readonly AclGrant[]): AclEntry[] {
  return grants.map((grant) => ({
    resourceType: resourceTypes[grant.resource],
    resourceName: grant.name,
    resourcePatternType:
      grant.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
    principal: `User:${grant.principal}`,
    host: '*',
    operation: operationTypes[grant.operation],
    permissionType: AclPermissionTypes.ALLOW,
  }));
}

type AclAdmin = Pick<Admin, 'createAcls' | 'describeAcls'>;

/**
 * Creates the grants (creating an existing ACL is a no-op on the broker), and returns once the
 * broker's authorizer applies them: ACLs travel through the metadata log, so a client starting
 * right after the request could still be refused.
 */
export async function grantAcls(
  admin: AclAdmin,
  grants: readonly AclGrant[],
  timeoutMs = 30_000,
): Promise<void> {
  const entries = aclEntries(grants);
  // One request per few hundred bindings keeps each CreateAcls small.
  for (let start = 0; start < entries.length; start += 200)
    await admin.createAcls({ acl: entries.slice(start, start + 200) });
  const deadline = Date.now() + timeoutMs;
  for (const entry of entries) {
    for (;;) {
      const { resources } = await admin.describeAcls(entry);
      if (resources.some((resource) => resource.acls.length > 0)) break;
      if (Date.now() > deadline) throw new Error(`the broker did not apply the ACL ${JSON.stringify(entry)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * What an admin does before contexts that may not create topics start (`KAFKA_PROVISION=false`):
 * the catalogue's topics and every context's dead-letter topic under the namespace, then the
 * ACLs of every principal of the deployment.
 */
export async function provisionDeployment(
  admin: TopicAdmin & AclAdmin & Pick<Admin, 'describeCluster'>,
  options: { readonly namespace?: string; readonly replicationFactor?: ReplicationSetting } = {},
): Promise<TopicPlan> {
  const namespace = options.namespace ?? '';
  const groups = platformContexts.flatMap((context) =>
    contextFactories[context].subscriptions.map(({ group }) => `${namespace}${group}`),
  );
  const desired = desiredTopics({
    replicationFactor: await resolveReplicationFactor(admin, options.replicationFactor ?? 'auto'),
    deadLetterGroups: groups,
  }).map((topic) => (topic.name.endsWith('.dlq') ? topic : { ...topic, name: `${namespace}${topic.name}` }));
  const plan = await provisionTopics(admin, desired);
  await grantAcls(admin, deploymentGrants(namespace));
  return plan;
}

import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import {
  combinedPrincipal,
  contextPrincipal,
  platformContexts,
  principalFor,
  type PlatformContext,
} from '@contracts/principals';
import { topics } from '@contracts/topics';
import { contextFactories, contextNames } from './contexts';
import { aclEntries, contextGrants, deploymentGrants, type AclGrant, type AclOperation } from './kafka-acls';

const namespace = 't-acl-x1.';
const covers = (grant: AclGrant, name: string): boolean =>
  grant.pattern === 'literal' ? grant.name === name : name.startsWith(grant.name);

/** The catalogue topics (namespaced) a principal may do `operation` on. */
function catalogueTopics(grants: readonly AclGrant[], operation: AclOperation): string[] {
  return topics
    .map(({ name }) => `${namespace}${name}`)
    .filter((name) =>
      grants.some(
        (grant) => grant.resource === 'topic' && grant.operation === operation && covers(grant, name),
      ),
    )
    .sort();
}

const grantsOf = (context: PlatformContext): AclGrant[] =>
  contextGrants([context], contextPrincipal(context), namespace);

describe('the principals', () => {
  it('are one per context a process can host, and one for a process hosting several', () => {
    expect([...platformContexts].sort()).toEqual([...contextNames].sort());
    expect(principalFor(['inventory'])).toBe('scm-inventory');
    expect(principalFor(['inventory', 'production'])).toBe(combinedPrincipal);
    expect(principalFor(contextNames)).toBe(combinedPrincipal);
  });
});

describe('a context’s grants', () => {
  it('given inventory: it reads its two input topics and writes only scm.inventory-events', () => {
    const grants = grantsOf('inventory');
    expect(catalogueTopics(grants, 'read')).toEqual([
      `${namespace}scm.delivery-events`,
      `${namespace}scm.fulfilment-requests`,
    ]);
    expect(catalogueTopics(grants, 'write')).toEqual([`${namespace}scm.inventory-events`]);
    const groups = grants.filter((grant) => grant.resource === 'group' && grant.operation === 'read');
    expect(groups.map(({ pattern, name }) => `${pattern} ${name}`).sort()).toEqual([
      `literal ${namespace}inventory`,
      `literal ${namespace}inventory.retry`,
      `prefixed ${namespace}inventory.dlq.`,
    ]);
    expect(grants.every((grant) => grant.principal === 'scm-inventory')).toBe(true);
    // On the cluster, only what an idempotent producer needs: no create, alter or describe.
    expect(grants.filter((grant) => grant.resource === 'cluster')).toEqual([
      {
        principal: 'scm-inventory',
        resource: 'cluster',
        pattern: 'literal',
        name: 'kafka-cluster',
        operation: 'idempotent-write',
      },
    ]);
  });

  it.each(contextNames)(
    'given %s: it reads exactly its subscriptions’ topics and writes exactly the catalogue’s topics it writes',
    (context) => {
      const grants = grantsOf(context);
      const inputs = contextFactories[context].subscriptions.flatMap((subscription) => subscription.topics);
      expect(catalogueTopics(grants, 'read')).toEqual(
        [...new Set(inputs.map((t) => `${namespace}${t}`))].sort(),
      );
      expect(catalogueTopics(grants, 'write')).toEqual(
        topics
          .filter(({ writer }) => writer === context)
          .map(({ name }) => `${namespace}${name}`)
          .sort(),
      );
      // Its own dead-letter topic, its handled markers and its retry levels, and no one else's.
      for (const { group } of contextFactories[context].subscriptions) {
        for (const name of [`${group}.dlq`, `${group}.dlq.handled`, `${group}.retry.1`])
          expect(grants.some((g) => g.operation === 'write' && covers(g, `${namespace}${name}`))).toBe(true);
      }
    },
  );

  it('reach nothing of another context: no group, dead-letter or retry name of another, no wildcard', () => {
    for (const context of contextNames) {
      const others = contextNames
        .filter((other) => other !== context)
        .flatMap((other) => contextFactories[other].subscriptions)
        .flatMap(({ group }) =>
          [
            group,
            `${group}.retry`,
            `${group}.dlq`,
            `${group}.dlq.handled`,
            `${group}.dlq.reader-1`,
            `${group}.retry.1`,
          ].map((name) => `${namespace}${name}`),
        );
      for (const grant of grantsOf(context).filter(({ resource }) => resource !== 'cluster')) {
        expect(grant.name.startsWith(namespace)).toBe(true);
        expect(grant.name).not.toBe(namespace);
        expect(others.filter((name) => covers(grant, name))).toEqual([]);
      }
    }
  });

  it('every catalogue topic has exactly one writing context', () => {
    for (const { name } of topics) {
      const writers = contextNames.filter((context) =>
        catalogueTopics(grantsOf(context), 'write').includes(`${namespace}${name}`),
      );
      expect(writers).toHaveLength(1);
    }
  });
});

describe('a deployment’s grants', () => {
  it('give the combined principal the union of every context’s rights, and nothing more', () => {
    const all = deploymentGrants(namespace);
    const key = ({ resource, pattern, name, operation }: AclGrant): string =>
      `${resource} ${pattern} ${name} ${operation}`;
    const combined = new Set(all.filter((g) => g.principal === combinedPrincipal).map(key));
    const union = new Set(contextNames.flatMap((context) => grantsOf(context)).map(key));
    expect([...combined].sort()).toEqual([...union].sort());
    expect(new Set(all.map((g) => g.principal))).toEqual(
      new Set([combinedPrincipal, ...contextNames.map(contextPrincipal)]),
    );
  });

  it('without a namespace, name the catalogue’s own topics', () => {
    expect(
      contextGrants(['order'], 'scm-order').filter((g) => g.resource === 'topic' && g.pattern === 'literal'),
    ).toEqual(
      expect.arrayContaining([
        {
          principal: 'scm-order',
          resource: 'topic',
          pattern: 'literal',
          name: 'order.events',
          operation: 'write',
        },
        {
          principal: 'scm-order',
          resource: 'topic',
          pattern: 'literal',
          name: 'order.status-updates',
          operation: 'read',
        },
      ]),
    );
  });

  it('become kafkajs ACL entries allowed from any host', () => {
    expect(
      aclEntries([
        {
          principal: 'scm-order',
          resource: 'topic',
          pattern: 'prefixed',
          name: 'order.dlq',
          operation: 'write',
        },
      ]),
    ).toEqual([
      {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: 'order.dlq',
        resourcePatternType: ResourcePatternTypes.PREFIXED,
        principal: 'User:scm-order',
        host: '*',
        operation: AclOperationTypes.WRITE,
        permissionType: AclPermissionTypes.ALLOW,
      },
    ]);
  });
});

import fs from 'node:fs';
import { contextPrincipal } from '@contracts/principals';
import { topics } from '@contracts/topics';
import { contextFactories } from '@platform/contexts';
import { contextGrants } from '@platform/kafka-acls';
import { deploymentCatalogue, renderCatalogue, strimziAcls } from './catalogue';
import { catalogueFile } from './generate-catalogue';

describe('the chart catalogue', () => {
  it('is what the code derives (run npm run k8s:catalogue after changing contexts, topics or ACLs)', () => {
    expect(fs.readFileSync(catalogueFile, 'utf8')).toBe(renderCatalogue());
  });

  it('has every context with its one consumer group, inputs and principal', () => {
    const catalogue = deploymentCatalogue();
    expect(catalogue.contexts.map(({ name }) => name)).toEqual(Object.keys(contextFactories));
    const inventory = catalogue.contexts.find(({ name }) => name === 'inventory');
    expect(inventory).toMatchObject({
      principal: 'scm-inventory',
      group: contextFactories.inventory.subscriptions[0].group,
      inputs: ['scm.fulfilment-requests', 'scm.delivery-events'],
      writes: ['scm.inventory-events'],
    });
  });

  it('caps instances at the largest partition count among a group’s inputs', () => {
    const partitions = new Map<string, number>(topics.map((topic) => [topic.name, topic.partitions]));
    for (const context of deploymentCatalogue().contexts)
      expect(context.maxReplicas).toBe(
        Math.max(...context.inputs.map((topic) => partitions.get(topic) ?? 0)),
      );
  });

  it('leaves min.insync.replicas to the chart (it follows the replication factor) and keeps the rest', () => {
    const catalogue = deploymentCatalogue();
    const orderEvents = catalogue.topics.find(({ name }) => name === 'order.events');
    expect(orderEvents).toEqual({
      name: 'order.events',
      partitions: 6,
      config: {
        'cleanup.policy': 'delete',
        'retention.ms': String(30 * 24 * 60 * 60 * 1000),
        'message.timestamp.type': 'CreateTime',
      },
    });
    expect(catalogue.deadLetterTopics.map(({ name }) => name)).toContain('inventory.dlq');
    expect(catalogue.deadLetterTopics.every(({ partitions }) => partitions === 1)).toBe(true);
  });

  it('turns grants into Strimzi rules: one per resource, every operation kept', () => {
    const grants = contextGrants(['production'], contextPrincipal('production'));
    const rules = strimziAcls(grants);
    expect(rules.flatMap(({ operations }) => operations)).toHaveLength(grants.length);
    expect(rules).toContainEqual({ resource: { type: 'cluster' }, operations: ['IdempotentWrite'] });
    expect(rules).toContainEqual({
      resource: { type: 'topic', name: 'production.dlq', patternType: 'prefix' },
      operations: ['Read', 'Write', 'Create', 'Describe', 'DescribeConfigs'],
    });
    expect(rules).toContainEqual({
      resource: { type: 'topic', name: 'scm.production-events', patternType: 'literal' },
      operations: ['Write', 'Describe'],
    });
  });
});

import { resolve } from 'node:path';
import { checkCatalogue } from './generate';
import { groupByType, loadSchemaSet, readSchemaFiles } from './loader';
import { namedTypesIn } from './schema-model';
import {
  deadLetterTopicName,
  placementOf,
  subjectName,
  topicNamed,
  topics,
  writerContexts,
  type EventRoute,
  type TopicDeclaration,
} from './topics';

const { set, problems } = loadSchemaSet(readSchemaFiles(resolve(__dirname, '..')));
const routes = topics.flatMap((topic) => topic.events.map((route) => ({ topic, route })));

describe('the topic catalogue', () => {
  it('loads against the schemas without problems', () => {
    expect(problems).toEqual([]);
    expect(checkCatalogue(set, topics)).toEqual([]);
  });

  it('puts every event type in exactly one topic', () => {
    for (const type of groupByType(set.events).keys()) {
      expect([type, routes.filter(({ route }) => route.type === type).length]).toEqual([type, 1]);
    }
  });

  it('routes only event types that have schemas, under their record names', () => {
    for (const { route } of routes) {
      const versions = set.events.filter((event) => event.type === route.type);
      expect(versions.length).toBeGreaterThan(0);
      for (const event of versions) expect(event.fullName).toBe(route.record);
    }
  });

  it('gives every schema file a topic: each event version directly, each shared type through an event', () => {
    const routed = new Set<string>(routes.map(({ route }) => route.type));
    for (const event of set.events) expect([event.path, routed.has(event.type)]).toEqual([event.path, true]);
    const embedded = new Set(
      set.events
        .filter((event) => routed.has(event.type))
        .flatMap((event) => namedTypesIn(event.resolved).map((node) => node.fullName)),
    );
    for (const shared of set.shared)
      expect([shared.path, embedded.has(shared.fullName)]).toEqual([shared.path, true]);
  });

  it('has one writer per topic, one topic per writer, and only known writers', () => {
    const writers = topics.map((topic) => topic.writer);
    expect(new Set(writers).size).toBe(topics.length);
    for (const writer of writers) expect(writerContexts).toContain(writer);
  });

  it('keeps each vocabulary on its own side: order.* topics carry order events, scm.* topics scm events', () => {
    for (const { topic, route } of routes) {
      const vocabulary = set.events.find((event) => event.type === route.type)?.vocabulary;
      expect([route.type, vocabulary]).toEqual([route.type, topic.name.split('.')[0]]);
    }
  });

  it('keys events by a string field present in every version', () => {
    for (const { topic, route } of routes) {
      for (const event of set.events.filter((candidate) => candidate.type === route.type)) {
        const data = event.resolved.fields.find((field) => field.name === 'data')?.type;
        const key =
          data?.kind === 'record' ? data.fields.find((field) => field.name === route.keyField) : undefined;
        expect([topic.name, event.path, key?.type]).toEqual([
          topic.name,
          event.path,
          { kind: 'primitive', type: 'string', logical: undefined },
        ]);
      }
    }
  });

  it('names subjects <topic>-<record full name> (TopicRecordNameStrategy)', () => {
    expect(placementOf('OrderPlaced')).toEqual({
      topic: 'order.events',
      subject: 'order.events-com.scmplatform.order.OrderPlaced',
      keyField: 'orderId',
    });
    expect(placementOf('StockReceived')).toEqual({
      topic: 'scm.inventory-events',
      subject: subjectName('scm.inventory-events', 'com.scmplatform.scm.StockReceived'),
      keyField: 'sku',
    });
    expect(topicNamed('order.status-updates')?.writer).toBe('scm-order-adapter');
  });

  it('uses delete, not compact, and at least one partition everywhere', () => {
    for (const topic of topics) {
      expect(topic.cleanupPolicy).toBe('delete');
      expect(topic.partitions).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('dead-letter topics', () => {
  it('are named <group>.dlq', () => {
    expect(deadLetterTopicName('inventory')).toBe('inventory.dlq');
  });

  it('refuse a group name that cannot name a topic', () => {
    expect(() => deadLetterTopicName('inventory/eu')).toThrow(/cannot name a dead-letter topic/);
  });
});

describe('checkCatalogue', () => {
  const [orderEvents, fulfilment] = topics;
  if (orderEvents === undefined || fulfilment === undefined) throw new Error('catalogue is empty');

  it('reports an event type on two topics, one on none, and a writer of two topics', () => {
    const broken: TopicDeclaration[] = [
      ...topics,
      {
        ...fulfilment,
        name: 'scm.extra',
        events: [
          { type: 'OrderPlaced', record: 'com.scmplatform.order.OrderPlaced', keyField: 'customerId' },
          ...fulfilment.events,
        ],
      },
    ];
    const withoutReviews: TopicDeclaration[] = broken.map((topic) =>
      topic.name === 'order.events'
        ? { ...topic, events: topic.events.filter((route) => route.type !== 'OrderReviewed') }
        : topic,
    );
    expect(checkCatalogue(set, withoutReviews).map((problem) => problem.message)).toEqual([
      'OrderPlaced must be on exactly one topic, found order.events, scm.extra',
      'OrderReviewed must be on exactly one topic, found none',
      'FulfilmentCancelled must be on exactly one topic, found scm.fulfilment-requests, scm.extra',
      'FulfilmentDestinationChanged must be on exactly one topic, found scm.fulfilment-requests, scm.extra',
      'FulfilmentRejected must be on exactly one topic, found scm.fulfilment-requests, scm.extra',
      'FulfilmentRequested must be on exactly one topic, found scm.fulfilment-requests, scm.extra',
      'order-scm-adapter writes both scm.fulfilment-requests and scm.extra: one topic per writer',
    ]);
  });

  it('leaves wrong record names and key fields to the compiler', () => {
    const wrongKey: EventRoute = {
      type: 'CookingStarted',
      record: 'com.scmplatform.scm.CookingStarted',
      // @ts-expect-error -- `station` is nullable, so it cannot be the key
      keyField: 'station',
    };
    const wrongRecord: EventRoute = {
      type: 'OrderPlaced',
      // @ts-expect-error -- OrderPlaced is an order-vocabulary record
      record: 'com.scmplatform.scm.OrderPlaced',
      keyField: 'orderId',
    };
    // At run time the same mistakes are still caught, for a catalogue built from stale types.
    const withMistakes: TopicDeclaration[] = topics.map((topic) =>
      topic.name === 'scm.production-events'
        ? { ...topic, events: [wrongKey, wrongRecord, ...topic.events] }
        : topic,
    );
    expect(checkCatalogue(set, withMistakes).map((problem) => problem.message)).toEqual([
      'OrderPlaced must be on exactly one topic, found order.events, scm.production-events',
      'scm.production-events: CookingStarted v1 has no string field data.station for the key',
      'scm.production-events: OrderPlaced is com.scmplatform.order.OrderPlaced, not com.scmplatform.scm.OrderPlaced',
      'scm.production-events lists CookingStarted twice',
    ]);
  });
});

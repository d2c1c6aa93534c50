import path from 'node:path';
import {
  kafkaNodes,
  readStackConfig,
  stackEndpoints,
  stackVariables,
  testStackConfig,
  type StackConfig,
} from './config';
import { kafkaServerProperties } from './components';

const portsOf = (config: StackConfig): number[] => [
  config.kafka.port,
  config.kafka.controllerPort,
  config.registry.port,
  config.registry.managementPort,
  config.mongo.port,
  config.prometheus.port,
];

describe("the test suite's own stack", () => {
  // The user's environment as `npm start` and `npm test` would both see it: defaults, and a
  // user who moved their stack.
  it.each([
    ['the defaults', {}],
    [
      'a stack moved by STACK_* variables onto the default test ports',
      {
        STACK_DIR: '/tmp/mine',
        STACK_KAFKA_PORT: '19192',
        STACK_REGISTRY_PORT: '18181',
        STACK_MONGO_PORT: '17117',
        STACK_PROMETHEUS_PORT: '19190',
      },
    ],
  ])('differs from npm start’s in data directory and every port, given %s', (_, env) => {
    const user = readStackConfig(env);
    const suite = testStackConfig(env);
    expect(suite.dir).not.toBe(user.dir);
    expect(path.join(suite.dir, 'data')).not.toBe(path.join(user.dir, 'data'));
    expect(portsOf(suite).filter((port) => portsOf(user).includes(port))).toEqual([]);
    const [userEndpoints, suiteEndpoints] = [stackEndpoints(user), stackEndpoints(suite)];
    for (const name of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'MONGO_URL', 'PROMETHEUS_URL'])
      expect(suiteEndpoints[name]).not.toBe(userEndpoints[name]);
    // The installs are shared: a test run installs nothing the user's stack already has.
    expect(suite.installDir).toBe(user.installDir);
  });

  it('keeps every default port, the user’s and the suite’s, below the ephemeral range', () => {
    // Linux hands out 32768–60999 as source ports of outgoing connections; a listener there
    // can find its port taken by any client on the machine.
    const ephemeralFrom = 32768;
    for (const config of [readStackConfig({}), testStackConfig({})])
      expect(portsOf(config).filter((port) => port >= ephemeralFrom)).toEqual([]);
  });

  it('lives in .stack/test by default, and moves with TEST_STACK_DIR and TEST_STACK_*_PORT', () => {
    const suite = testStackConfig({});
    expect(suite.dir).toBe(path.join(readStackConfig({}).dir, 'test'));
    expect(portsOf(suite)).toEqual([19192, 19193, 18181, 18182, 17117, 19190]);
    const moved = testStackConfig({ TEST_STACK_DIR: '/tmp/suite', TEST_STACK_KAFKA_PORT: '51192' });
    expect(moved.dir).toBe('/tmp/suite');
    expect(moved.kafka.port).toBe(51192);
  });

  it('is what the STACK_* variables handed to the test workers describe', () => {
    const suite = testStackConfig({});
    expect(readStackConfig(stackVariables(suite))).toEqual(suite);
  });
});

const single = { id: 1, port: 19092, controllerPort: 19093 };
const singleNode = (adminPassword?: string): string =>
  kafkaServerProperties({ logDirs: '/d', node: single, voters: [single], adminPassword });

describe('the broker configuration', () => {
  const listeners = (properties: string): string[] =>
    properties
      .split('\n')
      .filter((line) => /^(advertised\.)?listeners=|^controller\.quorum\.voters=/.test(line))
      .flatMap((line) => line.slice(line.indexOf('=') + 1).split(','));

  it('binds every listener, advertised listener and controller to loopback, plaintext or secure', () => {
    for (const properties of [singleNode(), singleNode('secret')]) {
      expect(listeners(properties).length).toBe(4);
      for (const listener of listeners(properties)) expect(listener).toMatch(/(\/\/|@)127\.0\.0\.1:\d+$/);
    }
  });

  it('secure: SCRAM-SHA-512 for clients, the StandardAuthorizer, the admin the only super user', () => {
    const properties = singleNode('secret');
    expect(properties).toContain('listeners=SASL_PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(properties).toContain('listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512');
    expect(properties).toContain(
      'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    );
    expect(properties).toContain('super.users=User:admin\n');
    expect(properties).toContain('allow.everyone.if.no.acl.found=false');
    expect(properties).not.toContain('PLAINTEXT:PLAINTEXT');
    expect(singleNode()).not.toContain('authorizer');
  });

  it('single node: node 1, its own voter, one copy of everything', () => {
    expect(singleNode()).toContain('node.id=1\ncontroller.quorum.voters=1@127.0.0.1:19093\n');
    for (const setting of [
      'default.replication.factor=1',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'min.insync.replicas=1',
    ])
      expect(singleNode()).toContain(`${setting}\n`);
  });

  it('cluster: every node of the quorum a voter, three copies, two in sync', () => {
    const nodes = kafkaNodes(readStackConfig({ STACK_KAFKA_BROKERS: '3', STACK_DIR: '/tmp/none' }));
    const [, second] = nodes;
    if (second === undefined) throw new Error('three nodes expected');
    const text = kafkaServerProperties({ logDirs: '/d/2', node: second, voters: nodes });
    expect(text).toContain('node.id=2\n');
    expect(text).toContain(
      'controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19103,3@127.0.0.1:19113\n',
    );
    expect(text).toContain('listeners=PLAINTEXT://127.0.0.1:19102,CONTROLLER://127.0.0.1:19103\n');
    for (const setting of [
      'default.replication.factor=3',
      'offsets.topic.replication.factor=3',
      'transaction.state.log.replication.factor=3',
      'transaction.state.log.min.isr=2',
      'min.insync.replicas=2',
    ])
      expect(text).toContain(`${setting}\n`);
    expect(listeners(text).length).toBe(2 + 1 + 3);
    for (const listener of listeners(text)) expect(listener).toMatch(/(\/\/|@)127\.0\.0\.1:\d+$/);
  });

  it('reads STACK_KAFKA_SECURITY, and the test suite’s stack is always plaintext', () => {
    expect(readStackConfig({}).kafka.security).toBe('plaintext');
    expect(readStackConfig({ STACK_KAFKA_SECURITY: 'sasl' }).kafka.security).toBe('sasl');
    expect(() => readStackConfig({ STACK_KAFKA_SECURITY: 'tls' })).toThrow(/STACK_KAFKA_SECURITY/);
    expect(testStackConfig({ STACK_KAFKA_SECURITY: 'sasl' }).kafka.security).toBe('plaintext');
  });
});

describe('the Kafka nodes', () => {
  const config = (env: NodeJS.ProcessEnv): StackConfig => readStackConfig({ STACK_DIR: '/tmp/none', ...env });

  it('are one node named kafka by default, with a 768 MB heap', () => {
    expect(kafkaNodes(config({}))).toEqual([{ name: 'kafka', id: 1, port: 19092, controllerPort: 19093 }]);
    expect(config({}).kafka.heapMb).toBe(768);
    expect(stackEndpoints(config({})).KAFKA_BROKERS).toBe('127.0.0.1:19092');
  });

  it('of a cluster are kafka-1 … kafka-N, ten ports apart, 512 MB each, all listed as brokers', () => {
    const cluster = config({
      STACK_KAFKA_BROKERS: '3',
      STACK_KAFKA_PORT: '22092',
      STACK_KAFKA_CONTROLLER_PORT: '22093',
    });
    expect(kafkaNodes(cluster)).toEqual([
      { name: 'kafka-1', id: 1, port: 22092, controllerPort: 22093 },
      { name: 'kafka-2', id: 2, port: 22102, controllerPort: 22103 },
      { name: 'kafka-3', id: 3, port: 22112, controllerPort: 22113 },
    ]);
    expect(cluster.kafka.heapMb).toBe(512);
    expect(config({ STACK_KAFKA_BROKERS: '3', STACK_KAFKA_HEAP_MB: '384' }).kafka.heapMb).toBe(384);
    expect(stackEndpoints(cluster).KAFKA_BROKERS).toBe('127.0.0.1:22092,127.0.0.1:22102,127.0.0.1:22112');
  });

  it('refuse ports that would meet, naming both variables', () => {
    expect(() =>
      kafkaNodes(
        config({ STACK_KAFKA_BROKERS: '3', STACK_KAFKA_PORT: '19092', STACK_KAFKA_CONTROLLER_PORT: '19102' }),
      ),
    ).toThrow(/STACK_KAFKA_PORT 19092 and STACK_KAFKA_CONTROLLER_PORT 19102 .*port 19102 twice/);
  });

  it('are a single node in the test suite’s stack, whatever the user’s runs', () => {
    expect(testStackConfig({ STACK_KAFKA_BROKERS: '3' }).kafka.brokers).toBe(1);
  });
});

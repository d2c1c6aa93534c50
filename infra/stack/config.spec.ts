import path from 'node:path';
import { readStackConfig, stackEndpoints, stackVariables, testStackConfig, type StackConfig } from './config';
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

describe('the broker configuration', () => {
  const listeners = (properties: string): string[] =>
    properties
      .split('\n')
      .filter((line) => /^(advertised\.)?listeners=|^controller\.quorum\.voters=/.test(line))
      .flatMap((line) => line.slice(line.indexOf('=') + 1).split(','));

  it('binds every listener, advertised listener and controller to loopback, plaintext or secure', () => {
    for (const properties of [
      kafkaServerProperties('/d', 19092, 19093),
      kafkaServerProperties('/d', 19092, 19093, 'secret'),
    ]) {
      expect(listeners(properties).length).toBe(4);
      for (const listener of listeners(properties)) expect(listener).toMatch(/(\/\/|@)127\.0\.0\.1:\d+$/);
    }
  });

  it('secure: SCRAM-SHA-512 for clients, the StandardAuthorizer, the admin the only super user', () => {
    const properties = kafkaServerProperties('/d', 19092, 19093, 'secret');
    expect(properties).toContain('listeners=SASL_PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(properties).toContain('listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512');
    expect(properties).toContain(
      'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    );
    expect(properties).toContain('super.users=User:admin\n');
    expect(properties).toContain('allow.everyone.if.no.acl.found=false');
    expect(properties).not.toContain('PLAINTEXT:PLAINTEXT');
    expect(kafkaServerProperties('/d', 19092, 19093)).not.toContain('authorizer');
  });

  it('reads STACK_KAFKA_SECURITY, and the test suite’s stack is always plaintext', () => {
    expect(readStackConfig({}).kafka.security).toBe('plaintext');
    expect(readStackConfig({ STACK_KAFKA_SECURITY: 'sasl' }).kafka.security).toBe('sasl');
    expect(() => readStackConfig({ STACK_KAFKA_SECURITY: 'tls' })).toThrow(/STACK_KAFKA_SECURITY/);
    expect(testStackConfig({ STACK_KAFKA_SECURITY: 'sasl' }).kafka.security).toBe('plaintext');
  });
});

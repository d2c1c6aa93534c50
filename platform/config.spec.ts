import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readStackConfig } from '@infra/stack/config';
import {
  ConfigError,
  configurationReference,
  platformVariables,
  readKafkaSecurity,
  readPlatformConfig,
  resolveEndpoints,
  stackVariables,
  type Endpoints,
} from './config';

const given = {
  KAFKA_BROKERS: 'kafka-1:9092,kafka-2:9092',
  SCHEMA_REGISTRY_URL: 'http://registry:8081',
  MONGO_URL: 'mongodb://store:27017/',
};
const stackAnswer = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
  MONGO_URL: 'mongodb://127.0.0.1:17017/',
  PROMETHEUS_URL: 'http://127.0.0.1:19090',
};

/** Resolves endpoints with a stand-in for bringing the native stack up, counting the calls. */
async function resolve(env: NodeJS.ProcessEnv): Promise<{ endpoints: Endpoints; stackStarts: number }> {
  let stackStarts = 0;
  const endpoints = await resolveEndpoints(
    () => undefined,
    env,
    async () => {
      stackStarts += 1;
      return stackAnswer;
    },
  );
  return { endpoints, stackStarts };
}

describe('endpoints', () => {
  it('are taken from the environment when all three are given, and nothing is started', async () => {
    expect(await resolve(given)).toEqual({
      endpoints: {
        kafkaBrokers: ['kafka-1:9092', 'kafka-2:9092'],
        schemaRegistryUrl: 'http://registry:8081',
        mongoUrl: 'mongodb://store:27017/',
      },
      stackStarts: 0,
    });
  });

  it("are the native stack's, brought up, only when none is given", async () => {
    for (const env of [{}, { KAFKA_BROKERS: '', SCHEMA_REGISTRY_URL: '', MONGO_URL: '' }]) {
      expect(await resolve(env)).toEqual({
        endpoints: {
          kafkaBrokers: ['127.0.0.1:19092'],
          schemaRegistryUrl: stackAnswer.SCHEMA_REGISTRY_URL,
          mongoUrl: stackAnswer.MONGO_URL,
          prometheusUrl: stackAnswer.PROMETHEUS_URL,
        },
        stackStarts: 1,
      });
    }
  });

  it.each([
    [['KAFKA_BROKERS'], 'KAFKA_BROKERS is set but SCHEMA_REGISTRY_URL and MONGO_URL are not'],
    [['SCHEMA_REGISTRY_URL'], 'SCHEMA_REGISTRY_URL is set but KAFKA_BROKERS and MONGO_URL are not'],
    [['MONGO_URL'], 'MONGO_URL is set but KAFKA_BROKERS and SCHEMA_REGISTRY_URL are not'],
    [
      ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL'],
      'KAFKA_BROKERS and SCHEMA_REGISTRY_URL are set but MONGO_URL is not',
    ],
    [['KAFKA_BROKERS', 'MONGO_URL'], 'KAFKA_BROKERS and MONGO_URL are set but SCHEMA_REGISTRY_URL is not'],
    [
      ['SCHEMA_REGISTRY_URL', 'MONGO_URL'],
      'SCHEMA_REGISTRY_URL and MONGO_URL are set but KAFKA_BROKERS is not',
    ],
  ] as const)(
    'given only %j, are refused naming what is missing, and nothing is started',
    async (names, message) => {
      const env = Object.fromEntries(names.map((name) => [name, given[name]]));
      let started = false;
      const attempt = resolveEndpoints(
        () => undefined,
        env,
        async () => {
          started = true;
          return stackAnswer;
        },
      );
      await expect(attempt).rejects.toThrow(ConfigError);
      await expect(attempt).rejects.toThrow(
        `${message}: give all three endpoints, or none to run on the native local stack`,
      );
      expect(started).toBe(false);
    },
  );

  it('refuses a broker list that names no broker', async () => {
    await expect(resolve({ ...given, KAFKA_BROKERS: ' , ' })).rejects.toThrow(
      'KAFKA_BROKERS names no broker',
    );
  });
});

const endpoints: Endpoints = {
  kafkaBrokers: ['k:9092'],
  schemaRegistryUrl: 'http://r',
  mongoUrl: 'mongodb://m/',
};

describe('platform settings', () => {
  it('default as the reference says', () => {
    expect(readPlatformConfig(endpoints, ['order'], {})).toMatchObject({
      httpPort: 8080,
      httpHost: '127.0.0.1',
      database: 'scm_platform',
      topicNamespace: '',
      replicationFactor: 'auto',
      bodyLimitBytes: 65536,
      logLevel: 'info',
      order: { orderPlacedVersion: 2 },
      orderScmAdapter: { mappingRefreshMs: 2000 },
      autoAdvance: null,
      faults: { killAfterBatches: null, killPoint: 'write' },
      kafkaSessionTimeoutMs: 30000,
    });
    expect(readPlatformConfig(endpoints, ['order'], {}, { demo: true }).autoAdvance).toEqual({
      delayMs: 1500,
    });
    expect(
      readPlatformConfig(endpoints, ['order'], { AUTO_ADVANCE_MS: '0' }, { demo: true }).autoAdvance,
    ).toBeNull();
  });

  it('take a replication factor of auto or 1 to 5, and nothing else', () => {
    const factor = (value: string): unknown =>
      readPlatformConfig(endpoints, ['order'], { KAFKA_REPLICATION_FACTOR: value }).replicationFactor;
    expect([factor('auto'), factor('1'), factor('3'), factor('5')]).toEqual(['auto', 1, 3, 5]);
    for (const value of ['0', '6', '2.5', 'three', '-1'])
      expect(() => factor(value)).toThrow(
        new ConfigError(`KAFKA_REPLICATION_FACTOR must be auto or an integer from 1 to 5, got "${value}"`),
      );
  });

  const integers = Object.values(platformVariables).filter(
    (variable): variable is Extract<typeof variable, { kind: 'integer' }> => 'kind' in variable,
  );

  it.each(integers.map((variable) => [variable.name, variable] as const))(
    '%s: accepted from its minimum to its maximum, refused outside them, by name',
    (name, variable) => {
      for (const value of [variable.min, variable.max])
        expect(() => readPlatformConfig(endpoints, ['order'], { [name]: String(value) })).not.toThrow();
      for (const value of [variable.min - 1, variable.max + 1, variable.min + 0.5])
        expect(() => readPlatformConfig(endpoints, ['order'], { [name]: String(value) })).toThrow(
          new ConfigError(
            `${name} must be an integer from ${variable.min} to ${variable.max}, got "${value}"`,
          ),
        );
      expect(variable.range).toBe(`${variable.min}–${variable.max}`);
    },
  );

  it('refuses an unknown log level and a namespace with other characters', () => {
    expect(() => readPlatformConfig(endpoints, ['order'], { LOG_LEVEL: 'trace' })).toThrow(
      'LOG_LEVEL must be one of debug, info, warn, error, got "trace"',
    );
    expect(() => readPlatformConfig(endpoints, ['order'], { TOPIC_NAMESPACE: 'a/b' })).toThrow(
      /TOPIC_NAMESPACE/,
    );
  });
});

describe('the stack variables in the reference', () => {
  // An empty directory: a stack that runs a cluster there would make its size the default.
  const stack = readStackConfig({ STACK_DIR: mkdtempSync(path.join(tmpdir(), 'stack-defaults-')) });
  const reference = new Map(stackVariables.map((variable) => [variable.name, variable]));

  it("show readStackConfig's defaults", () => {
    const shown = (name: string): string | undefined => reference.get(name)?.default;
    expect({
      STACK_KAFKA_VERSION: stack.kafka.version,
      STACK_KAFKA_BROKERS: String(stack.kafka.brokers),
      STACK_KAFKA_PORT: String(stack.kafka.port),
      STACK_KAFKA_CONTROLLER_PORT: String(stack.kafka.controllerPort),
      STACK_KAFKA_HEAP_MB: String(stack.kafka.heapMb),
      STACK_REGISTRY_VERSION: stack.registry.version,
      STACK_REGISTRY_PORT: String(stack.registry.port),
      STACK_REGISTRY_MANAGEMENT_PORT: String(stack.registry.managementPort),
      STACK_REGISTRY_HEAP_MB: String(stack.registry.heapMb),
      STACK_MONGO_PORT: String(stack.mongo.port),
      STACK_PROMETHEUS_PORT: String(stack.prometheus.port),
      STACK_READY_TIMEOUT_MS: String(stack.readyTimeoutMs),
    }).toEqual(
      Object.fromEntries(
        [...reference.keys()]
          .filter((name) => /\d/.test(shown(name) ?? ''))
          // What follows the first number explains other cases ("768 (512 a node in a cluster)").
          .map((name) => [name, /^[\d.]+/.exec(shown(name) ?? '')?.[0]]),
      ),
    );
    const standard = readStackConfig({});
    expect(standard.dir).toBe(path.resolve(__dirname, '..', '.stack'));
    expect(standard.installDir).toBe(path.join(standard.dir, 'install'));
    expect(stack.prometheus.scrapeConfig).toBe(
      path.resolve(__dirname, '..', 'infra', 'prometheus', 'prometheus.native.yml'),
    );
  });

  it('show the ranges readStackConfig enforces', () => {
    const numeric = stackVariables.filter((variable) => /^\d+–\d+$/.test(variable.range));
    expect(numeric.length).toBeGreaterThan(8);
    for (const { name, range } of numeric) {
      const [min, max] = range.split('–').map(Number) as [number, number];
      for (const value of [min, max]) expect(() => readStackConfig({ [name]: String(value) })).not.toThrow();
      for (const value of [min - 1, max + 1])
        expect(() => readStackConfig({ [name]: String(value) })).toThrow(name);
    }
  });
});

describe('the configuration reference', () => {
  it('names every variable the platform reads, and no other', async () => {
    const read = new Set<string>();
    const recording = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
      new Proxy(env, {
        get(target, name) {
          if (typeof name === 'string') read.add(name);
          return Reflect.get(target, name) as unknown;
        },
      });
    // Both ways to find the endpoints: given, and the native stack's (read as a start would).
    await resolveEndpoints(() => undefined, recording({ ...given }));
    await resolveEndpoints(
      () => undefined,
      recording({}),
      async (env) => {
        readStackConfig(env);
        return stackAnswer;
      },
    );
    readPlatformConfig(endpoints, ['order'], recording({}), { demo: true });
    expect([...read].sort()).toEqual(configurationReference.map((variable) => variable.name).sort());
  });

  it("is the README's configuration table, row for row", () => {
    const readme = readFileSync(path.resolve(__dirname, '..', 'README.md'), 'utf8');
    const from = readme.indexOf('\n## Configuration\n');
    const section = readme.slice(from, readme.indexOf('\n## ', from + 1)).split('\n');
    const first = section.findIndex((line) => line.startsWith('|'));
    const end = section.findIndex((line, i) => i > first && !line.startsWith('|'));
    const rows = section.slice(first + 2, end).map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
    expect(section[first]).toBe('| variable | default | range | meaning |');
    // On a difference, the expected rows are the README's table to write.
    expect(rows).toEqual(
      configurationReference.map(({ name, default: shown, range, meaning }) => [
        `\`${name}\``,
        shown,
        range,
        meaning,
      ]),
    );
  });
});

describe('Kafka security', () => {
  it('is plaintext without a user, SCRAM-SHA-512 with one, TLS when asked', () => {
    expect(readPlatformConfig(endpoints, ['order'], {}).kafkaSecurity).toEqual({});
    expect(
      readPlatformConfig(endpoints, ['order'], {
        KAFKA_SASL_USERNAME: 'scm-order',
        KAFKA_SASL_PASSWORD: 'pw',
      }).kafkaSecurity,
    ).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'scm-order', password: 'pw' } });
    expect(
      readKafkaSecurity({
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_TLS: 'true',
      }),
    ).toEqual({ tls: {}, sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' } });
  });

  it('refuses half a credential, an unknown mechanism and a CA file it cannot read, by name', () => {
    expect(() => readKafkaSecurity({ KAFKA_SASL_USERNAME: 'u' })).toThrow(/KAFKA_SASL_PASSWORD is not set/);
    expect(() => readKafkaSecurity({ KAFKA_SASL_PASSWORD: 'p' })).toThrow(/KAFKA_SASL_USERNAME is not/);
    expect(() => readKafkaSecurity({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/KAFKA_SASL_MECHANISM/);
    expect(() => readKafkaSecurity({ KAFKA_TLS: 'yes' })).toThrow(
      'KAFKA_TLS must be true or false, got "yes"',
    );
    expect(() => readKafkaSecurity({ KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' })).toThrow(
      /KAFKA_TLS_CA_FILE/,
    );
    expect(() => readPlatformConfig(endpoints, ['order'], { SCHEMA_REGISTRY_USERNAME: 'u' })).toThrow(
      /SCHEMA_REGISTRY_PASSWORD/,
    );
  });

  it("on the secure native stack, takes the hosted contexts' principal and provisions as its admin", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stack-credentials-'));
    const file = path.join(dir, 'credentials.json');
    writeFileSync(
      file,
      JSON.stringify({ users: { admin: 'a-pw', 'scm-platform': 'p-pw', 'scm-inventory': 'i-pw' } }),
    );
    try {
      const native = { ...endpoints, stackKafkaCredentials: file };
      const one = readPlatformConfig(native, ['inventory'], {});
      expect(one.kafkaSecurity.sasl).toEqual({
        mechanism: 'scram-sha-512',
        username: 'scm-inventory',
        password: 'i-pw',
      });
      expect(one.provisioning).toEqual({
        enabled: true,
        admin: { sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'a-pw' } },
      });
      expect(readPlatformConfig(native, ['inventory', 'order'], {}).kafkaSecurity.sasl?.username).toBe(
        'scm-platform',
      );
      expect(readPlatformConfig(native, ['inventory'], { KAFKA_PROVISION: 'false' }).provisioning).toEqual({
        enabled: false,
      });
      // Given credentials win over the stack's.
      expect(
        readPlatformConfig(native, ['inventory'], { KAFKA_SASL_USERNAME: 'x', KAFKA_SASL_PASSWORD: 'y' })
          .kafkaSecurity.sasl?.username,
      ).toBe('x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Kafka security against a real secure broker: a broker of the test's own, started through the
 * native stack's code with STACK_KAFKA_SECURITY=sasl (SCRAM-SHA-512 users made at format time,
 * the StandardAuthorizer, the admin the only super user), beside the run's registry and store.
 * The admin provisions the deployment and grants the ACLs derived from the catalogue; then every
 * context runs as its own principal and the whole journey passes, while the broker refuses a
 * context another context's group or topic, and a wrong password.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { adminPrincipal, contextPrincipal } from '@contracts/principals';
import { kafkaRunsSecure } from '@infra/stack/components';
import { kafkaCredentialsFile, readKafkaCredentials, readStackConfig } from '@infra/stack/config';
import { isRunning } from '@infra/stack/processes';
import { down, up } from '@infra/stack/stack';
import { contextNames, type ContextName } from '@platform/contexts';
import type { RunningPlatform } from '@platform/host';
import { provisionDeployment } from '@platform/kafka-acls';
import { kafkaClientSecurity, type KafkaSecurity } from '@runtime/kafka-security';
import { fullJourney, type UrlOf } from '@test/e2e/journey';
import { describeWithNativeInstalls, nativeStack } from '@test/harness/native';
import { createTestDeployment, type TestDeployment } from '@test/harness/platform';
import { listeningSockets, processesInGroups } from '@test/harness/sockets';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secure-kafka-'));
const stack = readStackConfig({
  ...process.env,
  STACK_DIR: dir,
  STACK_INSTALL_DIR: nativeStack.installDir,
  STACK_KAFKA_PORT: '61092',
  STACK_KAFKA_CONTROLLER_PORT: '61093',
  STACK_KAFKA_SECURITY: 'sasl',
});
const brokers = [`127.0.0.1:${stack.kafka.port}`];

describeWithNativeInstalls('Kafka with SCRAM users and ACLs', () => {
  let passwords: Readonly<Record<string, string>>;
  let deployment: TestDeployment;
  const platforms = new Map<ContextName, RunningPlatform>();
  const urlOf: UrlOf = (context) => {
    const platform = platforms.get(context);
    if (platform === undefined) throw new Error(`no platform hosts ${context}`);
    return platform.url;
  };
  const as = (user: string, password = passwords[user] ?? ''): KafkaSecurity => ({
    sasl: { mechanism: 'scram-sha-512', username: user, password },
  });
  const client = (security: KafkaSecurity, clientId: string): Kafka =>
    new Kafka({
      clientId,
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      ...kafkaClientSecurity(security),
    });

  beforeAll(async () => {
    await up(stack, ['kafka']);
    passwords = readKafkaCredentials(kafkaCredentialsFile(stack)).users;
    deployment = createTestDeployment('secure', { kafka: { brokers, security: as(adminPrincipal) } });
    const admin = client(as(adminPrincipal), 'secure-test-admin').admin();
    await admin.connect();
    try {
      await provisionDeployment(admin, { namespace: deployment.namespace });
    } finally {
      await admin.disconnect();
    }
    // Each context in its own platform, as its own principal, provisioning nothing itself.
    for (const name of contextNames)
      platforms.set(
        name,
        await deployment.start([name], {
          KAFKA_SASL_USERNAME: contextPrincipal(name),
          KAFKA_SASL_PASSWORD: passwords[contextPrincipal(name)] ?? '',
          KAFKA_PROVISION: 'false',
        }),
      );
  }, 150_000);

  afterAll(async () => {
    await deployment?.stop();
    await down(stack);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the broker secure, on loopback, with its passwords in a file only its owner reads', () => {
    expect(kafkaRunsSecure(stack)).toBe(true);
    expect(fs.statSync(kafkaCredentialsFile(stack)).mode & 0o777).toBe(0o600);
    const log = fs.readFileSync(path.join(dir, 'logs', 'kafka-prepare.log'), 'utf8');
    expect(Object.values(passwords).filter((password) => log.includes(password))).toEqual([]);
    const pid = Number(fs.readFileSync(path.join(dir, 'run', 'kafka.pid'), 'utf8'));
    expect(isRunning({ logs: '', run: path.join(dir, 'run') }, 'kafka')).toBe(true);
    const sockets = listeningSockets(processesInGroups([pid]));
    expect(new Set(sockets.map((socket) => `${socket.address}:${socket.port}`))).toEqual(
      new Set([`127.0.0.1:${stack.kafka.port}`, `127.0.0.1:${stack.kafka.controllerPort}`]),
    );
  });

  it('the whole journey passes with every context as its own principal: 주문 → 요리 → 픽업 → 포장 → 배송 → 전달완료', async () => {
    const { seen, timeline } = await fullJourney(urlOf);
    expect(seen).toEqual(['주문접수', '조리중', '픽업완료', '포장완료', '배송중', '배송완료']);
    expect(timeline).toMatchObject({ status: 'DELIVERED' });
  });

  it('npm start on the secure stack: one process, every context as scm-platform, provisioned by the stack’s admin', async () => {
    // As a process that brought the secure native stack up: nothing provisioned beforehand.
    const combined = createTestDeployment('secure-one', {
      kafka: { brokers, security: as(adminPrincipal), stackKafkaCredentials: kafkaCredentialsFile(stack) },
    });
    try {
      const platform = await combined.start(contextNames);
      const { seen } = await fullJourney(() => platform.url);
      expect(seen).toEqual(['주문접수', '조리중', '픽업완료', '포장완료', '배송중', '배송완료']);
    } finally {
      await combined.stop();
    }
  });

  it("refuses a context another context's consumer group: GROUP_AUTHORIZATION_FAILED", async () => {
    // kafkajs turns the broker's answer to FindCoordinator into "Failed to find group
    // coordinator"; the broker's own error code is in what it logs on the way.
    const refusals: string[] = [];
    const intruder = new Kafka({
      clientId: 'secure-test-intruder',
      brokers,
      logLevel: logLevel.DEBUG,
      logCreator:
        () =>
        ({ log }) => {
          const error: unknown = (log as { error?: unknown }).error;
          if (typeof error === 'object' && error !== null && 'type' in error)
            refusals.push(String(error.type));
        },
      retry: { retries: 0 },
      ...kafkaClientSecurity(as(contextPrincipal('inventory'))),
    });
    // Inventory may read scm.fulfilment-requests, but only in its own group.
    const consumer = intruder.consumer({
      groupId: `${deployment.namespace}production`,
      retry: { retries: 0, restartOnFailure: async () => false },
    });
    await expect(joinAndRead(consumer, `${deployment.namespace}scm.fulfilment-requests`)).rejects.toThrow();
    expect(refusals).toContain('GROUP_AUTHORIZATION_FAILED');
    expect(refusals).not.toContain('TOPIC_AUTHORIZATION_FAILED');
  });

  it('refuses a context a topic it does not consume, even in its own group: TOPIC_AUTHORIZATION_FAILED', async () => {
    const consumer = client(as(contextPrincipal('inventory')), 'secure-test-intruder').consumer({
      groupId: `${deployment.namespace}inventory`,
      retry: { retries: 0, restartOnFailure: async () => false },
    });
    await expect(joinAndRead(consumer, `${deployment.namespace}order.events`)).rejects.toMatchObject({
      type: 'TOPIC_AUTHORIZATION_FAILED',
    });
  });

  it("refuses a context writing another context's topic: TOPIC_AUTHORIZATION_FAILED", async () => {
    const producer = client(as(contextPrincipal('inventory')), 'secure-test-forger').producer({
      retry: { retries: 0 },
    });
    await producer.connect();
    try {
      const forged = producer.send({
        topic: `${deployment.namespace}scm.production-events`,
        messages: [{ key: 'ORD-FORGED', value: 'not a kitchen event' }],
      });
      await expect(forged.catch(protocolError)).resolves.toMatchObject({
        type: 'TOPIC_AUTHORIZATION_FAILED',
      });
    } finally {
      await producer.disconnect();
    }
  });

  it('refuses a wrong password, and a client without SASL', async () => {
    const wrong = client(
      as(contextPrincipal('inventory'), `${passwords[contextPrincipal('inventory')]}x`),
      'wrong',
    ).admin();
    await expect(wrong.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
    const anonymous = client({}, 'anonymous').admin();
    try {
      await expect(anonymous.connect().then(() => anonymous.listTopics())).rejects.toThrow();
    } finally {
      await anonymous.disconnect();
    }
  });
});

/** Joins the group and waits for the first fetch; rejects with what the broker refused. */
async function joinAndRead(consumer: Consumer, topic: string): Promise<void> {
  const crashed = new Promise<never>((_, reject) =>
    consumer.on(consumer.events.CRASH, ({ payload }) => reject(protocolError(payload.error))),
  );
  const fetched = new Promise<void>((resolve) => consumer.on(consumer.events.FETCH_START, () => resolve()));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true }).catch((error: unknown) => {
      throw protocolError(error);
    });
    await consumer.run({ eachMessage: async () => undefined });
    await Promise.race([crashed, fetched]);
  } finally {
    await consumer.disconnect();
  }
}

/** kafkajs wraps the broker's error code in retry errors: the innermost one with a type. */
function protocolError(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if ('type' in current && typeof current.type === 'string') return current;
    current = 'originalError' in current ? current.originalError : current.cause;
  }
  return error;
}

/**
 * The native stack's three-broker cluster (`npm run stack -- up --brokers 3`), through the stack's
 * own functions, beside the test run's stack: it shares the cached installs but has its own ports
 * (22492/22493, 22502/22503, 22512/22513), data and pid files. The platform's topics get three
 * replicas and min.insync.replicas 2 from the cluster's own default; acks=all writes and reads
 * go on when the leader of a partition is SIGKILLed; the next `up` restarts that node, which
 * catches up; `down` leaves no process and no open port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { desiredTopics, provisionTopics, resolveReplicationFactor } from '@contracts/provision';
import { kafkaNodes, readStackConfig, stackEndpoints } from '@infra/stack/config';
import { isAlive, portIsOpen } from '@infra/stack/processes';
import { down, status, up } from '@infra/stack/stack';
import { contextFactories, contextNames } from '@platform/contexts';
import { describeWithNativeInstalls, nativeStack } from '@test/harness/native';
import { uniqueName } from '@test/harness/names';
import { waitFor } from '@test/harness/wait';

describeWithNativeInstalls('native stack: a three-broker cluster', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-cluster-'));
  const config = readStackConfig({
    ...process.env,
    STACK_DIR: dir,
    STACK_INSTALL_DIR: nativeStack.installDir,
    STACK_KAFKA_BROKERS: '3',
    STACK_KAFKA_PORT: '22492',
    STACK_KAFKA_CONTROLLER_PORT: '22493',
    STACK_KAFKA_SECURITY: 'plaintext',
  });
  const nodes = kafkaNodes(config);
  // The clients' warnings, kept to explain a wait that times out (a consumer that never came
  // back after the kill would otherwise fail with nothing but the timeout).
  const warnings: string[] = [];
  const kafka = new Kafka({
    clientId: 'stack-cluster-test',
    brokers: stackEndpoints(config).KAFKA_BROKERS?.split(',') ?? [],
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, log }) => {
        warnings.push(`${new Date().toISOString()} ${namespace} ${log.message}`);
      },
  });
  const waitWithWarnings = async <T>(
    description: string,
    probe: () => Promise<T | undefined | false> | T | undefined | false,
    timeoutMs: number,
  ): Promise<T> => {
    try {
      return await waitFor(description, probe, { timeoutMs });
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\nlast client warnings:\n${warnings.slice(-30).join('\n')}`,
      );
    }
  };
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  afterAll(async () => {
    for (const client of [consumer, producer, admin]) await client?.disconnect().catch(() => undefined);
    await down(config);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replicates the platform’s topics, keeps writing and reading through a broker’s death, and restarts it', async () => {
    const lines: string[] = [];
    await up(config, ['kafka'], (line) => lines.push(line));
    expect(lines.some((line) => line.includes('installing'))).toBe(false);
    const started = await status(config);
    expect(started.filter((row) => row.name.startsWith('kafka')).map((row) => [row.name, row.state])).toEqual(
      [
        ['kafka-1', 'ready'],
        ['kafka-2', 'ready'],
        ['kafka-3', 'ready'],
      ],
    );

    // The platform's topics, as a platform process provisions them (platform/host.ts): the
    // catalogue's and every context's dead-letter topic, replication from the cluster's default.
    admin = kafka.admin();
    await admin.connect();
    expect((await admin.describeCluster()).brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3]);
    const replicationFactor = await resolveReplicationFactor(admin, 'auto');
    expect(replicationFactor).toBe(3);
    const groups = contextNames.flatMap((name) =>
      contextFactories[name].subscriptions.map(({ group }) => group),
    );
    const desired = desiredTopics({ replicationFactor, deadLetterGroups: groups });
    await provisionTopics(admin, desired);
    const names = desired.map((topic) => topic.name);
    expect(names).toContain('order.events');
    expect(names).toContain('inventory.dlq');

    const metadata = await admin.fetchTopicMetadata({ topics: names });
    const replicaCounts = new Set(metadata.topics.flatMap((t) => t.partitions.map((p) => p.replicas.length)));
    expect([...replicaCounts]).toEqual([3]);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['min.insync.replicas'],
      })),
    });
    expect(
      new Set(
        configs.resources.flatMap((resource) => resource.configEntries.map((entry) => entry.configValue)),
      ),
    ).toEqual(new Set(['2']));

    // acks=all from an idempotent producer, read back by a consumer group.
    const topic = 'order.events';
    // Retries outlast the cluster's fencing of a dead broker (broker.session.timeout.ms, 9 s):
    // until then its partitions keep a leader nobody can reach, and kafkajs's default five
    // retries gave up first in a CI run (ECONNREFUSED on the killed node's port).
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      retry: { retries: 15, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
    await producer.connect();
    consumer = kafka.consumer({ groupId: uniqueName('stack-cluster') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value) seen.add(message.value.toString());
      },
    });
    const send = async (round: string): Promise<string[]> => {
      const values = Array.from({ length: 30 }, (_, index) => `${round}-${index}`);
      await producer?.send({
        topic,
        acks: -1,
        messages: values.map((value, index) => ({ key: `order-${index}`, value })),
      });
      return values;
    };
    const before = await send('before');
    await waitFor('the records written before the kill to be read', () => before.every((v) => seen.has(v)), {
      timeoutMs: 60_000,
    });

    // SIGKILL the leader of partition 0.
    const leaderOf = async (): Promise<{ leader: number; isr: number[] } | undefined> => {
      const [described] = (await admin?.fetchTopicMetadata({ topics: [topic] }))?.topics ?? [];
      const partition = described?.partitions.find((p) => p.partitionId === 0);
      return partition && { leader: partition.leader, isr: [...partition.isr].sort() };
    };
    const { leader: victimId } = (await leaderOf()) ?? { leader: -1 };
    const victim = nodes.find((node) => node.id === victimId);
    expect(victim).toBeDefined();
    const victimPid = started.find((row) => row.name === victim?.name)?.pid;
    expect(victimPid).toBeDefined();
    process.kill(Number(victimPid), 'SIGKILL');
    await waitFor('the killed broker to be gone', () => !isAlive(Number(victimPid)));
    expect((await status(config)).find((row) => row.name === victim?.name)?.state).toBe('crashed');

    // Two replicas of three are in sync: acks=all writes still succeed, and are read.
    const after = await send('after');
    await waitWithWarnings(
      'the records written after the kill to be read',
      () => after.every((v) => seen.has(v)),
      120_000,
    );
    const moved = await waitFor(
      'partition 0 to have another leader and the killed broker out of its ISR',
      async () => {
        const current = await leaderOf();
        return current && current.leader !== victimId && !current.isr.includes(victimId) && current;
      },
      { timeoutMs: 60_000 },
    );
    expect(moved.isr).toHaveLength(2);

    // The next `up` finds it dead and restarts it, leaving the others alone; it catches up.
    lines.length = 0;
    await up(config, ['kafka'], (line) => lines.push(line));
    expect(lines).toContain(`${victim?.name}: found dead (crashed or killed); restarting`);
    for (const node of nodes.filter((candidate) => candidate.id !== victimId))
      expect(lines).toContain(`${node.name}: already running at 127.0.0.1:${node.port}`);
    await waitFor(
      'the restarted broker back in the ISR of partition 0',
      async () => (await leaderOf())?.isr.includes(victimId),
      { timeoutMs: 90_000 },
    );
    expect(
      [...seen].filter((value) => value.startsWith('before-') || value.startsWith('after-')),
    ).toHaveLength(60);

    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
    [consumer, producer, admin] = [undefined, undefined, undefined];

    const pids = (await status(config)).flatMap((row) => (row.pid ? [row.pid] : []));
    expect(pids).toHaveLength(3);
    await down(config);
    expect(pids.filter(isAlive)).toEqual([]);
    const ports = nodes.flatMap((node) => [node.port, node.controllerPort]);
    expect(await Promise.all(ports.map((port) => portIsOpen(port)))).toEqual(ports.map(() => false));
    expect((await status(config)).map((row) => row.state)).toEqual(Array(6).fill('stopped'));
  }, 300_000);
});

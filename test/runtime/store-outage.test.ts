/**
 * A transient fault: the document store dies under a running consumer process and comes
 * back. The consumer retries with back-off (it neither exits nor dead-letters anything),
 * and once the store is back every event is applied exactly once. The store is a document
 * store of its own, started from the native stack's install, so killing it disturbs no other test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { portIsOpen } from '@infra/stack/processes';
import type { HeadDocument } from '@runtime/aggregate-store';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';
import { describeWithNativeInstalls, documentStore } from '@test/harness/native';
import { waitFor } from '@test/harness/wait';
import { spawnCountingWorker } from '@test/fixtures/spawn-worker';
import { createTopicsWithLeaders } from '@contracts/provision';

const endpoints = testEndpoints();
const storePort = 28027;

describeWithNativeInstalls('document store outage under a consumer', () => {
  const kafka = new Kafka({
    clientId: 'outage-test',
    brokers: endpoints.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const topic = uniqueName('outage');
  const group = uniqueName('outage-group');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outage-store-'));
  const storeUrl = `mongodb://127.0.0.1:${storePort}/?serverSelectionTimeoutMS=1000&socketTimeoutMS=2000`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true });
  const mongo = new MongoClient(storeUrl);
  const processes: ChildProcess[] = [];

  const startStore = async (): Promise<ChildProcess> => {
    const store = spawn(documentStore.binary, documentStore.args(dataDir, storePort), { stdio: 'ignore' });
    processes.push(store);
    await waitFor('the store to listen', () => portIsOpen(storePort));
    return store;
  };

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopicsWithLeaders(admin, {
      topics: [{ topic, numPartitions: 2 }, { topic: `${group}.dlq` }],
    });
  });

  afterAll(async () => {
    for (const child of processes)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await mongo.close().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, `${group}.dlq`] }).catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const total = async (): Promise<number> => {
    const documents = await mongo
      .db('outage')
      .collection<HeadDocument<{ n: number }>>('counts')
      .find()
      .toArray();
    return documents.reduce((sum, d) => sum + d.state.n, 0);
  };

  it('retries while the store is down and applies everything once it is back, dead-lettering nothing', async () => {
    const store = await startStore();
    await mongo.connect();
    const send = (from: number, count: number) =>
      producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, (_, i) => ({
          key: `k${(from + i) % 5}`,
          value: 'x',
          headers: { 'event-id': `e${from + i}` },
        })),
      });
    await send(0, 100);

    const worker = spawnCountingWorker({
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      MONGO_URL: storeUrl,
      TOPIC: topic,
      GROUP: group,
      DATABASE: 'outage',
    });
    processes.push(worker);
    let logs = '';
    worker.stdout?.on('data', (chunk: Buffer) => void (logs += chunk.toString()));
    const transientRetries = (): number =>
      logs.split('\n').filter((line) => line.includes('"code":"STORE_UNAVAILABLE"')).length;
    await waitFor('the first hundred applied', async () => (await total()) === 100, { timeoutMs: 60_000 });

    store.kill('SIGKILL');
    await waitFor('the store to be gone', async () => !(await portIsOpen(storePort)));
    await send(100, 100);
    // The worker sees the outage as transient and keeps retrying instead of exiting.
    await waitFor('three retries of a transient store failure', () => transientRetries() >= 3, {
      timeoutMs: 60_000,
    });
    expect(worker.exitCode).toBeNull();

    await startStore();
    await waitFor('all two hundred applied', async () => (await total()) === 200, { timeoutMs: 90_000 });
    const [deadLetters] = await admin.fetchTopicOffsets(`${group}.dlq`);
    expect(deadLetters?.high).toBe('0');
    worker.kill('SIGTERM');
  });
});

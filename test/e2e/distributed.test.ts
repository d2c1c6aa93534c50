/**
 * The same journey with each context in its own operating-system process, started with the
 * per-context command (`npm run context -- <name>`), and two instances of inventory sharing its
 * partitions. Only the URLs differ from the one-process run.
 */
import { platformContexts } from '@contracts/principals';
import { startContextProcess, type ContextProcess } from '@test/harness/context-process';
import { call, createTestDeployment } from '@test/harness/platform';
import { waitFor } from '@test/harness/wait';
import { fullJourney, placeOrder, receiveStock, type ContextName, type UrlOf } from './journey';

const deployment = createTestDeployment('e2e-dist');
const processes: ContextProcess[] = [];
const urls = new Map<ContextName, string>();
const urlOf: UrlOf = (context) => {
  const url = urls.get(context);
  if (url === undefined) throw new Error(`no process serves ${context}`);
  return url;
};

/**
 * The surviving inventory instance gets the killed one's partitions once that one's session has
 * expired: a 10 s session (as the fault suite's: room for a late heartbeat on a loaded machine)
 * rather than the 30 s default.
 */
const inventorySession = { KAFKA_SESSION_TIMEOUT_MS: '10000' };

function startContext(name: ContextName): ContextProcess {
  const started = startContextProcess(name, deployment, name === 'inventory' ? inventorySession : {});
  processes.push(started);
  return started;
}

beforeAll(async () => {
  const names: ContextName[] = [...platformContexts, 'inventory'];
  // Two cores: three at a time (most of a start is waiting on the broker: topics, group joins)
  // rather than nine processes loading at once, or one after another.
  for (let next = 0; next < names.length; next += 3) {
    const batch = names.slice(next, next + 3).map((name) => startContext(name));
    for (const started of batch) {
      const url = await started.url;
      if (!urls.has(started.name)) urls.set(started.name, url);
    }
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((started) => started.stop()));
  await deployment.stop();
});

it('every context runs in its own process, inventory twice', () => {
  expect(processes.map((started) => started.name).sort()).toEqual([...platformContexts, 'inventory'].sort());
  expect(new Set(processes.map((started) => started.child.pid)).size).toBe(9);
});

it('the same journey passes: 주문 → 요리 → 픽업 → 포장 → 배송 → 전달완료', async () => {
  const { seen, timeline } = await fullJourney(urlOf);
  expect(seen).toEqual(['주문접수', '조리중', '픽업완료', '포장완료', '배송중', '배송완료']);
  expect(timeline).toMatchObject({ status: 'DELIVERED' });
});

it('both inventory instances share the work, and the last units are never over-reserved', async () => {
  await receiveStock(urlOf, 'SKU-KIMCHI-JJIGAE', 4);
  await receiveStock(urlOf, 'SKU-RICE-210G', 50);
  const orders = await Promise.all(
    Array.from({ length: 10 }, () =>
      placeOrder(urlOf, [{ productCode: 'PRD-KIMCHI-JJIGAE', quantity: 1, unitPrice: 8000 }]),
    ),
  );
  const statuses = await waitFor(
    'every order decided',
    async () => {
      const found = await Promise.all(
        orders.map(async (orderId) =>
          String((await call(urlOf('order'), 'GET', `/orders/${orderId}`)).body.status),
        ),
      );
      return found.every((status) => status === 'RECEIVED' || status === 'WAITING_FOR_STOCK') && found;
    },
    { timeoutMs: 60_000 },
  );
  expect(statuses.filter((status) => status === 'RECEIVED')).toHaveLength(4);
  const stock = await call(urlOf('inventory'), 'GET', '/inventory/stock/SKU-KIMCHI-JJIGAE');
  expect(stock.body).toMatchObject({ onHand: 4, reserved: 4, available: 0 });

  // Each inventory process consumed part of the requests (they split the group's partitions).
  const inventories = processes.filter((started) => started.name === 'inventory');
  const processed = await Promise.all(
    inventories.map(async ({ metricsUrl }) => {
      const metrics = await (await fetch(`${await metricsUrl}/metrics`)).text();
      return metrics
        .split('\n')
        .filter(
          (line) => line.startsWith('scm_messages_processed_total') && line.includes('fulfilment-requests'),
        )
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    }),
  );
  expect(processed.every((count) => count > 0)).toBe(true);

  // One more unit arrives: the oldest waiting order goes on, whichever instance took the receipt.
  await receiveStock(urlOf, 'SKU-KIMCHI-JJIGAE', 1);
  await waitFor('a fifth order to be reserved', async () => {
    const after = await Promise.all(
      orders.map(async (orderId) =>
        String((await call(urlOf('order'), 'GET', `/orders/${orderId}`)).body.status),
      ),
    );
    return after.filter((status) => status === 'RECEIVED').length === 5;
  });
});

it('an inventory instance killed mid-burst loses nothing and reserves nothing twice', async () => {
  const before = (await call(urlOf('inventory'), 'GET', '/inventory/stock/SKU-KIMCHI-500G')).body;
  await receiveStock(urlOf, 'SKU-KIMCHI-500G', 100);
  const orders = await Promise.all(
    Array.from({ length: 20 }, () =>
      placeOrder(urlOf, [{ productCode: 'PRD-KIMCHI', quantity: 1, unitPrice: 12000 }], {
        customerId: 'BURST',
      }),
    ),
  );
  // SIGKILL: no drain, no commit; its partitions move to the other instance once its session
  // times out, and whatever it had applied but not committed is redelivered there.
  const victim = processes.filter((started) => started.name === 'inventory').at(-1);
  if (victim === undefined) throw new Error('no second inventory instance');
  victim.child.kill('SIGKILL');

  const statuses = await waitFor(
    'every order reserved by the surviving instance',
    async () => {
      const found = await Promise.all(
        orders.map(async (orderId) =>
          String((await call(urlOf('order'), 'GET', `/orders/${orderId}`)).body.status),
        ),
      );
      return found.every((status) => status === 'RECEIVED') && found;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  expect(statuses).toHaveLength(20);
  const stock = await call(urlOf('inventory'), 'GET', '/inventory/stock/SKU-KIMCHI-500G');
  expect(stock.body).toMatchObject({
    onHand: Number(before.onHand) + 100,
    reserved: Number(before.reserved) + 20,
    available: Number(before.available) + 80,
  });
  const reservedEvents = (await deployment.events('scm.inventory-events')).filter(
    (event) => event.type === 'StockReserved' && orders.includes(event.data.fulfilmentId),
  );
  expect(reservedEvents).toHaveLength(20);
}, 180_000);

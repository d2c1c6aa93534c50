/**
 * Demo traffic (`npm start -- --demo`): what a storefront and a warehouse crew would do, through
 * the public HTTP APIs only. It stocks every SKU the adapter's map knows, places an order every
 * few seconds, cancels one now and then, and prints each order's statuses as the customer sees
 * them (auto-advance moves the kitchen, the warehouse and the couriers).
 */
import { randomUUID } from 'node:crypto';

interface Mapping {
  readonly skus: Record<string, unknown>;
  readonly products: Record<string, unknown>;
}

const addresses = [
  {
    recipientName: '김민지',
    phone: '010-1234-5678',
    postalCode: '06236',
    roadAddress: '서울특별시 강남구 테헤란로 123',
  },
  {
    recipientName: '이서준',
    phone: '010-9876-5432',
    postalCode: '13487',
    roadAddress: '경기도 성남시 분당구 판교역로 235',
  },
  {
    recipientName: '박지후',
    phone: '010-5555-0101',
    postalCode: '03187',
    roadAddress: '서울특별시 종로구 세종대로 175',
  },
];

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

export function startDemoTraffic(baseUrl: string, say: (line: string) => void, everyMs = 4_000) {
  let stopped = false;
  const following = new Set<Promise<void>>();

  async function json(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function stockUp(mapping: Mapping): Promise<void> {
    for (const sku of Object.keys(mapping.skus)) {
      const level = await json('GET', `/inventory/stock/${sku}`);
      if (Number(level.body.available) < 20)
        await json('POST', `/inventory/stock/${sku}/receipts`, { quantity: 100 });
    }
  }

  async function follow(orderId: string): Promise<void> {
    let status = 'PLACED';
    const seen = ['주문완료'];
    while (!stopped) {
      const answer = await json('GET', `/orders/${orderId}?wait=20&status=${status}`);
      const next = String(answer.body.status);
      if (next === status) continue;
      status = next;
      seen.push(String(answer.body.statusLabel));
      say(
        `demo: ${orderId} ${seen.join(' → ')}${answer.body.statusReason ? ` (${String(answer.body.statusReason)})` : ''}`,
      );
      if (['DELIVERED', 'CANCELLED', 'FAILED'].includes(status)) return;
    }
  }

  async function placeOne(mapping: Mapping, n: number): Promise<void> {
    const date = new Date(Date.now() + 9 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
    const products = Object.keys(mapping.products);
    const lines = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({
      productCode: pick(products),
      quantity: 1 + Math.floor(Math.random() * 2),
      unitPrice: 1000 * (5 + Math.floor(Math.random() * 15)),
    }));
    const placed = await json(
      'POST',
      '/orders',
      {
        customerId: `DEMO-${1 + Math.floor(Math.random() * 20)}`,
        lines,
        deliveryAddress: pick(addresses),
        delivery: { date, slot: pick(['DAWN', 'DAY']) },
        payment: { method: pick(['CARD', 'KAKAOPAY', 'NAVERPAY']) },
        salesChannel: pick(['APP', 'WEB']),
      },
      { 'Idempotency-Key': `demo-${randomUUID()}` },
    );
    const orderId = String(placed.body.orderId);
    say(
      `demo: placed ${orderId} (${lines.map((line) => `${line.productCode}×${line.quantity}`).join(', ')})`,
    );
    const followed = follow(orderId).catch((error: unknown) =>
      say(`demo: lost track of ${orderId}: ${String(error)}`),
    );
    following.add(followed);
    void followed.finally(() => following.delete(followed));
    // Every seventh customer changes their mind before the kitchen is done.
    if (n % 7 === 6) {
      const cancelled = await json('POST', `/orders/${orderId}/cancel`, {
        comment: '데모: 마음이 바뀌었어요',
      });
      say(`demo: ${orderId} cancel requested -> HTTP ${cancelled.status}`);
    }
  }

  const run = (async () => {
    const mapping = (await json('GET', '/adapters/order-scm/mapping')).body as unknown as Mapping;
    await stockUp(mapping);
    say(`demo: stocked ${Object.keys(mapping.skus).length} SKUs; an order every ${everyMs / 1000} s`);
    for (let n = 0; !stopped; n += 1) {
      await placeOne(mapping, n).catch((error: unknown) => say(`demo: order failed: ${String(error)}`));
      if (n % 10 === 9) await stockUp(mapping);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })().catch((error: unknown) => say(`demo stopped: ${String(error)}`));

  return {
    async stop() {
      stopped = true;
      await run;
    },
  };
}

import { progressLine, summaryTable } from './report';
import type { TrafficSummary } from './traffic';

const summary: TrafficSummary = {
  elapsedMs: 12_300,
  offered: 9,
  placed: 8,
  refused: 1,
  byStatus: { DELIVERED: 4, CANCELLED: 1, REJECTED: 1, COOKING: 1, SHIPPING: 1 },
  delivered: 4,
  cancelled: 1,
  rejected: 1,
  failed: 0,
  inFlight: 2,
  placedPerStorefront: { 'http://a': 4, 'http://b': 4 },
  cancelBeforeDispatch: { accepted: 1, refused: 0 },
  cancelAfterDispatch: { tooLate: 1, accepted: 0 },
  addressChanges: { accepted: 1, refused: 0 },
  coupons: 2,
  reviews: 1,
  shortages: 1,
  receipts: 1,
  topUps: 7,
  consumerLag: 3,
  deadLetters: 1,
  requests: 80,
  serverErrors: 0,
  errors: 0,
  placedAt: new Map(),
  finalAt: new Map(),
  orders: [],
  unfinished: ['ORD-1', 'ORD-2'],
  lost: ['ORD-1', 'ORD-2'],
  unexpected: [],
  deliveryLatencyMs: { count: 3, p50: 5_000, p90: 8_000, p99: 12_500, max: 12_500 },
};

it('the progress line shows placed, every stage, the outcomes, lag and dead letters', () => {
  expect(progressLine(summary)).toBe(
    '12.3s placed 8 (+1 refused) | 주문완료 0 입고대기 0 접수 0 요리 1 픽업 0 포장 0 배송 1 | delivered 4 cancelled 1 rejected 1 | lag 3 dlq 1',
  );
});

it('the summary adds up and names the storefronts', () => {
  const table = summaryTable(summary, { 'http://a': 'v2 storefront', 'http://b': 'v1 storefront' });
  expect(table).toContain('final + unfinished = placed');
  expect(table).toMatch(/6 \+ 2 = 8/);
  expect(table).toMatch(/via v1 storefront\s+4 {2}http:\/\/b/);
  expect(table).toMatch(/placed→delivered\s+p50 5000 ms {2}p90 8000 ms {2}p99 12\.5s/);
  expect(table).toMatch(/cancel after dispatch\s+1 refused \(too late\)/);
  expect(table).toContain('lost: ORD-1, ORD-2');
  // Hangul takes two columns: the values still line up.
  const column = (label: string) => {
    const line = table.split('\n').find((row) => row.includes(label)) ?? '';
    const name = line.slice(0, line.lastIndexOf('  ') + 2);
    return [...name].reduce((width, char) => width + (/[가-힣]/.test(char) ? 2 : 1), 0);
  };
  expect(column('DELIVERED 배송완료')).toBe(column('requests'));
});

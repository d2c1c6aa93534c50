/**
 * What `npm run simulate` prints: one progress line while traffic runs, and a summary table at
 * the end. Pure formatting of the traffic's numbers.
 */
import type { TrafficStats, TrafficSummary } from './traffic';

/** The stages an order passes on its way, as the customer reads them, in journey order. */
const stages = [
  ['PLACED', '주문완료'],
  ['WAITING_FOR_STOCK', '입고대기'],
  ['RECEIVED', '접수'],
  ['COOKING', '요리'],
  ['PICKED', '픽업'],
  ['PACKED', '포장'],
  ['SHIPPING', '배송'],
] as const;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

export function progressLine(stats: TrafficStats): string {
  const inStages = stages.map(([status, label]) => `${label} ${stats.byStatus[status] ?? 0}`).join(' ');
  return [
    `${seconds(stats.elapsedMs)} placed ${stats.placed}${stats.refused ? ` (+${stats.refused} refused)` : ''}`,
    inStages,
    `delivered ${stats.delivered} cancelled ${stats.cancelled} rejected ${stats.rejected}${stats.failed ? ` failed ${stats.failed}` : ''}`,
    `lag ${stats.consumerLag} dlq ${stats.deadLetters}${stats.serverErrors ? ` 5xx ${stats.serverErrors}` : ''}${stats.errors ? ` errors ${stats.errors}` : ''}`,
  ].join(' | ');
}

/** Columns a terminal gives the text: Hangul (and other wide scripts) take two. */
const displayWidth = (text: string): number =>
  [...text].reduce(
    (sum, char) =>
      sum + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60]/.test(char) ? 2 : 1),
    0,
  );

const ms = (value: number): string => (value >= 10_000 ? seconds(value) : `${Math.round(value)} ms`);

/** Rows of two columns; the caller names the storefronts (e.g. by the OrderPlaced version they write). */
export function summaryTable(summary: TrafficSummary, storefrontLabels: Record<string, string> = {}): string {
  const rows: [string, string][] = [];
  const finalCount = summary.delivered + summary.cancelled + summary.rejected + summary.failed;
  rows.push(['offered', String(summary.offered)]);
  rows.push(['placed', String(summary.placed)]);
  for (const [url, count] of Object.entries(summary.placedPerStorefront))
    rows.push([`  via ${storefrontLabels[url] ?? 'storefront'}`, `${count}  ${url}`]);
  rows.push(['refused on placing (4xx)', String(summary.refused)]);
  rows.push(['DELIVERED 배송완료', String(summary.delivered)]);
  rows.push(['CANCELLED 취소', String(summary.cancelled)]);
  rows.push(['REJECTED 주문보류', String(summary.rejected)]);
  rows.push(['FAILED 실패', String(summary.failed)]);
  rows.push(['unfinished', `${summary.unfinished.length} (lost: ${summary.lost.length})`]);
  rows.push([
    '  final + unfinished = placed',
    `${finalCount} + ${summary.unfinished.length} = ${summary.placed}`,
  ]);
  const latency = summary.deliveryLatencyMs;
  rows.push([
    'placed→delivered',
    latency
      ? `p50 ${ms(latency.p50)}  p90 ${ms(latency.p90)}  p99 ${ms(latency.p99)}  max ${ms(latency.max)}  (n=${latency.count})`
      : 'no deliveries',
  ]);
  rows.push([
    'cancel before dispatch',
    `${summary.cancelBeforeDispatch.accepted} accepted, ${summary.cancelBeforeDispatch.refused} refused`,
  ]);
  rows.push([
    'cancel after dispatch',
    `${summary.cancelAfterDispatch.tooLate} refused (too late), ${summary.cancelAfterDispatch.accepted} accepted`,
  ]);
  rows.push([
    'address changes',
    `${summary.addressChanges.accepted} accepted, ${summary.addressChanges.refused} refused`,
  ]);
  rows.push(['coupons / reviews', `${summary.coupons} / ${summary.reviews}`]);
  rows.push(['shortages (입고대기) / receipts', `${summary.shortages} / ${summary.receipts}`]);
  rows.push(['stock top-ups', String(summary.topUps)]);
  rows.push(['dead letters', String(summary.deadLetters)]);
  rows.push(['consumer lag at the end', String(summary.consumerLag)]);
  rows.push([
    'requests',
    `${summary.requests} (5xx ${summary.serverErrors}, other errors ${summary.errors})`,
  ]);
  const width = Math.max(...rows.map(([name]) => displayWidth(name)));
  const lines = rows.map(([name, value]) => `  ${name}${' '.repeat(width - displayWidth(name))}  ${value}`);
  if (summary.unexpected.length > 0)
    lines.push(`  ended otherwise than planned: ${summary.unexpected.slice(0, 10).join(', ')}`);
  if (summary.lost.length > 0) lines.push(`  lost: ${summary.lost.slice(0, 10).join(', ')}`);
  return lines.join('\n');
}

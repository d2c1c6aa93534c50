/**
 * Demo traffic (`npm start -- --demo`): the traffic simulator at a walking pace — an order every
 * few seconds, one in seven cancelled — printing each order's statuses as the customer sees them
 * (auto-advance moves the kitchen, the warehouse and the couriers). `npm run simulate` is the same
 * traffic at any rate and mix, with a summary.
 */
import {
  startTraffic,
  type OrderEvent,
  type TrafficCredentials,
  type TrafficMix,
} from '../simulator/traffic';

/** Only second thoughts: every other order goes all the way to the door. */
const demoMix: TrafficMix = {
  cancelBeforeDispatch: 1 / 7,
  cancelAfterDispatch: 0,
  badOrder: 0,
  shortage: 0,
  addressChange: 0,
  coupon: 0,
  review: 0,
};

function lineOf(event: OrderEvent): string | undefined {
  switch (event.kind) {
    case 'placed':
      return `demo: placed ${event.order.orderId} (${event.order.lines.map((line) => `${line.productCode}×${line.quantity}`).join(', ')})`;
    case 'status': {
      const latest = event.order.statuses.at(-1);
      const journey = event.order.statuses.map((seen) => seen.label).join(' → ');
      return `demo: ${event.order.orderId} ${journey}${latest?.reason ? ` (${latest.reason})` : ''}`;
    }
    case 'command':
      return event.command === 'cancel'
        ? `demo: ${event.order.orderId} cancel requested -> HTTP ${event.httpStatus}`
        : undefined;
    case 'receipt':
      return undefined;
    case 'refused':
      return `demo: order refused: HTTP ${event.httpStatus} ${event.detail}`;
    case 'error':
      return `demo: ${event.orderId ?? 'order'} failed: ${event.error}`;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

export function startDemoTraffic(
  baseUrl: string,
  credentials: TrafficCredentials,
  say: (line: string) => void,
  everyMs = 4_000,
) {
  say(`demo: an order every ${everyMs / 1000} s, one in seven cancelled`);
  const traffic = startTraffic({
    storefronts: [baseUrl],
    platformUrl: baseUrl,
    credentials,
    ratePerSec: 1000 / everyMs,
    durationMs: Infinity,
    // A new demo every time; `npm run simulate -- --seed` is the reproducible one.
    seed: Date.now() % 2 ** 32,
    mix: demoMix,
    onOrder: (event) => {
      const line = lineOf(event);
      if (line !== undefined) say(line);
    },
  });
  const finished = traffic.done.catch((error: unknown) =>
    say(`demo stopped: ${error instanceof Error ? error.message : String(error)}`),
  );
  return {
    async stop() {
      await traffic.stop(0).catch(() => undefined);
      await finished;
    },
  };
}

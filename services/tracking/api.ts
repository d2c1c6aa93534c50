/**
 * The tracking API: one order's journey across every context, rebuilt from its stored hops on
 * each read (a handful per order, so there is nothing worth caching).
 */
import Router from '@koa/router';
import type { Collection } from 'mongodb';
import { ProblemError } from '@runtime/errors';
import { guard, type AccessTable } from '@runtime/auth';
import { timeline, type Hop } from './domain';

/** One stored hop: keyed by its event id, so a redelivered event cannot be stored twice. */
export interface HopDocument {
  _id: string;
  orderId: string;
  hop: Hop;
}

/** Who may call each route (The storefront shows its customers where their order is; `admin` may call every route). */
export const trackingAccess = {
  'GET /orders/:id/timeline': ['storefront'],
} as const satisfies AccessTable;

export function createTrackingRouter({ hops }: { readonly hops: Collection<HopDocument> }): Router {
  // No prefix and one exact path: the order context serves `/orders/:id` and its sub-resources on
  // the same port when every context runs in one process.
  const router = new Router();

  router.get('/orders/:id/timeline', async (ctx) => {
    const orderId = ctx.params.id ?? '';
    const stored = await hops.find({ orderId }, { projection: { hop: 1 } }).toArray();
    if (stored.length === 0)
      throw new ProblemError(404, `No event of order ${orderId} has reached tracking.`, {
        title: 'Order not found',
      });
    ctx.body = timeline(
      orderId,
      stored.map((document) => document.hop),
    );
  });

  return guard(router, trackingAccess);
}

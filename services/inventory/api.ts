/**
 * Inventory's HTTP API: stock levels, goods received (which can fulfil waiting reservations),
 * stock counts, and the reservations of fulfilments.
 */
import Router from '@koa/router';
import type { AggregateStore } from '@runtime/aggregate-store';
import { commandCauseId, refusalProblem } from '@runtime/context';
import { ProblemError, validationProblem } from '@runtime/errors';
import { readJsonBody } from '@runtime/http';
import { guard, type AccessTable } from '@runtime/auth';
import { z } from 'zod';
import { optional, parse, text, wholeNumber } from '@runtime/validate';
import {
  availableOf,
  type ReservationFact,
  type ReservationInput,
  type ReservationState,
  type StockFact,
  type StockInput,
  type StockState,
} from './domain';

export interface InventoryApiOptions {
  readonly stock: AggregateStore<StockState, StockInput, StockFact>;
  readonly reservations: AggregateStore<ReservationState, ReservationInput, ReservationFact>;
  readonly now: () => Date;
  readonly bodyLimitBytes: number;
  /** Retries waiting reservations; returns the fulfilments it reserved. */
  /** Gives changed stock of `sku` to the reservations waiting for it; says which are now reserved. */
  readonly afterStockChange: (sku: string) => Promise<string[]>;
}

const skuPattern = /^[A-Z0-9-]{1,64}$/;
const receiptBody = z.strictObject({
  quantity: wholeNumber({ min: 1, max: 1_000_000 }),
  supplierReference: optional(text({ max: 100 })),
});
const countBody = z.strictObject({ onHand: wholeNumber({ min: 0, max: 100_000_000 }) });
const reservationStatuses = ['waiting', 'reserved', 'released', 'shipped'] as const;

const view = (stock: StockState) => ({
  sku: stock.sku,
  onHand: stock.onHand,
  reserved: stock.reserved,
  available: availableOf(stock),
  holds: stock.holds,
});

/** Who may call each route (The goods-in desk and stock keepers; `admin` may call every route). */
export const inventoryAccess = {
  'GET /inventory/stock': ['inventory'],
  'GET /inventory/stock/:sku': ['inventory'],
  'POST /inventory/stock/:sku/receipts': ['inventory'],
  'PUT /inventory/stock/:sku/count': ['inventory'],
  'GET /inventory/reservations': ['inventory'],
  'GET /inventory/reservations/:fulfilmentId': ['inventory'],
} as const satisfies AccessTable;

export function createInventoryRouter(options: InventoryApiOptions): Router {
  const { stock, reservations, now, bodyLimitBytes } = options;
  const router = new Router({ prefix: '/inventory' });
  /** A SKU's level as people read it; a SKU never seen has none. */
  const levelOf = async (sku: string) =>
    view((await stock.load(sku))?.state ?? { sku, onHand: 0, reserved: 0, holds: {} });

  const skuOf = (raw: string | undefined): string => {
    if (raw === undefined || !skuPattern.test(raw))
      throw validationProblem([{ field: 'sku', message: 'must be upper-case letters, digits or -' }]);
    return raw;
  };

  router.get('/stock', async (ctx) => {
    const levels = await stock.list({}, { limit: 1000 });
    ctx.body = { stock: levels.map(view).sort((a, b) => a.sku.localeCompare(b.sku)) };
  });

  router.get('/stock/:sku', async (ctx) => {
    const sku = skuOf(ctx.params.sku);
    ctx.body = await levelOf(sku);
  });

  // Goods in: with an Idempotency-Key a retried receipt is counted once.
  router.post('/stock/:sku/receipts', async (ctx) => {
    const sku = skuOf(ctx.params.sku);
    const body = parse(receiptBody, await readJsonBody(ctx, bodyLimitBytes));
    const received = await stock.execute(
      sku,
      { kind: 'Receive', sku, quantity: body.quantity, supplierReference: body.supplierReference },
      { causeId: commandCauseId(ctx, `receipt:${sku}`), causationId: null, correlationId: sku, now: now() },
    );
    if (received.kind === 'refused') throw refusalProblem(received, 'SKU');
    const reserved = await options.afterStockChange(sku);
    ctx.status = received.kind === 'duplicate' ? 200 : 201;
    ctx.body = { ...(await levelOf(sku)), reservedNow: reserved };
  });

  router.put('/stock/:sku/count', async (ctx) => {
    const sku = skuOf(ctx.params.sku);
    const body = parse(countBody, await readJsonBody(ctx, bodyLimitBytes));
    const counted = await stock.execute(
      sku,
      { kind: 'Count', sku, onHand: body.onHand },
      { causeId: commandCauseId(ctx, `count:${sku}`), causationId: null, correlationId: sku, now: now() },
    );
    if (counted.kind === 'refused') throw refusalProblem(counted, 'SKU');
    // A count may find more than was thought: the waiting may now be served.
    await options.afterStockChange(sku);
    ctx.body = await levelOf(sku);
  });

  router.get('/reservations', async (ctx) => {
    const status = ctx.query.status;
    if (status !== undefined && !reservationStatuses.includes(status as (typeof reservationStatuses)[number]))
      throw validationProblem([
        { field: 'status', message: `must be one of ${reservationStatuses.join(', ')}` },
      ]);
    const filter = typeof status === 'string' ? { 'state.status': status } : {};
    ctx.body = { reservations: await reservations.list(filter, { limit: 200 }) };
  });

  router.get('/reservations/:fulfilmentId', async (ctx) => {
    const loaded = await reservations.load(ctx.params.fulfilmentId ?? '');
    if (loaded === undefined)
      throw new ProblemError(404, 'No reservation for this fulfilment.', { title: 'Reservation not found' });
    ctx.body = loaded.state;
  });

  return guard(router, inventoryAccess);
}

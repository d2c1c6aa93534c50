/**
 * The storefront's HTTP API: place an order (idempotent by `Idempotency-Key`), read it (long-poll
 * on its status), cancel it, change its address, review it. Input is validated strictly; every
 * refusal is an RFC 7807 problem naming the field or the reason.
 */
import Router from '@koa/router';
import { createHash, randomInt } from 'node:crypto';
import type { Collection } from 'mongodb';
import { OrderCancellationReason, SalesChannel } from '@contracts/generated';
import { ProblemError, validationProblem } from '@runtime/errors';
import type { AggregateStore, Execution } from '@runtime/aggregate-store';
import { commandCauseId, idempotencyKeyPattern, refusalProblem } from '@runtime/context';
import { readJsonBody } from '@runtime/http';
import { guard, type AccessTable } from '@runtime/auth';
import { amount, array, integer, isoDate, object, oneOf, optional, parse, string } from '@runtime/validate';
import {
  couponDiscount,
  paymentMethods,
  slotCodes,
  slotWindow,
  statusLabels,
  type Order,
  type OrderFact,
  type OrderInput,
  type PlaceOrder,
} from './domain';

export interface OrderApiOptions {
  readonly store: AggregateStore<Order, OrderInput, OrderFact>;
  readonly idempotencyKeys: Collection<IdempotencyRecord>;
  readonly now: () => Date;
  /** OrderPlaced version this instance writes (both run side by side during a rollout). */
  readonly orderPlacedVersion: 1 | 2;
  readonly bodyLimitBytes: number;
  /** Resolves when the order may have changed from `version` (or after `timeoutMs`). */
  readonly changed: (orderId: string, timeoutMs: number, version: number) => Promise<void>;
}

export interface IdempotencyRecord {
  _id: string;
  /** Hash of the request body: the same key with another body is a client bug, refused. */
  fingerprint: string;
  orderId: string;
  command: PlaceOrder;
  at: Date;
}

const address = object({
  recipientName: string({ max: 50 }),
  phone: string({
    pattern: /^0\d{1,2}-?\d{3,4}-?\d{4}$/,
    patternText: 'a Korean phone number, e.g. 010-1234-5678',
  }),
  postalCode: string({ pattern: /^\d{5}$/, patternText: 'five digits' }),
  roadAddress: string({ max: 200 }),
  detailAddress: optional(string({ max: 100 })),
});

const placeOrderBody = object({
  customerId: string({ max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternText: 'letters, digits, _ or -' }),
  lines: array(
    object({
      productCode: string({
        max: 64,
        pattern: /^[A-Z0-9-]+$/,
        patternText: 'upper-case letters, digits or -',
      }),
      productName: optional(string({ max: 100 })),
      quantity: integer({ min: 1, max: 999 }),
      unitPrice: amount({ min: 0, max: 10_000_000 }),
    }),
    { min: 1, max: 50 },
  ),
  deliveryAddress: address,
  delivery: object({ date: isoDate(), slot: oneOf(slotCodes) }),
  deliveryMemo: optional(string({ max: 200 })),
  salesChannel: optional(oneOf(Object.values(SalesChannel).filter((channel) => channel !== 'UNKNOWN'))),
  payment: object({ method: oneOf(paymentMethods) }),
  couponCode: optional(string({ max: 32 })),
});

const cancelBody = object({
  reason: optional(oneOf(Object.values(OrderCancellationReason).filter((reason) => reason !== 'UNKNOWN'))),
  comment: optional(string({ max: 200 })),
});

const reviewBody = object({ rating: integer({ min: 1, max: 5 }), comment: optional(string({ max: 1000 })) });

const maxWaitSeconds = 30;

/** Order numbers as the storefront prints them: `ORD-<KST date>-<random>`. */
function newOrderId(now: Date): string {
  const kstDate = new Date(now.getTime() + 9 * 3_600_000).toISOString().slice(0, 10).replaceAll('-', '');
  return `ORD-${kstDate}-${randomInt(0, 36 ** 8)
    .toString(36)
    .toUpperCase()
    .padStart(8, '0')}`;
}

export function view(order: Order, version: number) {
  return { ...order, statusLabel: statusLabels[order.status], version };
}

function problemOf(execution: Execution<Order, OrderFact>): ProblemError | undefined {
  return execution.kind === 'refused' ? refusalProblem(execution, 'order') : undefined;
}

/** Who may call each route (The storefront places and follows its customers' orders; `admin` may call every route). */
export const orderAccess = {
  'POST /orders': ['storefront'],
  'GET /orders/:id': ['storefront'],
  'POST /orders/:id/cancel': ['storefront'],
  'PUT /orders/:id/delivery-address': ['storefront'],
  'POST /orders/:id/review': ['storefront'],
  'GET /orders': ['storefront'],
} as const satisfies AccessTable;

export function createOrderRouter(options: OrderApiOptions): Router {
  const { store, idempotencyKeys, now, bodyLimitBytes } = options;
  const router = new Router({ prefix: '/orders' });

  async function current(orderId: string) {
    const loaded = await store.load(orderId);
    if (loaded === undefined)
      throw new ProblemError(404, `No order ${orderId}.`, { title: 'Order not found' });
    return loaded;
  }

  router.post('/', async (ctx) => {
    const key = ctx.get('Idempotency-Key') || undefined;
    if (key !== undefined && !idempotencyKeyPattern.test(key))
      throw validationProblem([
        { field: 'Idempotency-Key', message: 'must be 8 to 128 letters, digits or ._:-' },
      ]);
    const body = parse(placeOrderBody, await readJsonBody(ctx, bodyLimitBytes));
    const at = now();
    const today = new Date(at.getTime() + 9 * 3_600_000).toISOString().slice(0, 10);
    if (body.delivery.date < today)
      throw validationProblem([
        { field: '/delivery/date', message: `must be today (${today}, KST) or later` },
      ]);
    if (body.couponCode !== null && couponDiscount(body.couponCode) === undefined)
      throw validationProblem([{ field: '/couponCode', message: 'is not a coupon this store honours' }]);

    const command: PlaceOrder = {
      orderId: newOrderId(at),
      customerId: body.customerId,
      lines: body.lines.map((line) => ({ ...line, productName: line.productName ?? line.productCode })),
      couponCode: body.couponCode,
      deliveryAddress: body.deliveryAddress,
      delivery: { ...body.delivery, ...slotWindow(body.delivery.date, body.delivery.slot) },
      deliveryMemo: body.deliveryMemo,
      salesChannel: body.salesChannel ?? 'WEB',
      payment: body.payment,
    };
    const fingerprint = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const idempotencyKey = key ?? `generated:${command.orderId}`;
    // The key is claimed by a unique insert (atomic on every MongoDB-wire store); a retry finds it
    // and places the order it recorded, so a crash between claim and placement heals on retry.
    let record: IdempotencyRecord = {
      _id: idempotencyKey,
      fingerprint,
      orderId: command.orderId,
      command,
      at,
    };
    let replayed = false;
    try {
      await idempotencyKeys.insertOne(record);
    } catch (error) {
      const existing = await idempotencyKeys.findOne({ _id: idempotencyKey });
      if (existing === null) throw error;
      if (existing.fingerprint !== fingerprint) {
        throw new ProblemError(422, 'This Idempotency-Key was used for a different request.', {
          code: 'IDEMPOTENCY_KEY_REUSED',
          title: 'Idempotency-Key reused',
          errors: [{ field: 'Idempotency-Key', message: 'was used before with another body' }],
        });
      }
      record = existing;
      replayed = true;
    }
    const execution = await store.execute(
      record.orderId,
      { kind: 'Place', order: record.command, eventVersion: options.orderPlacedVersion },
      { causeId: `place:${idempotencyKey}`, causationId: null, correlationId: record.orderId, now: at },
    );
    const problem = problemOf(execution);
    if (problem) throw problem;
    const loaded = await current(record.orderId);
    ctx.status = replayed ? 200 : 201;
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.set('Location', `/orders/${record.orderId}`);
    ctx.body = view(loaded.state, loaded.version);
  });

  router.get('/:id', async (ctx) => {
    const orderId = ctx.params.id ?? '';
    const waitParam = ctx.query.wait;
    let loaded = await current(orderId);
    if (waitParam !== undefined) {
      const wait = Number(waitParam);
      if (typeof waitParam !== 'string' || !Number.isFinite(wait) || wait < 0 || wait > maxWaitSeconds)
        throw validationProblem([
          { field: 'wait', message: `must be a number of seconds from 0 to ${maxWaitSeconds}` },
        ]);
      // The status the client already knows: given, or the one at the time of the request.
      const known = typeof ctx.query.status === 'string' ? ctx.query.status : loaded.state.status;
      const deadline = Date.now() + wait * 1000;
      while (loaded.state.status === known && Date.now() < deadline) {
        await options.changed(orderId, deadline - Date.now(), loaded.version);
        loaded = await current(orderId);
      }
      ctx.set('Status-Changed', String(loaded.state.status !== known));
    }
    ctx.body = view(loaded.state, loaded.version);
  });

  async function command(
    ctx: { params: Record<string, string | undefined> },
    input: OrderInput,
    causeId: string,
  ) {
    const orderId = ctx.params.id ?? '';
    const execution = await store.execute(orderId, input, {
      causeId,
      causationId: null,
      correlationId: orderId,
      now: now(),
    });
    const problem = problemOf(execution);
    if (problem) throw problem;
    const loaded = await current(orderId);
    return view(loaded.state, loaded.version);
  }

  router.post('/:id/cancel', async (ctx) => {
    const body = parse(cancelBody, ctx.request.length ? await readJsonBody(ctx, bodyLimitBytes) : {});
    ctx.status = 202;
    ctx.body = await command(
      ctx,
      { kind: 'Cancel', reason: body.reason ?? 'CUSTOMER_REQUEST', comment: body.comment },
      commandCauseId(ctx, 'cancel'),
    );
  });

  router.put('/:id/delivery-address', async (ctx) => {
    const body = parse(address, await readJsonBody(ctx, bodyLimitBytes));
    ctx.body = await command(
      ctx,
      { kind: 'ChangeAddress', address: { ...body } },
      commandCauseId(ctx, 'address'),
    );
  });

  router.post('/:id/review', async (ctx) => {
    const body = parse(reviewBody, await readJsonBody(ctx, bodyLimitBytes));
    ctx.body = await command(
      ctx,
      { kind: 'Review', rating: body.rating, comment: body.comment },
      commandCauseId(ctx, 'review'),
    );
  });

  router.get('/', async (ctx) => {
    const customerId = ctx.query.customerId;
    const status = ctx.query.status;
    const filter: Record<string, string> = {};
    if (typeof customerId === 'string') filter['state.customerId'] = customerId;
    if (typeof status === 'string') filter['state.status'] = status;
    const orders = await store.list(filter, { limit: 100 });
    ctx.body = { orders: orders.map((order) => ({ ...order, statusLabel: statusLabels[order.status] })) };
  });

  return guard(router, orderAccess);
}

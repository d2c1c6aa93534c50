/**
 * The dispatchers' and couriers' HTTP API: shipments by dispatch wave and zone, a summary of the
 * waves, and the three things a person does to a shipment (dispatch it with a courier, mark it
 * delivered, mark it failed). Input is validated strictly; every refusal is an RFC 7807 problem
 * naming the field or the reason.
 */
import Router from '@koa/router';
import type { Filter } from 'mongodb';
import { DeliveryFailureReason } from '@contracts/generated';
import type { AggregateStore, HeadDocument } from '@runtime/aggregate-store';
import { commandCauseId, refusalProblem } from '@runtime/context';
import { ProblemError, validationProblem } from '@runtime/errors';
import { readJsonBody } from '@runtime/http';
import { guard, type AccessTable } from '@runtime/auth';
import { z } from 'zod';
import { optional, parse, text } from '@runtime/validate';
import {
  fulfilmentIdOf,
  shipmentStatuses,
  type DeliveryFact,
  type DeliveryInput,
  type ShipmentState,
  type ShipmentStatus,
} from './domain';

export interface DeliveryApiOptions {
  readonly store: AggregateStore<ShipmentState, DeliveryInput, DeliveryFact>;
  readonly now: () => Date;
  readonly bodyLimitBytes: number;
}

/** A point in time with its zone (a courier app's clock may be anywhere), stored in UTC. */
function isoTimestamp(): z.ZodType<string> {
  const shape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
  return z.unknown().transform((value, ctx) => {
    const parsed = typeof value === 'string' && shape.test(value) ? new Date(value) : undefined;
    if (parsed !== undefined && !Number.isNaN(parsed.getTime())) return parsed.toISOString();
    ctx.addIssue({
      code: 'custom',
      message: 'must be a date-time with a zone, e.g. 2025-01-02T06:00:00+09:00',
    });
    return z.NEVER;
  });
}

const dispatchBody = z.strictObject({
  courierId: text({ max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternText: 'letters, digits, _ or -' }),
  estimatedArrivalAt: optional(isoTimestamp()),
});

const deliverBody = z.strictObject({ proofOfDelivery: optional(text({ max: 500 })) });

const failBody = z.strictObject({
  // UNKNOWN is what a reader makes of a reason it does not know; nobody reports it.
  reason: z.enum(Object.values(DeliveryFailureReason).filter((reason) => reason !== 'UNKNOWN')),
  detail: optional(text({ max: 500 })),
});

/** What a dispatcher works on by default: shipments waiting for a courier or on the road. */
const openStatuses: readonly ShipmentStatus[] = ['ready', 'dispatched'];
/** Enough for a wave of a busy hub; the list is newest change first beyond it. */
const listLimit = 500;
/** Shipments the wave summary counts (the most recently changed first). */
const summaryLimit = 2_000;

export function view(state: ShipmentState, version: number) {
  return { ...state, version };
}

/** A single-valued query parameter, or undefined when absent; repeated or empty is a 400. */
function queryValue(query: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '')
    throw validationProblem([{ field: name, message: 'must be given once and not be empty' }]);
  return value.trim();
}

/** `status=ready,dispatched`: one or more shipment statuses, comma-separated. */
function statusesOf(text: string | undefined): readonly ShipmentStatus[] {
  if (text === undefined) return openStatuses;
  const known: readonly string[] = shipmentStatuses;
  const asked = text.split(',').map((status) => status.trim());
  const statuses = asked.filter((status): status is ShipmentStatus => known.includes(status));
  if (statuses.length !== asked.length)
    throw validationProblem([
      { field: 'status', message: `must be one or more (comma-separated) of ${shipmentStatuses.join(', ')}` },
    ]);
  return statuses;
}

/** Waves and zones in name order; shipments without one (v1 requests) last. */
const byName = (a: string | null, b: string | null): number =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a.localeCompare(b);

interface Group {
  readonly dispatchWave: string | null;
  readonly deliveryZone: string | null;
  readonly items: ShipmentState[];
}

function groupByWaveAndZone(shipments: readonly ShipmentState[]): Group[] {
  const groups = new Map<string, Group>();
  for (const shipment of shipments) {
    const { dispatchWave, deliveryZone } = shipment;
    const key = JSON.stringify([dispatchWave, deliveryZone]);
    const group = groups.get(key) ?? { dispatchWave, deliveryZone, items: [] };
    group.items.push(shipment);
    groups.set(key, group);
  }
  return [...groups.values()].sort(
    (a, b) => byName(a.dispatchWave, b.dispatchWave) || byName(a.deliveryZone, b.deliveryZone),
  );
}

/** A courier's route runs by promised arrival: the earliest window first. */
const byWindow = (a: ShipmentState, b: ShipmentState): number =>
  byName(a.deliveryWindow?.earliest ?? null, b.deliveryWindow?.earliest ?? null) ||
  a.fulfilmentId.localeCompare(b.fulfilmentId);

/** Who may call each route (Dispatchers and couriers; `admin` may call every route). */
export const deliveryAccess = {
  'GET /delivery/shipments': ['delivery'],
  'GET /delivery/shipments/:shipmentId': ['delivery'],
  'GET /delivery/waves': ['delivery'],
  'POST /delivery/shipments/:shipmentId/dispatch': ['delivery'],
  'POST /delivery/shipments/:shipmentId/deliver': ['delivery'],
  'POST /delivery/shipments/:shipmentId/fail': ['delivery'],
} as const satisfies AccessTable;

export function createDeliveryRouter(options: DeliveryApiOptions): Router {
  const { store, now, bodyLimitBytes } = options;
  const router = new Router({ prefix: '/delivery' });

  function fulfilmentOf(shipmentId: string | undefined): string {
    const fulfilmentId = fulfilmentIdOf(shipmentId ?? '');
    if (fulfilmentId === undefined)
      throw new ProblemError(404, `No shipment ${shipmentId}: shipment ids look like SHP-<fulfilment id>.`, {
        title: 'Shipment not found',
      });
    return fulfilmentId;
  }

  async function current(fulfilmentId: string) {
    const loaded = await store.load(fulfilmentId);
    if (loaded === undefined)
      throw new ProblemError(404, `No shipment for fulfilment ${fulfilmentId}.`, {
        title: 'Shipment not found',
      });
    return loaded;
  }

  async function command(shipmentId: string | undefined, input: DeliveryInput, causeId: string) {
    const fulfilmentId = fulfilmentOf(shipmentId);
    const execution = await store.execute(fulfilmentId, input, {
      causeId,
      // A person's command: no event caused it.
      causationId: null,
      correlationId: fulfilmentId,
      now: now(),
    });
    if (execution.kind === 'refused') throw refusalProblem(execution, 'shipment');
    const loaded = await current(fulfilmentId);
    return view(loaded.state, loaded.version);
  }

  router.get('/shipments', async (ctx) => {
    const wave = queryValue(ctx.query, 'wave');
    const zone = queryValue(ctx.query, 'zone');
    const statuses = statusesOf(queryValue(ctx.query, 'status'));
    const filter: Filter<HeadDocument<ShipmentState>> = { 'state.status': { $in: [...statuses] } };
    if (wave !== undefined) filter['state.dispatchWave'] = wave;
    if (zone !== undefined) filter['state.deliveryZone'] = zone;
    const shipments = await store.list(filter, { limit: listLimit });
    ctx.body = {
      total: shipments.length,
      groups: groupByWaveAndZone(shipments).map(({ items, ...group }) => ({
        ...group,
        shipments: items.sort(byWindow),
      })),
    };
  });

  router.get('/shipments/:shipmentId', async (ctx) => {
    const loaded = await current(fulfilmentOf(ctx.params.shipmentId));
    ctx.body = view(loaded.state, loaded.version);
  });

  router.get('/waves', async (ctx) => {
    const wave = queryValue(ctx.query, 'wave');
    const filter: Filter<HeadDocument<ShipmentState>> = {};
    if (wave !== undefined) filter['state.dispatchWave'] = wave;
    const shipments = await store.list(filter, { limit: summaryLimit });
    ctx.body = {
      // At the limit, older waves may be counted in part: ask for one wave to count it all.
      truncated: shipments.length >= summaryLimit,
      waves: groupByWaveAndZone(shipments).map(({ dispatchWave, deliveryZone, items }) => ({
        dispatchWave,
        deliveryZone,
        total: items.length,
        // Every status, zeros included, so a dashboard's columns do not come and go.
        byStatus: Object.fromEntries(
          shipmentStatuses.map((status) => [status, items.filter((item) => item.status === status).length]),
        ),
      })),
    };
  });

  router.post('/shipments/:shipmentId/dispatch', async (ctx) => {
    const body = parse(dispatchBody, await readJsonBody(ctx, bodyLimitBytes));
    ctx.body = await command(
      ctx.params.shipmentId,
      { kind: 'Dispatch', courierId: body.courierId, estimatedArrivalAt: body.estimatedArrivalAt },
      commandCauseId(ctx, 'dispatch'),
    );
  });

  router.post('/shipments/:shipmentId/deliver', async (ctx) => {
    const body = parse(deliverBody, ctx.request.length ? await readJsonBody(ctx, bodyLimitBytes) : {});
    ctx.body = await command(
      ctx.params.shipmentId,
      { kind: 'Deliver', proofOfDelivery: body.proofOfDelivery },
      commandCauseId(ctx, 'deliver'),
    );
  });

  router.post('/shipments/:shipmentId/fail', async (ctx) => {
    const body = parse(failBody, await readJsonBody(ctx, bodyLimitBytes));
    ctx.body = await command(
      ctx.params.shipmentId,
      { kind: 'Fail', reason: body.reason, detail: body.detail },
      commandCauseId(ctx, 'fail'),
    );
  });

  return guard(router, deliveryAccess);
}

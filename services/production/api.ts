/**
 * The kitchen's HTTP API (요리) for the cooks: the task list (open tasks by default, oldest first,
 * filtered by status and dispatch wave), one task, and the two commands, start and complete.
 * Input is validated strictly; every refusal is an RFC 7807 problem naming the field or the reason.
 */
import Router from '@koa/router';
import type { Filter } from 'mongodb';
import type { AggregateStore, HeadDocument } from '@runtime/aggregate-store';
import { commandCauseId, refusalProblem } from '@runtime/context';
import { refused } from '@runtime/decider';
import { validationProblem } from '@runtime/errors';
import { readJsonBody } from '@runtime/http';
import { guard, type AccessTable } from '@runtime/auth';
import { z } from 'zod';
import { isCalendarDate, optional, parse, text } from '@runtime/validate';
import {
  fulfilmentIdOfTask,
  openedAt,
  type KitchenFact,
  type KitchenInput,
  type KitchenTask,
  type KitchenTaskStatus,
} from './domain';

export interface ProductionApiOptions {
  readonly store: AggregateStore<KitchenTask, KitchenInput, KitchenFact>;
  readonly now: () => Date;
  readonly bodyLimitBytes: number;
}

const subject = 'kitchen task';

export const taskStatuses = [
  'awaiting-request',
  'awaiting-stock',
  'waiting',
  'cooking',
  'completed',
  'skipped',
  'cancelled',
] as const satisfies readonly KitchenTaskStatus[];

/** What the kitchen still has to work on: the list a cook sees without asking for more. */
const openStatuses: readonly KitchenTaskStatus[] = ['waiting', 'cooking'];

const wavePattern = /^[A-Za-z0-9_-]{1,64}$/;

// Strict ISO 8601 with a zone: a local time would be read in the server's zone, not the cook's.
const dateTimePattern =
  /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** A date-time with a zone, e.g. `2025-01-02T14:30:00+09:00`; kept as UTC `toISOString()`. */
function isoDateTime(): z.ZodType<string> {
  return z.unknown().transform((value, ctx) => {
    const date = typeof value === 'string' ? dateTimePattern.exec(value)?.[1] : undefined;
    if (typeof value !== 'string' || date === undefined || !isCalendarDate(date)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be an ISO 8601 date-time with a time zone, e.g. 2025-01-02T14:30:00+09:00',
      });
      return z.NEVER;
    }
    return new Date(value).toISOString();
  });
}

const startBody = z.strictObject({
  station: optional(text({ max: 50 })),
  expectedReadyAt: optional(isoDateTime()),
});
const completeBody = z.strictObject({});

/** A task as the kitchen sees it: with the time it opened, which the cooks work by. */
export function view(task: KitchenTask) {
  return { ...task, openedAt: openedAt(task) };
}

/** Oldest first: the kitchen cooks in the order tasks opened; tasks not open yet go last. */
function byAge(a: KitchenTask, b: KitchenTask): number {
  const [left, right] = [openedAt(a), openedAt(b)];
  if (left === right) return a.fulfilmentId.localeCompare(b.fulfilmentId);
  if (left === null || right === null) return left === null ? 1 : -1;
  return left < right ? -1 : 1;
}

const notFound = refused('NOT_FOUND', 'There is no kitchen task with this id.');

/** The fulfilment (aggregate id) a task id names; a malformed id is a task that does not exist. */
function fulfilmentIdOf(taskId: string | undefined): string {
  const fulfilmentId = fulfilmentIdOfTask(taskId ?? '');
  if (fulfilmentId === null) throw refusalProblem(notFound, subject);
  return fulfilmentId;
}

/** Who may call each route (The kitchen; `admin` may call every route). */
export const productionAccess = {
  'GET /kitchen/tasks': ['kitchen'],
  'GET /kitchen/tasks/:taskId': ['kitchen'],
  'POST /kitchen/tasks/:taskId/start': ['kitchen'],
  'POST /kitchen/tasks/:taskId/complete': ['kitchen'],
} as const satisfies AccessTable;

export function createProductionRouter(options: ProductionApiOptions): Router {
  const { store, now, bodyLimitBytes } = options;
  const router = new Router({ prefix: '/kitchen' });

  async function current(taskId: string | undefined) {
    const loaded = await store.load(fulfilmentIdOf(taskId));
    if (loaded === undefined) throw refusalProblem(notFound, subject);
    return { ...view(loaded.state), version: loaded.version };
  }

  async function command(taskId: string | undefined, input: KitchenInput, causeId: string) {
    const fulfilmentId = fulfilmentIdOf(taskId);
    const execution = await store.execute(fulfilmentId, input, {
      causeId,
      // A person's command: no event caused it.
      causationId: null,
      correlationId: fulfilmentId,
      now: now(),
    });
    if (execution.kind === 'refused') throw refusalProblem(execution, subject);
    return current(taskId);
  }

  // Like the warehouse's list, kept in this context: each owns its task model and query (delivery's
  // already differs: several statuses, zones), and the runtime knows no waves.
  router.get('/tasks', async (ctx) => {
    const { status, wave } = ctx.query;
    const filter: Filter<HeadDocument<KitchenTask>> = {};
    if (status === undefined) {
      filter['state.status'] = { $in: [...openStatuses] };
    } else {
      const known = taskStatuses.find((candidate) => candidate === status);
      if (known === undefined)
        throw validationProblem([{ field: 'status', message: `must be one of ${taskStatuses.join(', ')}` }]);
      filter['state.status'] = known;
    }
    if (wave !== undefined) {
      if (typeof wave !== 'string' || !wavePattern.test(wave))
        throw validationProblem([
          { field: 'wave', message: 'must be one dispatch wave, e.g. WAVE-20250102-DAWN' },
        ]);
      filter['state.dispatchWave'] = wave;
    }
    const tasks = await store.list(filter, { limit: 100 });
    ctx.body = { tasks: tasks.sort(byAge).map(view) };
  });

  router.get('/tasks/:taskId', async (ctx) => {
    ctx.body = await current(ctx.params.taskId);
  });

  router.post('/tasks/:taskId/start', async (ctx) => {
    // Both fields are optional, so a bare POST (no body) starts the task too.
    const body = parse(startBody, ctx.request.length ? await readJsonBody(ctx, bodyLimitBytes) : {});
    ctx.body = await command(
      ctx.params.taskId,
      { kind: 'StartCooking', station: body.station, expectedReadyAt: body.expectedReadyAt },
      commandCauseId(ctx, 'start'),
    );
  });

  router.post('/tasks/:taskId/complete', async (ctx) => {
    parse(completeBody, ctx.request.length ? await readJsonBody(ctx, bodyLimitBytes) : {});
    ctx.body = await command(ctx.params.taskId, { kind: 'CompleteCooking' }, commandCauseId(ctx, 'complete'));
  });

  return guard(router, productionAccess);
}

/**
 * The warehouse's HTTP API (픽업·포장) for warehouse staff: the task list (open tasks by default,
 * filtered by status and dispatch wave), one task, and the two commands, pick and pack. Input is
 * validated strictly; every refusal is an RFC 7807 problem naming the field or the reason.
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
import { parse, text, wholeNumber } from '@runtime/validate';
import {
  fulfilmentIdOfTask,
  openStatuses,
  taskStatuses,
  type WarehouseFact,
  type WarehouseInput,
  type WarehouseTask,
} from './domain';

export interface WarehouseApiOptions {
  readonly store: AggregateStore<WarehouseTask, WarehouseInput, WarehouseFact>;
  readonly now: () => Date;
  readonly bodyLimitBytes: number;
}

const subject = 'warehouse task';

const workerId = text({ max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternText: 'letters, digits, _ or -' });
const pickBody = z.strictObject({ pickerId: workerId });
const packBody = z.strictObject({ packerId: workerId, parcelCount: wholeNumber({ min: 1, max: 20 }) });

const wavePattern = /^[A-Za-z0-9_-]{1,64}$/;

export function view(task: WarehouseTask, version: number) {
  return { ...task, version };
}

const notFound = refused('NOT_FOUND', 'There is no warehouse task with this id.');

/** The fulfilment (aggregate id) a task id names; a malformed id is a task that does not exist. */
function fulfilmentIdOf(taskId: string | undefined): string {
  const fulfilmentId = fulfilmentIdOfTask(taskId ?? '');
  if (fulfilmentId === undefined) throw refusalProblem(notFound, subject);
  return fulfilmentId;
}

/** Who may call each route (The warehouse's pickers and packers; `admin` may call every route). */
export const warehouseAccess = {
  'GET /warehouse/tasks': ['warehouse'],
  'GET /warehouse/tasks/:taskId': ['warehouse'],
  'POST /warehouse/tasks/:taskId/pick': ['warehouse'],
  'POST /warehouse/tasks/:taskId/pack': ['warehouse'],
} as const satisfies AccessTable;

export function createWarehouseRouter(options: WarehouseApiOptions): Router {
  const { store, now, bodyLimitBytes } = options;
  const router = new Router({ prefix: '/warehouse' });

  async function current(taskId: string | undefined) {
    const loaded = await store.load(fulfilmentIdOf(taskId));
    if (loaded === undefined) throw refusalProblem(notFound, subject);
    return view(loaded.state, loaded.version);
  }

  async function command(taskId: string | undefined, input: WarehouseInput, causeId: string) {
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

  // Like the kitchen's list, kept in this context: each owns its task model and query (delivery's
  // already differs: several statuses, zones), and the runtime knows no waves.
  router.get('/tasks', async (ctx) => {
    const { status, wave } = ctx.query;
    const filter: Filter<HeadDocument<WarehouseTask>> = {};
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
    ctx.body = { tasks: await store.list(filter, { limit: 100 }) };
  });

  router.get('/tasks/:taskId', async (ctx) => {
    ctx.body = await current(ctx.params.taskId);
  });

  router.post('/tasks/:taskId/pick', async (ctx) => {
    const body = parse(pickBody, await readJsonBody(ctx, bodyLimitBytes));
    ctx.body = await command(
      ctx.params.taskId,
      { kind: 'Pick', pickerId: body.pickerId },
      commandCauseId(ctx, 'pick'),
    );
  });

  router.post('/tasks/:taskId/pack', async (ctx) => {
    const body = parse(packBody, await readJsonBody(ctx, bodyLimitBytes));
    ctx.body = await command(
      ctx.params.taskId,
      { kind: 'Pack', packerId: body.packerId, parcelCount: body.parcelCount },
      commandCauseId(ctx, 'pack'),
    );
  });

  return guard(router, warehouseAccess);
}

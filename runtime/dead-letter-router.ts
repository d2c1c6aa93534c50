/**
 * The dead-letter admin endpoint every process may mount (`routers` of `createHttpApp`):
 *
 *   GET  /admin/dead-letters/:group               ?limit=1..1000 (100) &includeHandled=true|false
 *                                                 &fromOffset=N
 *   POST /admin/dead-letters/:group/replay        { "ids": ["0:12", ...] }
 *   POST /admin/dead-letters/:group/drop          { "ids": ["0:12", ...] }
 *
 * The group names its dead-letter topic by the runtime's convention (`<group>.dlq`, see
 * `deadLetterTopicName`). Requests are validated strictly: unknown query parameters or body
 * fields, malformed or repeated ids are a 400 naming the field. A replay or drop naming any id
 * that does not exist changes nothing and answers 404; repeating one that succeeded answers
 * 200 with `already-handled` for each id, so a retried request is harmless.
 */
import Router from '@koa/router';
import { deadLetterTopicName } from '@contracts/topics';
import {
  createDeadLetterAdmin,
  deadLetterAdminCodes,
  parseDeadLetterId,
  type DeadLetterClients,
} from './dead-letter-admin';
import { PlatformError, ProblemError, validationProblem, type FieldError } from './errors';
import { readJsonBody } from './http';
import { guard, type AccessTable } from './auth';

export interface DeadLetterRouterOptions {
  clients: DeadLetterClients;
  /** Group → dead-letter topic; default `deadLetterTopicName` (`<group>.dlq`). */
  topicFor?: (group: string) => string;
  /** Default 64 KiB. */
  bodyLimitBytes?: number;
  /** Most ids one request may name (default 1000). */
  maxIds?: number;
  readTimeoutMs?: number;
}

const maxListLimit = 1_000;

/** Who may call each route (Operators only; `admin` may call every route). */
export const deadLetterAccess = {
  'GET /admin/dead-letters/:group': ['admin'],
  'POST /admin/dead-letters/:group/replay': ['admin'],
  'POST /admin/dead-letters/:group/drop': ['admin'],
} as const satisfies AccessTable;

export function createDeadLetterRouter(options: DeadLetterRouterOptions): Router {
  const topicFor = options.topicFor ?? deadLetterTopicName;
  const bodyLimitBytes = options.bodyLimitBytes ?? 64 * 1024;
  const maxIds = options.maxIds ?? 1_000;
  const router = new Router({ prefix: '/admin/dead-letters' });

  const adminFor = (group: string) => {
    let topic: string;
    try {
      topic = topicFor(group);
    } catch (error) {
      throw validationProblem([
        {
          field: 'group',
          message: error instanceof Error ? error.message : 'cannot name a dead-letter topic',
        },
      ]);
    }
    return createDeadLetterAdmin({
      kafka: options.clients.kafka,
      topic,
      clients: options.clients,
      ...(options.readTimeoutMs === undefined ? {} : { readTimeoutMs: options.readTimeoutMs }),
    });
  };

  router.get('/:group', async (ctx) => {
    const group = ctx.params.group ?? '';
    const query = parseListQuery(ctx.query);
    const admin = adminFor(group);
    const list = await translated(group, () => admin.list(query));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { group, ...list };
  });

  for (const action of ['replay', 'drop'] as const) {
    router.post(`/:group/${action}`, async (ctx) => {
      const group = ctx.params.group ?? '';
      const admin = adminFor(group);
      const ids = parseIdsBody(await readJsonBody(ctx, bodyLimitBytes), maxIds);
      const results = await translated(group, () =>
        action === 'replay' ? admin.replay(ids) : admin.drop(ids),
      );
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { group, topic: admin.topic, results };
    });
  }

  return guard(router, deadLetterAccess);
}

type Query = Record<string, string | string[] | undefined>;

function parseListQuery(query: Query): { limit: number; includeHandled: boolean; fromOffset?: string } {
  const errors: FieldError[] = [];
  const single = (name: string): string | undefined => {
    const value = query[name];
    if (Array.isArray(value)) {
      errors.push({ field: name, message: 'must be given once' });
      return undefined;
    }
    return value;
  };
  for (const name of Object.keys(query)) {
    if (!['limit', 'includeHandled', 'fromOffset'].includes(name))
      errors.push({ field: name, message: 'is not a known parameter (limit, includeHandled, fromOffset)' });
  }
  const rawLimit = single('limit');
  let limit = 100;
  if (rawLimit !== undefined) {
    limit = /^[1-9][0-9]{0,3}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= maxListLimit))
      errors.push({ field: 'limit', message: `must be a whole number from 1 to ${maxListLimit}` });
  }
  const rawInclude = single('includeHandled');
  if (rawInclude !== undefined && rawInclude !== 'true' && rawInclude !== 'false')
    errors.push({ field: 'includeHandled', message: 'must be true or false' });
  const fromOffset = single('fromOffset');
  if (fromOffset !== undefined && !/^(0|[1-9][0-9]{0,18})$/.test(fromOffset))
    errors.push({ field: 'fromOffset', message: 'must be a non-negative whole number' });
  if (errors.length > 0) throw validationProblem(errors);
  return {
    limit,
    includeHandled: rawInclude === 'true',
    ...(fromOffset === undefined ? {} : { fromOffset }),
  };
}

/** `{ "ids": ["p:o", ...] }` and nothing else. */
function parseIdsBody(body: unknown, maxIds: number): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw validationProblem([{ field: '/', message: 'must be an object with an "ids" array' }]);
  const errors: FieldError[] = [];
  for (const name of Object.keys(body))
    if (name !== 'ids') errors.push({ field: `/${name}`, message: 'is not a known field' });
  const ids = 'ids' in body ? body.ids : undefined;
  if (ids === undefined) errors.push({ field: '/ids', message: 'is required' });
  else if (!Array.isArray(ids))
    errors.push({ field: '/ids', message: 'must be an array of "partition:offset"' });
  else if (ids.length === 0) errors.push({ field: '/ids', message: 'must name at least one dead letter' });
  else if (ids.length > maxIds)
    errors.push({ field: '/ids', message: `must name at most ${maxIds} dead letters` });
  else {
    const seen = new Map<string, number>();
    ids.forEach((id: unknown, index) => {
      const field = `/ids/${index}`;
      if (typeof id !== 'string' || parseDeadLetterId(id) === undefined) {
        errors.push({ field, message: 'must be a dead-letter id "partition:offset", e.g. "0:42"' });
        return;
      }
      const first = seen.get(id);
      if (first !== undefined) errors.push({ field, message: `repeats /ids/${first}` });
      else seen.set(id, index);
    });
  }
  if (errors.length > 0) throw validationProblem(errors);
  return ids as string[];
}

/** The admin's refusals as problem responses; anything else goes to the error boundary. */
async function translated<T>(group: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof PlatformError) || error instanceof ProblemError) throw error;
    switch (error.code) {
      case deadLetterAdminCodes.TOPIC_NOT_FOUND:
        throw new ProblemError(404, `Consumer group ${group} has no dead-letter topic.`, {
          code: error.code,
          cause: error,
        });
      case deadLetterAdminCodes.NOT_FOUND:
        throw new ProblemError(404, error.message, {
          code: error.code,
          cause: error,
          details: error.details,
        });
      case deadLetterAdminCodes.NOT_REPLAYABLE:
        throw new ProblemError(422, error.message, {
          code: error.code,
          cause: error,
          details: error.details,
        });
      case deadLetterAdminCodes.INVALID_ID:
        throw validationProblem([{ field: '/ids', message: error.message }]);
      default:
        throw error;
    }
  }
}

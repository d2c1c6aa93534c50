/**
 * Tests are clients like any other: each test process makes one API key per role, gives them to
 * every platform it starts (in-process or as a child process), and sends the key of the role a
 * request needs, as the person behind it would hold it.
 */
import { keyFor, formatApiKeys, generatedKeys } from '@platform/credentials';
import type Koa from 'koa';
import { createHttpAuth, type Role } from '@runtime/auth';
import { publicPaths } from '@runtime/http';

export const testKeys = generatedKeys('test');

/** The environment that makes a platform accept the test keys; metrics on a free port. */
export function testAuthEnv(): Record<string, string> {
  return { HTTP_API_KEYS: formatApiKeys(testKeys), HTTP_API_KEYS_FILE: '', METRICS_PORT: '0' };
}

export function tokenOf(role: Role): string {
  const key = keyFor(testKeys, role);
  if (key === undefined) throw new Error(`no test key for ${role}`);
  return key;
}

/** `Authorization` for a role. */
export const bearer = (role: Role): Record<string, string> => ({ authorization: `Bearer ${tokenOf(role)}` });

/** The role a client calling `path` holds: the one its route table names (admin for operators). */
export function roleFor(path: string): Role {
  const first = path.split(/[/?]/)[1] ?? '';
  switch (first) {
    case 'kitchen':
      return 'kitchen';
    case 'warehouse':
      return 'warehouse';
    case 'delivery':
      return 'delivery';
    case 'inventory':
      return 'inventory';
    case 'admin':
    case 'adapters':
      return 'admin';
    default:
      return 'storefront';
  }
}

/** What a platform does with the test keys, for a test that builds its own HTTP app. */
export function testHttpAuth(): Koa.Middleware {
  return createHttpAuth({
    apiKeys: testKeys,
    jwt: null,
    rateLimit: { requests: 100_000, anonymousRequests: 100_000, windowMs: 1_000 },
    publicPaths,
  });
}

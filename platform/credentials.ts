/**
 * HTTP credentials from configuration: API keys (`client:role[+role…]:key`, in `HTTP_API_KEYS`
 * or a file), and, for a fresh clone, development keys generated once into the stack directory.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRole, roles, type ApiKey, type Role } from '@runtime/auth';

export class CredentialsError extends Error {}

const clientName = /^[A-Za-z0-9._-]{1,64}$/;
const keyText = /^[A-Za-z0-9._~+/=-]{24,512}$/;

/**
 * Entries separated by commas or new lines (`#` starts a comment line). A key is never quoted in
 * an error: only where it stands (`source`, entry n) and the client's name.
 */
export function parseApiKeys(text: string, source: string): ApiKey[] {
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const keys: ApiKey[] = [];
  entries.forEach((entry, index) => {
    const where = `${source}, entry ${index + 1}`;
    const [client = '', granted = '', ...rest] = entry.split(':');
    const key = rest.join(':');
    if (!clientName.test(client))
      throw new CredentialsError(
        `${where}: expected client:role[+role…]:key with a client name of letters, digits, . _ -`,
      );
    const named = granted.split('+').filter(Boolean);
    const unknown = named.filter((role) => !isRole(role));
    if (named.length === 0 || unknown.length > 0)
      throw new CredentialsError(
        `${where} (${client}): roles must be some of ${roles.join(', ')} joined by +, got "${granted}"`,
      );
    if (!keyText.test(key))
      throw new CredentialsError(
        `${where} (${client}): the key must be 24 to 512 characters of letters, digits and . _ ~ + / = -`,
      );
    if (keys.some((known) => known.key === key))
      throw new CredentialsError(`${where} (${client}): the same key is given twice`);
    keys.push({ client, roles: named as Role[], key });
  });
  return keys;
}

export function readApiKeysFile(file: string): ApiKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CredentialsError(`cannot read HTTP_API_KEYS_FILE ${file}: ${(error as Error).message}`);
  }
  return parseApiKeys(text, file);
}

/** The first key that may act as `role` (its own, else an admin's). */
export function keyFor(keys: readonly ApiKey[], role: Role): string | undefined {
  return (
    keys.find((entry) => entry.roles.includes(role)) ?? keys.find((entry) => entry.roles.includes('admin'))
  )?.key;
}

/** One key per role, for a deployment of one machine (development) or a test run. */
export function generatedKeys(prefix: string): ApiKey[] {
  return roles.map((role) => ({
    client: `${prefix}-${role}`,
    roles: [role],
    key: randomBytes(24).toString('base64url'),
  }));
}

export const formatApiKeys = (keys: readonly ApiKey[]): string =>
  keys.map(({ client, roles: granted, key }) => `${client}:${granted.join('+')}:${key}`).join('\n');

/** Where a fresh clone's development keys live: beside the native stack's data. */
export const developmentKeysFile = (stackDir: string): string => path.join(stackDir, 'http-api-keys');

/**
 * The development keys, created on first use (0600; several processes starting at once agree on
 * one file: it is linked into place only if none is there yet).
 */
export function ensureDevelopmentKeys(file: string): ApiKey[] {
  mkdirSync(path.dirname(file), { recursive: true });
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(
    draft,
    `# Development HTTP API keys (client:roles:key), made once for this machine's stack; never\n# used when credentials are configured or the platform listens beyond loopback.\n${formatApiKeys(generatedKeys('dev'))}\n`,
    { mode: 0o600, flag: 'wx' },
  );
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(draft);
  }
  chmodSync(file, 0o600);
  return readApiKeysFile(file);
}

export const credentialVariables = [
  'HTTP_API_KEYS',
  'HTTP_API_KEYS_FILE',
  'HTTP_JWT_SECRET',
  'HTTP_JWT_PUBLIC_KEY',
] as const;

const loopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/**
 * The environment a local command (`npm start`, `npm run context`) starts its platform with:
 * unchanged if any HTTP credential is configured; else, when the API listens on loopback only,
 * plus `HTTP_API_KEYS_FILE` naming the development keys in the stack directory (made on first
 * use). Beyond loopback nothing is added, and the platform refuses to start without credentials.
 */
export function withDevelopmentCredentials(
  env: NodeJS.ProcessEnv,
  stackDir: string,
): { readonly env: NodeJS.ProcessEnv; readonly developmentKeys?: string } {
  if (credentialVariables.some((name) => (env[name] ?? '') !== '')) return { env };
  if (!loopback(env.HTTP_HOST || '127.0.0.1')) return { env };
  const file = developmentKeysFile(stackDir);
  ensureDevelopmentKeys(file);
  return { env: { ...env, HTTP_API_KEYS_FILE: file }, developmentKeys: file };
}

/** The bearer tokens of the traffic simulator's people (orders, goods-in, the map), from keys. */
export function trafficCredentials(keys: readonly ApiKey[]): {
  readonly storefront: string;
  readonly inventory: string;
  readonly admin: string;
} {
  const pick = (role: Role): string => {
    const key = keyFor(keys, role);
    if (key === undefined) throw new CredentialsError(`no API key holds the role ${role} (or admin)`);
    return key;
  };
  return { storefront: pick('storefront'), inventory: pick('inventory'), admin: pick('admin') };
}

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  developmentKeysFile,
  ensureDevelopmentKeys,
  keyFor,
  parseApiKeys,
  trafficCredentials,
  withDevelopmentCredentials,
} from './credentials';
import { ConfigError, readPlatformConfig } from './config';

const key = (n: number): string => `key-${String(n).padStart(2, '0')}-abcdefghijklmnopqrstu`;

describe('API keys from configuration', () => {
  it('are client:role[+role]:key entries, separated by commas or lines, # for comments', () => {
    expect(
      parseApiKeys(
        `shop:storefront:${key(1)}, ops:admin:${key(2)}\n# the kitchen\nline:kitchen+warehouse:${key(3)}`,
        'X',
      ),
    ).toEqual([
      { client: 'shop', roles: ['storefront'], key: key(1) },
      { client: 'ops', roles: ['admin'], key: key(2) },
      { client: 'line', roles: ['kitchen', 'warehouse'], key: key(3) },
    ]);
  });

  it.each([
    [
      `shop:cashier:${key(1)}`,
      'X, entry 1 (shop): roles must be some of storefront, kitchen, warehouse, delivery, inventory, admin',
    ],
    ['shop:storefront:short', 'X, entry 1 (shop): the key must be 24 to 512 characters'],
    [`sh op:storefront:${key(1)}`, 'X, entry 1: expected client:role[+role…]:key'],
    [`a:storefront:${key(1)},b:kitchen:${key(1)}`, 'X, entry 2 (b): the same key is given twice'],
  ])('refuse %j naming where, never the key', (text, message) => {
    expect(() => parseApiKeys(text, 'X')).toThrow(message);
    try {
      parseApiKeys(text, 'X');
    } catch (error) {
      expect((error as Error).message).not.toContain(key(1));
    }
  });

  it('reach the platform settings, with the rate limits and the metrics listener', () => {
    const config = readPlatformConfig(
      { kafkaBrokers: ['k:1'], schemaRegistryUrl: 'http://r', mongoUrl: 'mongodb://m/' },
      ['order'],
      {
        HTTP_API_KEYS: `shop:storefront:${key(1)}`,
        HTTP_JWT_SECRET: 'a'.repeat(32),
        HTTP_JWT_AUDIENCE: 'scm',
      },
    );
    expect(config.http).toEqual({
      auth: {
        apiKeys: [{ client: 'shop', roles: ['storefront'], key: key(1) }],
        jwt: { secret: 'a'.repeat(32), audience: 'scm' },
        rateLimit: { requests: 1000, anonymousRequests: 50, windowMs: 1000 },
      },
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
    });
    const endpoints = { kafkaBrokers: ['k:1'], schemaRegistryUrl: 'http://r', mongoUrl: 'mongodb://m/' };
    expect(() => readPlatformConfig(endpoints, ['order'], { HTTP_JWT_SECRET: 'short' })).toThrow(
      new ConfigError('HTTP_JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit secret)'),
    );
    expect(() =>
      readPlatformConfig(endpoints, ['order'], { HTTP_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nxx' }),
    ).toThrow(/HTTP_JWT_PUBLIC_KEY is not a usable public key/);
    expect(() => readPlatformConfig(endpoints, ['order'], { HTTP_API_KEYS: 'shop:storefront:x' })).toThrow(
      ConfigError,
    );
  });

  it('give each role its own key, else an admin key', () => {
    const keys = parseApiKeys(`shop:storefront:${key(1)},ops:admin:${key(2)}`, 'X');
    expect(keyFor(keys, 'storefront')).toBe(key(1));
    expect(keyFor(keys, 'inventory')).toBe(key(2));
    expect(trafficCredentials(keys)).toEqual({ storefront: key(1), inventory: key(2), admin: key(2) });
    expect(() => trafficCredentials(keys.slice(0, 1))).toThrow(
      'no API key holds the role inventory (or admin)',
    );
  });
});

describe('development keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dev-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are made once, readable by the owner only, one per role', () => {
    const file = developmentKeysFile(dir);
    const first = ensureDevelopmentKeys(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.map((entry) => entry.client)).toEqual([
      'dev-storefront',
      'dev-kitchen',
      'dev-warehouse',
      'dev-delivery',
      'dev-inventory',
      'dev-admin',
    ]);
    expect(ensureDevelopmentKeys(file)).toEqual(first);
    expect(readFileSync(file, 'utf8')).toContain(`dev-admin:admin:${keyFor(first, 'admin')}`);
  });

  it('are used only when no credential is configured and the API listens on loopback', () => {
    const file = developmentKeysFile(dir);
    expect(withDevelopmentCredentials({}, dir)).toEqual({
      env: { HTTP_API_KEYS_FILE: file },
      developmentKeys: file,
    });
    expect(withDevelopmentCredentials({ HTTP_HOST: 'localhost' }, dir).developmentKeys).toBe(file);
    for (const env of [
      { HTTP_JWT_SECRET: 'x'.repeat(32) },
      { HTTP_API_KEYS: `a:admin:${key(1)}` },
      { HTTP_HOST: '0.0.0.0' },
    ])
      expect(withDevelopmentCredentials(env, dir)).toEqual({ env });
  });
});

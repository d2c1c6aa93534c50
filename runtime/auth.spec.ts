import { generateKeyPairSync } from 'node:crypto';
import Router from '@koa/router';
import { SignJWT, exportSPKI, importPKCS8 } from 'jose';
import { Registry } from 'prom-client';
import {
  createHttpAuth,
  createTokenVerifier,
  guard,
  mayCall,
  roles,
  type ApiKey,
  type AuthSettings,
} from './auth';
import { createHttpApp, publicPaths, startHttpServer, type RunningHttpServer } from './http';

const keys: ApiKey[] = [
  { client: 'shop', roles: ['storefront'], key: 'shop-key-0123456789abcdefghij' },
  { client: 'cook', roles: ['kitchen'], key: 'cook-key-0123456789abcdefghij' },
  { client: 'ops', roles: ['admin'], key: 'ops-key-0123456789abcdefghijk' },
];
const secret = 'a-shared-secret-of-at-least-32-characters!';
const hmac = new TextEncoder().encode(secret);

const signed = (claims: Record<string, unknown>, expiresIn: string | number = '5m') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('app-1')
    .setExpirationTime(expiresIn)
    .sign(hmac);

describe('access', () => {
  it('let admin call every route, every other role only its own', () => {
    for (const role of roles) {
      expect(mayCall(['admin'], [role])).toBe(true);
      for (const other of roles.filter((r) => r !== role && r !== 'admin'))
        expect(mayCall([other], [role])).toBe(false);
    }
    expect(mayCall(['kitchen', 'warehouse'], ['warehouse'])).toBe(true);
    expect(mayCall([], ['storefront'])).toBe(false);
  });

  it('must name every route of their router, and only routes it has', () => {
    const router = (): Router => {
      const r = new Router({ prefix: '/x' });
      r.get('/a', (ctx) => (ctx.body = 'a'));
      r.post('/a/:id/b', (ctx) => (ctx.body = 'b'));
      return r;
    };
    expect(() => guard(router(), { 'GET /x/a': ['kitchen'] })).toThrow(
      'the access table names no roles for POST /x/a/:id/b',
    );
    expect(() =>
      guard(router(), { 'GET /x/a': ['kitchen'], 'POST /x/a/:id/b': ['kitchen'], 'PUT /x/a': ['kitchen'] }),
    ).toThrow('the access table names routes that do not exist: PUT /x/a');
    expect(() => guard(router(), { 'GET /x/a': ['kitchen'], 'POST /x/a/:id/b': ['admin'] })).not.toThrow();
  });
});

describe('token checking', () => {
  const verify = createTokenVerifier({ apiKeys: keys, jwt: { secret } });

  it('accepts a configured API key as the bearer token, naming its client and roles', async () => {
    await expect(verify('Bearer shop-key-0123456789abcdefghij')).resolves.toEqual({
      client: 'shop',
      roles: ['storefront'],
      via: 'api-key',
    });
    await expect(verify('bearer   ops-key-0123456789abcdefghijk')).resolves.toMatchObject({ client: 'ops' });
  });

  it.each([
    [undefined, 'This request needs credentials', 'Bearer realm="scm"'],
    ['', 'This request needs credentials', 'Bearer realm="scm"'],
    ['Basic c2hvcDpzZWNyZXQ=', 'must be "Bearer', 'Bearer realm="scm", error="invalid_token"'],
    [
      'Bearer not-a-known-key-0123456789',
      'neither a known API key nor a valid JWT',
      'Bearer realm="scm", error="invalid_token"',
    ],
  ])('refuses %j with 401 and WWW-Authenticate', async (header, detail, challenge) => {
    const refusal = verify(header);
    await expect(refusal).rejects.toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      headers: { 'WWW-Authenticate': challenge },
    });
    await expect(refusal).rejects.toThrow(detail);
  });

  it('accepts an HS256 JWT signed with the secret: its sub and known roles', async () => {
    const token = await signed({ roles: ['warehouse', 'delivery', 'superuser'] });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({
      client: 'app-1',
      roles: ['warehouse', 'delivery'],
      via: 'jwt',
    });
  });

  it('refuses an expired JWT, one without exp, a wrong signature and an unsigned one, without echoing it', async () => {
    const expired = await signed({ roles: ['admin'] }, Math.floor(Date.now() / 1000) - 60);
    const noExpiry = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .sign(hmac);
    const otherSecret = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-characters'));
    const [header, payload] = (await signed({ roles: ['admin'] })).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    const forged = `${header}.${Buffer.from(JSON.stringify({ sub: 'x', roles: ['admin'], exp: 9e9 })).toString('base64url')}.${(await signed({})).split('.')[2]}`;
    for (const [token, detail] of [
      [expired, 'The token has expired.'],
      [noExpiry, 'The token\'s "exp" claim is missing or not accepted here.'],
      [otherSecret, "The token's signature does not verify."],
      [unsigned, 'neither a known API key nor a valid JWT'],
      [forged, "The token's signature does not verify."],
    ] as const) {
      const refusal = verify(`Bearer ${token}`);
      await expect(refusal).rejects.toMatchObject({ status: 401 });
      await expect(refusal).rejects.toThrow(detail);
      await refusal.catch((error: Error) => expect(error.message).not.toContain(token));
    }
  });

  it('checks issuer and audience when they are configured', async () => {
    const strict = createTokenVerifier({
      apiKeys: [],
      jwt: { secret, issuer: 'https://idp', audience: 'scm' },
    });
    const good = await new SignJWT({ roles: ['kitchen'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('k')
      .setIssuer('https://idp')
      .setAudience(['scm', 'other'])
      .setExpirationTime('5m')
      .sign(hmac);
    await expect(strict(`Bearer ${good}`)).resolves.toMatchObject({ client: 'k', roles: ['kitchen'] });
    await expect(strict(`Bearer ${await signed({ iss: 'https://idp' })}`)).rejects.toThrow('"aud" claim');
    await expect(strict(`Bearer ${await signed({ aud: 'scm', iss: 'https://elsewhere' })}`)).rejects.toThrow(
      '"iss" claim',
    );
  });

  it.each([
    ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['EdDSA', () => generateKeyPairSync('ed25519')],
  ] as const)(
    'verifies %s with a public key, and never takes the public key as an HMAC secret',
    async (alg, pair) => {
      const { publicKey, privateKey } = pair();
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const signing = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), alg);
      const verifyPublic = createTokenVerifier({ apiKeys: [], jwt: { publicKey: pem } });
      const token = await new SignJWT({ roles: ['inventory'] })
        .setProtectedHeader({ alg })
        .setSubject('erp')
        .setExpirationTime('5m')
        .sign(signing);
      await expect(verifyPublic(`Bearer ${token}`)).resolves.toEqual({
        client: 'erp',
        roles: ['inventory'],
        via: 'jwt',
      });
      // The classic confusion: an HS256 token whose "secret" is the public key's text.
      const confused = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('mallory')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(await exportSPKI(publicKey)));
      await expect(verifyPublic(`Bearer ${confused}`)).rejects.toThrow(
        "The token's algorithm is not accepted here.",
      );
    },
  );
});

describe('the HTTP middleware', () => {
  const servers: RunningHttpServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function serve(rateLimit: AuthSettings['rateLimit']): Promise<string> {
    const router = new Router({ prefix: '/kitchen' });
    router.get('/tasks', (ctx) => (ctx.body = { tasks: [] }));
    const app = createHttpApp({
      metricsRegistry: new Registry(),
      health: () => ({ status: 'up' }),
      readiness: async () => ({ ready: true, reasons: [] }),
      routers: [guard(router, { 'GET /kitchen/tasks': ['kitchen'] })],
      bodyLimitBytes: 1024,
      auth: createHttpAuth({ apiKeys: keys, jwt: null, rateLimit, publicPaths }),
    });
    const server = await startHttpServer(app, 0);
    servers.push(server);
    return server.url;
  }
  const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
  const generous = { requests: 100, anonymousRequests: 100, windowMs: 1000 };

  it('answers the probes without credentials, 401 without, 403 naming the role for another role, 200 for the role and for admin', async () => {
    const url = await serve(generous);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const anonymous = await fetch(`${url}/kitchen/tasks`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="scm"');
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    const shop = await fetch(`${url}/kitchen/tasks`, as(keys[0]?.key ?? ''));
    expect(shop.status).toBe(403);
    expect(await shop.json()).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      detail: 'GET /kitchen/tasks needs the role kitchen or admin; the credentials of shop hold storefront.',
    });
    expect((await fetch(`${url}/kitchen/tasks`, as(keys[1]?.key ?? ''))).status).toBe(200);
    expect((await fetch(`${url}/kitchen/tasks`, as(keys[2]?.key ?? ''))).status).toBe(200);
    // Unknown paths are not revealed to strangers.
    expect((await fetch(`${url}/nothing-here`)).status).toBe(401);
    expect((await fetch(`${url}/nothing-here`, as(keys[1]?.key ?? ''))).status).toBe(404);
  });

  it('limits each client, and strangers per address, with 429 and Retry-After', async () => {
    const url = await serve({ requests: 3, anonymousRequests: 2, windowMs: 60_000 });
    const cook = as(keys[1]?.key ?? '');
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await fetch(`${url}/kitchen/tasks`, cook)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await fetch(`${url}/kitchen/tasks`, cook);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(await limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // Another client has a budget of its own.
    expect((await fetch(`${url}/kitchen/tasks`, as(keys[2]?.key ?? ''))).status).toBe(200);
    const strangers = [];
    for (let i = 0; i < 3; i += 1)
      strangers.push((await fetch(`${url}/kitchen/tasks`, as('guess-0123456789abcdefghij'))).status);
    expect(strangers).toEqual([401, 401, 429]);
  });
});

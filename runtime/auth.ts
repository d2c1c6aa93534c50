/**
 * Who may call what over HTTP. Every request but the probes carries `Authorization: Bearer …`:
 * a signed JWT (HS256 with a shared secret, or RS/PS/ES/EdDSA with a public key, verified by
 * `jose`) or an API key from the configuration. The token names a client and its roles; each
 * router declares, in one table, the roles each of its routes needs (`guard`); and every client
 * has a request budget per window (`rate-limiter-flexible`), requests without valid credentials
 * one per address.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type Router from '@koa/router';
import { errors as joseErrors, importSPKI, jwtVerify, type JWTPayload } from 'jose';
import type Koa from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ProblemError } from './errors';

export const roles = ['storefront', 'kitchen', 'warehouse', 'delivery', 'inventory', 'admin'] as const;
export type Role = (typeof roles)[number];

export const isRole = (value: unknown): value is Role => (roles as readonly unknown[]).includes(value);

/**
 * A router's access table: `METHOD /path`, the path as the router matches it (its prefix
 * included, `/orders/:id`), to the roles that may call it. `admin` may call every route: the
 * operator's role (dead letters, the adapter's map) is also the one that answers incidents,
 * which means reading and acting on any context; every other role is one context's.
 */
export type AccessTable = Readonly<Record<string, readonly Role[]>>;

export interface Principal {
  /** The API key's client name, or the JWT's `sub`. */
  readonly client: string;
  readonly roles: readonly Role[];
  readonly via: 'api-key' | 'jwt';
}

/** The principal of the request in hand (set by `createHttpAuth`). */
export function principalOf(ctx: { readonly state: Record<string, unknown> }): Principal | undefined {
  const principal = ctx.state.principal as Principal | undefined;
  return principal;
}

/**
 * Puts the table's roles in front of each of the router's routes, and refuses (throws, at
 * start) a route the table does not name or an entry that names no route: no route is left
 * open by forgetting it, and the table cannot drift from the router. A request without a
 * principal is refused with 401 here too, so a guarded router never answers an app that
 * forgot to authenticate.
 */
export function guard<R extends Router>(router: R, table: AccessTable): R {
  const declared = new Set(Object.keys(table));
  for (const layer of router.stack) {
    const methods = layer.methods.filter((method) => method !== 'HEAD');
    if (methods.length === 0) continue;
    for (const method of methods) {
      const route = `${method} ${String(layer.path)}`;
      const allowed = table[route];
      if (allowed === undefined) throw new Error(`the access table names no roles for ${route}`);
      declared.delete(route);
      if (methods.length > 1)
        throw new Error(`${String(layer.path)}: one method per route, so each can have its own roles`);
      layer.stack.unshift(requireRoles(allowed));
    }
  }
  if (declared.size > 0)
    throw new Error(`the access table names routes that do not exist: ${[...declared].join(', ')}`);
  return router;
}

/** Whether a principal with `held` may call a route that needs one of `needed`. */
export function mayCall(held: readonly Role[], needed: readonly Role[]): boolean {
  return held.includes('admin') || needed.some((role) => held.includes(role));
}

function requireRoles(needed: readonly Role[]): Koa.Middleware {
  return async (ctx, next) => {
    const principal = principalOf(ctx);
    if (principal === undefined) throw unauthenticated('This request carries no credentials.');
    if (!mayCall(principal.roles, needed)) {
      const wanted = [...new Set([...needed, 'admin'])].join(' or ');
      throw new ProblemError(
        403,
        `${ctx.method} ${String(ctx._matchedRoute ?? ctx.path)} needs the role ${wanted}; ` +
          `the credentials of ${principal.client} hold ${principal.roles.join(', ') || 'no role'}.`,
        { code: 'FORBIDDEN', title: 'Forbidden', details: { needed } },
      );
    }
    await next();
  };
}

export interface ApiKey {
  readonly client: string;
  readonly roles: readonly Role[];
  readonly key: string;
}

export interface JwtSettings {
  /** HS256 shared secret. */
  readonly secret?: string;
  /** SPKI PEM public key (RSA, EC or Ed25519). */
  readonly publicKey?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

export interface RateLimit {
  /** Requests per window per client (API key client or JWT subject). */
  readonly requests: number;
  /** Requests per window per address, for requests without valid credentials. */
  readonly anonymousRequests: number;
  readonly windowMs: number;
}

export interface AuthSettings {
  readonly apiKeys: readonly ApiKey[];
  readonly jwt: JwtSettings | null;
  readonly rateLimit: RateLimit;
}

const realm = 'scm';
const looksLikeJwt = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function unauthenticated(detail: string, invalidToken = false): ProblemError {
  return new ProblemError(401, detail, {
    code: 'UNAUTHENTICATED',
    title: 'Unauthorized',
    headers: {
      'WWW-Authenticate': invalidToken
        ? `Bearer realm="${realm}", error="invalid_token"`
        : `Bearer realm="${realm}"`,
    },
  });
}

const digest = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * Checks a request's `Authorization` header: the principal, or a 401 problem saying what is
 * wrong without repeating the token.
 */
export function createTokenVerifier(
  settings: Pick<AuthSettings, 'apiKeys' | 'jwt'>,
): (authorization: string | undefined) => Promise<Principal> {
  // Looked up by digest: the presented key is never compared byte by byte with a stored one, so
  // the time taken says nothing about how much of it was right.
  const byDigest = new Map(settings.apiKeys.map((entry) => [digest(entry.key), entry]));
  const jwt = settings.jwt === null ? null : jwtVerifier(settings.jwt);
  return async (authorization) => {
    if (authorization === undefined || authorization.trim() === '')
      throw unauthenticated('This request needs credentials: Authorization: Bearer <token or API key>.');
    const match = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(authorization);
    if (!match?.[1])
      throw unauthenticated('The Authorization header must be "Bearer <token or API key>".', true);
    const token = match[1];
    const entry = byDigest.get(digest(token));
    if (entry !== undefined) return { client: entry.client, roles: entry.roles, via: 'api-key' };
    if (jwt !== null && looksLikeJwt.test(token)) return jwt(token);
    throw unauthenticated('The bearer token is neither a known API key nor a valid JWT.', true);
  };
}

function jwtVerifier(settings: JwtSettings): (token: string) => Promise<Principal> {
  const secret = settings.secret === undefined ? undefined : new TextEncoder().encode(settings.secret);
  const pem = settings.publicKey;
  const asymmetric = pem === undefined ? [] : algorithmsFor(createPublicKey(pem));
  const algorithms = [...(secret === undefined ? [] : ['HS256']), ...asymmetric];
  // The key imported once per algorithm it verifies (an RSA key serves RS256 and PS256 alike).
  const imported = new Map<string, ReturnType<typeof importSPKI>>();
  const publicKeyFor = (alg: string): ReturnType<typeof importSPKI> => {
    let key = imported.get(alg);
    if (key === undefined) {
      key = importSPKI(String(pem), alg);
      imported.set(alg, key);
    }
    return key;
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          // Each key verifies only its own algorithms: a public key is never used as an HMAC secret.
          if (header.alg === 'HS256' && secret !== undefined) return secret;
          if (header.alg !== undefined && asymmetric.includes(header.alg)) return publicKeyFor(header.alg);
          throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
        },
        {
          algorithms,
          requiredClaims: ['exp', 'sub'],
          ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
          ...(settings.audience === undefined ? {} : { audience: settings.audience }),
        },
      ));
    } catch (error) {
      throw unauthenticated(jwtRefusal(error), true);
    }
    const claimed = Array.isArray(payload.roles) ? payload.roles : [];
    return { client: String(payload.sub), roles: claimed.filter(isRole), via: 'jwt' };
  };
}

/** Why a JWT was refused, in words that reveal nothing about the keys. */
function jwtRefusal(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `The token's "${error.claim}" claim is missing or not accepted here.`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "The token's algorithm is not accepted here.";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return "The token's signature does not verify.";
  return 'The token is not a valid JWT.';
}

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const byCurve: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
      const algorithm = curve === undefined ? undefined : byCurve[curve];
      if (algorithm === undefined)
        throw new Error(`the JWT public key's curve ${String(curve)} is not supported`);
      return [algorithm];
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      throw new Error(`the JWT public key's type ${String(key.asymmetricKeyType)} is not supported`);
  }
}

export interface HttpAuthOptions extends AuthSettings {
  /** Paths answered without credentials (the probes). */
  readonly publicPaths: readonly string[];
}

/**
 * The middleware in front of every route: authenticates (the principal goes to
 * `ctx.state.principal`) and spends one request of the client's budget, else of the address's
 * when the credentials are missing or wrong — so guessing keys is as limited as any flood. Over
 * budget: 429 with `Retry-After`, before the 401 a bad token would get.
 */
export function createHttpAuth(options: HttpAuthOptions): Koa.Middleware {
  const verify = createTokenVerifier(options);
  const { requests, anonymousRequests, windowMs } = options.rateLimit;
  const duration = windowMs / 1000;
  const perClient = new RateLimiterMemory({ keyPrefix: 'client', points: requests, duration });
  const perAddress = new RateLimiterMemory({ keyPrefix: 'address', points: anonymousRequests, duration });
  const open = new Set(options.publicPaths);
  return async (ctx, next) => {
    if (open.has(ctx.path)) return next();
    let principal: Principal;
    try {
      principal = await verify(ctx.get('Authorization') || undefined);
    } catch (error) {
      await spend(perAddress, `ip:${ctx.ip}`, 'requests without valid credentials from this address');
      throw error;
    }
    await spend(perClient, `${principal.via}:${principal.client}`, `requests of ${principal.client}`);
    ctx.state.principal = principal;
    await next();
  };
}

async function spend(limiter: RateLimiterMemory, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (refusal) {
    if (!(refusal instanceof RateLimiterRes)) throw refusal;
    const seconds = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
    throw new ProblemError(
      429,
      `Too many ${what}: at most ${limiter.points} every ${limiter.duration} s. Retry in ${seconds} s.`,
      {
        code: 'RATE_LIMITED',
        title: 'Too Many Requests',
        headers: { 'Retry-After': String(seconds) },
      },
    );
  }
}

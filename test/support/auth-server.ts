/**
 * A real, local OAuth 2.1 authorization server for tests: node:http on 127.0.0.1:0, keys and
 * signatures from jose. It serves
 *
 * - RFC 8414 metadata at /.well-known/oauth-authorization-server
 * - the JWKS at /jwks (every published key: current ones and, after `rotate()`, old ones until
 *   `dropOld()`)
 * - RFC 7662 introspection at /introspect (client_secret_basic only)
 * - a token endpoint at /token: `client_credentials` (RFC 6749 §4.4) and RFC 8693 token exchange
 *   (`urn:ietf:params:oauth:grant-type:token-exchange`) with an `act` claim naming the actor;
 *   clients authenticate with client_secret_basic or client_secret_post
 *
 * plus helpers minting deliberately bad tokens (alg none, wrong signature, HS256 keyed with the
 * public key, unknown kid). `counts` records hits per endpoint so tests can assert caching.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

export type SigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export interface AuthServerOptions {
  /** Algorithm of the signing key (default RS256). */
  alg?: SigningAlg;
  /** Registered confidential clients, id → secret. Default: { portcullis: 'portcullis-secret' }. */
  clients?: Record<string, string>;
  /** Lifetime of tokens from the token endpoint, seconds (default 300). Mutable later via `tokenTtlSec`. */
  tokenTtlSec?: number;
}

/** Claims to sign plus minting options; `iss`, `iat`, `exp` and `jti` are filled in unless given. */
export type IssueClaims = JWTPayload & {
  /** Seconds from now until `exp` (default 300; negative makes an expired token). */
  expiresIn?: number;
  /** Seconds from now until `nbf`. */
  notBefore?: number;
  /** Header `kid` override (the signature still uses the real key). */
  kid?: string;
  /** Sign with a key of this algorithm (created and published on first use). */
  alg?: SigningAlg;
  /** Header `typ`. */
  typ?: string;
};

export interface TokenRequestRecord {
  clientId: string;
  params: Record<string, string>;
}

export interface AuthServer {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly tokenUrl: string;
  readonly introspectionUrl: string;
  readonly metadataUrl: string;
  /** The default client's credentials (the first of `clients`). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** The kid new tokens are signed with (default alg). */
  readonly currentKid: string;
  readonly counts: { jwks: number; introspection: number; token: number };
  /** Every token endpoint request that passed client authentication, in order. */
  readonly tokenRequests: TokenRequestRecord[];
  /** Lifetime of tokens from the token endpoint, seconds. */
  tokenTtlSec: number;
  /** When set, the endpoint answers with this status (and an RFC 6749 error body) instead. */
  fail: { token?: number; introspection?: number; jwks?: number };
  issue(claims?: IssueClaims): Promise<string>;
  /** An opaque (non-JWT) token known only to introspection. */
  issueOpaque(claims?: JWTPayload & { expiresIn?: number }): string;
  /** A new key (new kid) becomes current; old keys stay in the JWKS until `dropOld()`. */
  rotate(): Promise<void>;
  dropOld(): void;
  /** Introspection reports the token inactive from now on; token exchange refuses it. */
  revoke(token: string): void;
  readonly bad: {
    algNone(claims?: JWTPayload): string;
    /** Signed by a key the server never published, under the current kid. */
    wrongSignature(claims?: JWTPayload): Promise<string>;
    /** HS256 with the current public key (SPKI PEM) as the HMAC secret: algorithm confusion. */
    hs256WithPublicKey(claims?: JWTPayload): Promise<string>;
    /** Validly signed by an unpublished key with an unknown kid. */
    unknownKid(claims?: JWTPayload): Promise<string>;
  };
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function newKey(alg: SigningAlg, kid = `k-${randomUUID().slice(0, 8)}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

const MAX_BODY = 64 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of req) {
    total += (c as Buffer).length;
    if (total > MAX_BODY) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** RFC 6749 §2.3.1 client_secret_basic (form-decoded id and secret) or §2.3.1 client_secret_post. */
function clientOf(req: IncomingMessage, form: URLSearchParams, clients: Record<string, string>, allowPost: boolean): string | undefined {
  const auth = req.headers.authorization;
  let id: string | undefined;
  let secret: string | undefined;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const dec = (s: string): string => decodeURIComponent(s.replaceAll('+', ' '));
    try {
      id = dec(decoded.slice(0, colon));
      secret = dec(decoded.slice(colon + 1));
    } catch {
      return undefined;
    }
  } else if (allowPost) {
    id = form.get('client_id') ?? undefined;
    secret = form.get('client_secret') ?? undefined;
  }
  if (id === undefined || secret === undefined || !Object.hasOwn(clients, id) || clients[id] !== secret) return undefined;
  return id;
}

export async function startAuthServer(opts: AuthServerOptions = {}): Promise<AuthServer> {
  const defaultAlg = opts.alg ?? 'RS256';
  const clients = opts.clients ?? { portcullis: 'portcullis-secret' };
  const [clientId, clientSecret] = Object.entries(clients)[0] ?? ['', ''];
  let keys: SigningKey[] = [await newKey(defaultAlg)];
  /** alg → kid of the key new tokens with that alg are signed with. */
  const current = new Map<SigningAlg, string>([[defaultAlg, keys[0]!.kid]]);
  const revoked = new Set<string>();
  const opaque = new Map<string, JWTPayload>();
  const counts = { jwks: 0, introspection: 0, token: 0 };
  const tokenRequests: TokenRequestRecord[] = [];
  const fail: AuthServer['fail'] = {};
  let issuer = '';

  const keyFor = async (alg: SigningAlg): Promise<SigningKey> => {
    const kid = current.get(alg);
    const found = keys.find((k) => k.kid === kid);
    if (found) return found;
    const k = await newKey(alg);
    keys.push(k);
    current.set(alg, k.kid);
    return k;
  };
  const currentKey = (): SigningKey => keys.find((k) => k.kid === current.get(defaultAlg))!;

  const sign = async (claims: IssueClaims = {}): Promise<string> => {
    const { expiresIn, notBefore, kid, alg, typ, ...payload } = claims;
    const key = await keyFor(alg ?? defaultAlg);
    const now = Math.floor(Date.now() / 1000);
    const body: JWTPayload = { iss: issuer, iat: now, exp: now + (expiresIn ?? 300), jti: randomUUID(), ...payload };
    if (notBefore !== undefined) body.nbf = now + notBefore;
    return new SignJWT(body)
      .setProtectedHeader({ alg: key.alg, kid: kid ?? key.kid, ...(typ !== undefined ? { typ } : {}) })
      .sign(key.privateKey);
  };

  /** The claims of a token this server issued and still considers active, else undefined. */
  const activeClaims = async (token: string): Promise<JWTPayload | undefined> => {
    if (revoked.has(token)) return undefined;
    const o = opaque.get(token);
    if (o) return typeof o.exp === 'number' && o.exp * 1000 > Date.now() ? o : undefined;
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: keys.map((k) => k.jwk) }), { issuer });
      return payload;
    } catch {
      return undefined;
    }
  };

  const tokenResponse = async (claims: JWTPayload, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const access_token = await sign({ ...claims, expiresIn: server.tokenTtlSec });
    return {
      access_token,
      token_type: 'Bearer',
      expires_in: server.tokenTtlSec,
      ...(typeof claims.scope === 'string' ? { scope: claims.scope } : {}),
      ...extra,
    };
  };

  const audienceOf = (form: URLSearchParams): string | string[] | undefined => {
    const all = [...form.getAll('resource'), ...form.getAll('audience')];
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
  };

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counts.token++;
    if (fail.token !== undefined) return json(res, fail.token, { error: 'temporarily_unavailable' });
    const form = await readForm(req);
    const client = clientOf(req, form, clients, true);
    if (client === undefined) return json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="token"' });
    tokenRequests.push({ clientId: client, params: Object.fromEntries(form) });
    const grant = form.get('grant_type');
    const scope = form.get('scope') ?? undefined;
    const aud = audienceOf(form);
    if (grant === 'client_credentials') {
      return json(res, 200, await tokenResponse({ sub: client, client_id: client, ...(aud ? { aud } : {}), ...(scope ? { scope } : {}) }));
    }
    if (grant === TOKEN_EXCHANGE_GRANT) {
      // RFC 8693 §2.2.2: an invalid subject_token or actor_token is `invalid_request`.
      const subjectToken = form.get('subject_token');
      const subjectType = form.get('subject_token_type');
      if (!subjectToken || (subjectType !== ACCESS_TOKEN_TYPE && subjectType !== JWT_TOKEN_TYPE)) {
        return json(res, 400, { error: 'invalid_request', error_description: 'subject_token and a supported subject_token_type are required' });
      }
      const subject = await activeClaims(subjectToken);
      if (!subject) return json(res, 400, { error: 'invalid_request', error_description: 'subject_token is not active' });
      let actor: Record<string, unknown> = { sub: client };
      const actorToken = form.get('actor_token');
      if (actorToken) {
        const a = await activeClaims(actorToken);
        if (!a) return json(res, 400, { error: 'invalid_request', error_description: 'actor_token is not active' });
        actor = { sub: a.sub };
      }
      // §4.1: prior delegation is kept as a nested `act`.
      if (subject.act !== undefined) actor.act = subject.act;
      const claims: JWTPayload = {
        sub: subject.sub,
        client_id: client,
        act: actor,
        ...(aud ? { aud } : {}),
        ...((scope ?? subject.scope) !== undefined ? { scope: scope ?? (subject.scope as string) } : {}),
      };
      return json(res, 200, await tokenResponse(claims, { issued_token_type: ACCESS_TOKEN_TYPE }));
    }
    return json(res, 400, { error: 'unsupported_grant_type' });
  }

  async function handleIntrospection(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counts.introspection++;
    if (fail.introspection !== undefined) return json(res, fail.introspection, { error: 'temporarily_unavailable' });
    const form = await readForm(req);
    // RFC 7662 §2.1: the protected resource must authenticate; here client_secret_basic only.
    if (clientOf(req, form, clients, false) === undefined) {
      return json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="introspection"' });
    }
    const token = form.get('token');
    if (!token) return json(res, 400, { error: 'invalid_request' });
    const claims = await activeClaims(token);
    // §2.2: for an inactive token, only {"active": false}.
    json(res, 200, claims ? { active: true, token_type: 'Bearer', ...claims } : { active: false });
  }

  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = async (): Promise<void> => {
      if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
        return json(res, 200, {
          issuer,
          // RFC 8414 §2 makes it REQUIRED whenever the code grant exists, and MCP clients (the
          // SDK) insist on it; this server has no interactive login, so it is never served.
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: server.tokenUrl,
          jwks_uri: server.jwksUrl,
          introspection_endpoint: server.introspectionUrl,
          response_types_supported: ['code'],
          grant_types_supported: ['client_credentials', TOKEN_EXCHANGE_GRANT],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
        });
      }
      if (req.method === 'GET' && path === '/jwks') {
        counts.jwks++;
        if (fail.jwks !== undefined) return json(res, fail.jwks, { error: 'temporarily_unavailable' });
        return json(res, 200, { keys: keys.map((k) => k.jwk) });
      }
      if (req.method === 'POST' && path === '/token') return handleToken(req, res);
      if (req.method === 'POST' && path === '/introspect') return handleIntrospection(req, res);
      json(res, 404, { error: 'not_found' });
    };
    route().catch(() => {
      if (!res.headersSent) json(res, 400, { error: 'invalid_request' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  issuer = `http://127.0.0.1:${port}`;

  const server: AuthServer = {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    tokenUrl: `${issuer}/token`,
    introspectionUrl: `${issuer}/introspect`,
    metadataUrl: `${issuer}/.well-known/oauth-authorization-server`,
    clientId,
    clientSecret,
    get currentKid() {
      return currentKey().kid;
    },
    counts,
    tokenRequests,
    tokenTtlSec: opts.tokenTtlSec ?? 300,
    fail,
    issue: sign,
    issueOpaque(claims = {}) {
      const { expiresIn, ...rest } = claims;
      const token = `opaque-${randomBytes(24).toString('base64url')}`;
      const now = Math.floor(Date.now() / 1000);
      opaque.set(token, { iss: issuer, iat: now, exp: now + (expiresIn ?? 300), ...rest });
      return token;
    },
    async rotate() {
      const k = await newKey(defaultAlg);
      keys.push(k);
      current.set(defaultAlg, k.kid);
    },
    dropOld() {
      const live = new Set(current.values());
      keys = keys.filter((k) => live.has(k.kid));
    },
    revoke(token) {
      revoked.add(token);
    },
    bad: {
      algNone(claims = {}) {
        const now = Math.floor(Date.now() / 1000);
        return new UnsecuredJWT({ iss: issuer, iat: now, exp: now + 300, ...claims }).encode();
      },
      async wrongSignature(claims = {}) {
        const impostor = await newKey(defaultAlg, currentKey().kid);
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ iss: issuer, iat: now, exp: now + 300, ...claims })
          .setProtectedHeader({ alg: defaultAlg, kid: impostor.kid })
          .sign(impostor.privateKey);
      },
      async hs256WithPublicKey(claims = {}) {
        const k = currentKey();
        const pem = await exportSPKI(k.publicKey);
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ iss: issuer, iat: now, exp: now + 300, ...claims })
          .setProtectedHeader({ alg: 'HS256', kid: k.kid })
          .sign(new TextEncoder().encode(pem));
      },
      async unknownKid(claims = {}) {
        const stranger = await newKey(defaultAlg, `unknown-${randomUUID().slice(0, 8)}`);
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ iss: issuer, iat: now, exp: now + 300, ...claims })
          .setProtectedHeader({ alg: defaultAlg, kid: stranger.kid })
          .sign(stranger.privateKey);
      },
    },
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return server;
}

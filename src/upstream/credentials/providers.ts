/**
 * Credential providers: the headers the gateway adds to a request it sends upstream.
 *
 *   const provider = await createCredentialProvider(route.upstream.auth);
 *   const headers = await provider.headersFor({ principal, subjectToken });
 *
 * `subjectToken` is the caller's raw bearer token, needed only by token exchange. It is passed
 * per call and never stored: the exchanged token is cached under the subject token's SHA-256,
 * and the cache key is derived from the token itself (not from `principal`), so a mix-up
 * between principal and token can never hand one caller's upstream token to another.
 */
import { readFile } from 'node:fs/promises';
import { GatewayError } from '../../core/errors.ts';
import { tokenDigest } from '../../identity/digest.ts';
import type { Principal } from '../../pipeline/types.ts';
import type { ClientCredentialsAuth, StaticAuth, TokenExchangeAuth, UpstreamAuth } from './config.ts';
import { TokenCache } from './token-cache.ts';
import { requestToken } from './token-endpoint.ts';
import type { TokenClient } from './token-endpoint.ts';

export interface CredentialContext {
  principal: Principal;
  /** The caller's verified bearer token, for token exchange; lives only for this call. */
  subjectToken?: string;
}

export interface CredentialProvider {
  readonly type: UpstreamAuth['type'];
  /** Headers (lowercase names) to set on the upstream request; they override any other source. */
  headersFor(ctx: CredentialContext): Promise<Record<string, string>>;
  /** Drop the cached token used for `ctx` (call after the upstream answered 401, then retry once). */
  invalidate(ctx: CredentialContext): void;
}

export interface ProviderOptions {
  /** Clock, ms since epoch (tests). */
  now?: () => number;
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

function tokenClient(cfg: ClientCredentialsAuth | TokenExchangeAuth): TokenClient {
  return { tokenUrl: cfg.tokenUrl, clientId: cfg.clientId, clientSecret: cfg.clientSecret, authMethod: cfg.authMethod, timeoutMs: cfg.timeoutMs };
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Reads a secret file; errors name the file but never its content. */
async function readSecretFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GatewayError('upstream_auth_failed', `cannot read valueFile ${path}`, undefined, { cause: err });
  }
  // Files written by `echo` or editors end with a newline that is not part of the secret.
  const value = text.replace(/\r?\n$/, '');
  if (value === '' || /[\r\n\0]/.test(value)) {
    throw new GatewayError('upstream_auth_failed', `valueFile ${path} must hold one non-empty line`);
  }
  return value;
}

async function staticProvider(cfg: StaticAuth): Promise<CredentialProvider> {
  const value = cfg.value ?? (await readSecretFile(cfg.valueFile!));
  const headers = Object.freeze({ [cfg.header.toLowerCase()]: cfg.scheme !== undefined ? `${cfg.scheme} ${value}` : value });
  return {
    type: 'static',
    headersFor: async () => ({ ...headers }),
    invalidate: () => {},
  };
}

/** RFC 6749 §4.4: one token for the gateway itself, shared by every caller. */
function clientCredentialsProvider(cfg: ClientCredentialsAuth, now: () => number): CredentialProvider {
  const cache = new TokenCache({ maxEntries: 1, skewMs: cfg.refreshSkewSec * 1000, now });
  const client = tokenClient(cfg);
  const fetchToken = () =>
    requestToken(
      client,
      { grant_type: 'client_credentials', scope: cfg.scope?.join(' '), audience: cfg.audience, resource: cfg.resource },
      now(),
    );
  return {
    type: 'client-credentials',
    headersFor: async () => bearer(await cache.get('gateway', fetchToken)),
    invalidate: () => cache.invalidate('gateway'),
  };
}

/**
 * RFC 8693 §2.1 on-behalf-of: the caller's token is the `subject_token`; the gateway (client
 * authentication, optionally `actor_token`) is the actor, which the issued token records in `act`.
 * One cached token per caller token, never reused past the caller's own expiry.
 */
function tokenExchangeProvider(cfg: TokenExchangeAuth, now: () => number): CredentialProvider {
  const cache = new TokenCache({ maxEntries: cfg.maxCacheEntries, skewMs: cfg.refreshSkewSec * 1000, now });
  const client = tokenClient(cfg);
  const subjectOf = (ctx: CredentialContext): string => {
    if (ctx.subjectToken === undefined || ctx.subjectToken === '') {
      throw new GatewayError('upstream_auth_failed', "token exchange needs the caller's access token");
    }
    return ctx.subjectToken;
  };
  return {
    type: 'token-exchange',
    async headersFor(ctx) {
      const subjectToken = subjectOf(ctx);
      const fetchToken = () =>
        requestToken(
          client,
          {
            grant_type: TOKEN_EXCHANGE_GRANT,
            subject_token: subjectToken,
            subject_token_type: cfg.subjectTokenType,
            requested_token_type: cfg.requestedTokenType,
            audience: cfg.audience,
            resource: cfg.resource,
            scope: cfg.scope?.join(' '),
            actor_token: cfg.actorToken,
            actor_token_type: cfg.actorToken !== undefined ? cfg.actorTokenType : undefined,
          },
          now(),
          { issuedTokenType: cfg.requestedTokenType },
        );
      return bearer(await cache.get(tokenDigest(subjectToken), fetchToken, ctx.principal.expiresAt ?? Infinity));
    },
    invalidate(ctx) {
      if (ctx.subjectToken) cache.invalidate(tokenDigest(ctx.subjectToken));
    },
  };
}

/** The provider for a validated `UpstreamAuth`; reads `valueFile` now, so a missing file fails at startup. */
export async function createCredentialProvider(cfg: UpstreamAuth, opts: ProviderOptions = {}): Promise<CredentialProvider> {
  const now = opts.now ?? Date.now;
  switch (cfg.type) {
    case 'static':
      return staticProvider(cfg);
    case 'client-credentials':
      return clientCredentialsProvider(cfg, now);
    case 'token-exchange':
      return tokenExchangeProvider(cfg, now);
  }
}

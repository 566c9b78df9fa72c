/**
 * The upstream side: one undici Pool (keep-alive connections) per route.
 *
 * Headers to the upstream are built from an allow list, never by copying the client's: the
 * client's `Authorization` and cookies never leave the gateway (MCP authorization, "Token
 * Passthrough": the server MUST NOT pass the client's token through). Per-upstream credentials
 * come from config (static headers now; OAuth client credentials / token exchange later).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, errors as undiciErrors } from 'undici';
import { GatewayError } from '../core/errors.ts';
import { bearerToken } from '../identity/extract.ts';
import type { Principal } from '../pipeline/types.ts';
import type { UpstreamAuth } from './credentials/config.ts';
import { createCredentialProvider, type CredentialProvider } from './credentials/providers.ts';
import { dispatchUpstream, type ClaimBody, type DispatchResult, type UpstreamResponse } from './dispatch.ts';

export type { UpstreamResponse } from './dispatch.ts';

export interface UpstreamConfig {
  url: string;
  headers: Readonly<Record<string, string>>;
  connections: number;
  insecureSkipVerify: boolean;
  connectMs: number;
  /** The gateway's own credential for this upstream. */
  auth?: UpstreamAuth | undefined;
}

/** Client request headers that are part of the MCP wire protocol and go upstream unchanged. */
const FORWARDED = ['accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'user-agent', 'traceparent', 'tracestate'];
/**
 * The Content-Type of every body sent upstream, whatever the client's header said: the gateway
 * inspected the body as UTF-8 JSON (RFC 8259 §8.1), so that is how the upstream must read it. A
 * client's `charset=utf-7` passed on would make an SDK upstream (body-parser) decode different
 * text than the gateway judged. A request without a body (GET, DELETE) carries none.
 */
const BODY_CONTENT_TYPE = 'application/json';
const PARAM_PREFIX = 'mcp-param-';

export interface UpstreamRequest {
  method: 'POST' | 'GET' | 'DELETE';
  clientHeaders: IncomingHttpHeaders;
  body?: Buffer | string;
  /** The upstream session id to send (the client's gateway id is never forwarded). */
  sessionId?: string | undefined;
  lastEventId?: string | undefined;
  signal?: AbortSignal;
  /** Time allowed for the response headers. */
  headersTimeoutMs: number;
  /** Longest silence between body bytes; 0 = none (long-lived streams). */
  idleMs: number;
  /** Who the call is for: token exchange acts on their behalf (with their token, never forwarded). */
  principal?: Principal | undefined;
}

export class UpstreamClient {
  readonly url: URL;
  private readonly pool: Pool;
  private readonly staticHeaders: Record<string, string>;
  private readonly path: string;
  private readonly authConfig: UpstreamAuth | undefined;
  private provider: Promise<CredentialProvider> | undefined;

  constructor(cfg: UpstreamConfig) {
    this.authConfig = cfg.auth;
    this.url = new URL(cfg.url);
    this.path = `${this.url.pathname}${this.url.search}`;
    this.staticHeaders = Object.fromEntries(Object.entries(cfg.headers).map(([k, v]) => [k.toLowerCase(), v]));
    this.pool = new Pool(this.url.origin, {
      // Streams pin a connection each for their whole life: a small cap would let a handful of
      // idle streams stall every other request on the route. 0 = no cap.
      connections: cfg.connections > 0 ? cfg.connections : null,
      pipelining: 1,
      connectTimeout: cfg.connectMs,
      keepAliveTimeout: 30_000,
      ...(cfg.insecureSkipVerify ? { connect: { rejectUnauthorized: false } } : {}),
    });
  }

  /** Whether this upstream uses a credential provider (static headers don't count). */
  get hasCredentials(): boolean {
    return this.authConfig !== undefined;
  }

  buildHeaders(req: UpstreamRequest): Record<string, string> {
    const out: Record<string, string> = {};
    const h = req.clientHeaders;
    for (const name of FORWARDED) {
      const v = h[name];
      if (typeof v === 'string') out[name] = v;
    }
    for (const name in h) {
      // Unknown Mcp-Param-* headers MUST be forwarded by intermediaries (SEP-2243).
      if (name.startsWith(PARAM_PREFIX)) {
        const v = h[name];
        if (typeof v === 'string') out[name] = v;
      }
    }
    if (req.body !== undefined) out['content-type'] = BODY_CONTENT_TYPE;
    if (req.sessionId !== undefined) out['mcp-session-id'] = req.sessionId;
    if (req.lastEventId !== undefined) out['last-event-id'] = req.lastEventId;
    Object.assign(out, this.staticHeaders);
    // Bodies are inspected as they stream, so they must come unencoded (RFC 9110 §12.5.3); a
    // configured static header cannot ask for gzip. dispatch.ts refuses an encoded answer anyway.
    out['accept-encoding'] = 'identity';
    return out;
  }

  /** One request; the body comes back as a Readable. */
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const r = await this.exchange(req, undefined);
    // Without a claim the body is never direct.
    return (r as Extract<DispatchResult, { direct: false }>).response;
  }

  /**
   * One request whose body the caller may claim at the response head and receive chunk by chunk
   * (see dispatch.ts); resolves at the head, rejects with a GatewayError when none arrives.
   */
  async exchange(req: UpstreamRequest, claim: ClaimBody | undefined): Promise<DispatchResult> {
    const headers = this.buildHeaders(req);
    const provider = this.authConfig ? await this.credentials() : undefined;
    const ctx = provider ? this.credentialContext(req) : undefined;
    if (provider && ctx) Object.assign(headers, await provider.headersFor(ctx));
    let result = await this.send(req, headers, claim);
    // A cached upstream token the upstream no longer accepts: drop it and retry once with a
    // fresh one (RFC 6750 §3.1 invalid_token). Only a non-claimed answer can be retried.
    if (provider && ctx && !result.direct && result.response.statusCode === 401) {
      result.response.body.destroy();
      provider.invalidate(ctx);
      Object.assign(headers, await provider.headersFor(ctx));
      result = await this.send(req, headers, claim);
    }
    return result;
  }

  private async send(req: UpstreamRequest, headers: Record<string, string>, claim: ClaimBody | undefined): Promise<DispatchResult> {
    try {
      return await dispatchUpstream(
        this.pool,
        {
          path: this.path,
          method: req.method,
          headers,
          body: req.body ?? null,
          headersTimeout: req.headersTimeoutMs,
          bodyTimeout: req.idleMs,
        },
        req.signal,
        claim,
      );
    } catch (err) {
      throw mapUpstreamError(err);
    }
  }

  private credentials(): Promise<CredentialProvider> {
    this.provider ??= createCredentialProvider(this.authConfig!).catch((err: unknown) => {
      this.provider = undefined; // a missing secret file may appear: try again next call
      throw err instanceof GatewayError ? err : new GatewayError('upstream_auth_failed', 'credential source unreadable', undefined, { cause: err });
    });
    return this.provider;
  }

  private credentialContext(req: UpstreamRequest) {
    const principal = req.principal ?? { subject: 'anonymous', method: 'none' };
    // Only a token the gateway itself verified may be exchanged on the caller's behalf.
    const verified = principal.method === 'jwt' || principal.method === 'introspection';
    const subjectToken = verified ? bearerToken(req.clientHeaders) : undefined;
    return subjectToken !== undefined ? { principal, subjectToken } : { principal };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

export function mapUpstreamError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return new GatewayError('upstream_timeout', undefined, undefined, { cause: err });
  }
  if (err instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayError('idle_timeout', undefined, undefined, { cause: err });
  }
  return new GatewayError('upstream_unavailable', undefined, undefined, { cause: err });
}

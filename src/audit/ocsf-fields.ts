/**
 * The OCSF vocabulary the record builders (record.ts) map gateway facts onto: enumerations
 * (severity, security-control outcome, auth protocol, HTTP and API activity) and the small object
 * shapes shared by several classes (user, endpoint, inspector, an exchange's API Activity
 * context). Kept apart from the builders so each class's builder reads as the list of
 * attributes it sets.
 */
import type { Principal } from '../pipeline/types.ts';
import type { Digester } from './digest.ts';
import type { ClientFacts, ExchangeContext, InspectorFacts, VerdictKind } from './facts.ts';

export const SEVERITY = { 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical' } as const;
export type SeverityId = keyof typeof SEVERITY;

/** Security Control profile action/disposition per verdict (OCSF `action_id`, `disposition_id`). */
export const OUTCOME: Record<VerdictKind, { action: [number, string]; disposition: [number, string]; severity: SeverityId }> = {
  allow: { action: [1, 'Allowed'], disposition: [1, 'Allowed'], severity: 1 },
  redact: { action: [4, 'Modified'], disposition: [11, 'Corrected'], severity: 2 },
  rewrite: { action: [4, 'Modified'], disposition: [11, 'Corrected'], severity: 2 },
  block: { action: [2, 'Denied'], disposition: [2, 'Blocked'], severity: 3 },
  'require-approval': { action: [2, 'Denied'], disposition: [14, 'Delayed'], severity: 3 },
  // Refused, but not by a security control (malformed, unsupported…): OCSF 1.3+ "Rejected: a
  // request or submission was rejected", distinct from Blocked.
  error: { action: [2, 'Denied'], disposition: [25, 'Rejected'], severity: 2 },
};

/** OCSF `auth_protocol_id` (Authentication [3002]). */
export const AUTH_PROTOCOL: Record<string, [number, string]> = {
  jwt: [6, 'OAUTH 2.0'],
  introspection: [6, 'OAUTH 2.0'],
  'api-key': [99, 'API Key'],
  mtls: [99, 'mTLS'],
};

/** OCSF url `hostname` and `port` from a Host header (RFC 9110 §7.2: host [":" port], IPv6 in brackets). */
export function hostParts(host: string | undefined): { hostname?: string; port?: number } {
  if (host === undefined) return {};
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return { hostname: host };
  return { hostname: m[1]!, ...(m[2] !== undefined && { port: Number(m[2]) }) };
}

/** OCSF HTTP Activity activity_id by method. */
export const HTTP_ACTIVITY: Record<string, [number, string]> = {
  CONNECT: [1, 'Connect'],
  DELETE: [2, 'Delete'],
  GET: [3, 'Get'],
  HEAD: [4, 'Head'],
  OPTIONS: [5, 'Options'],
  POST: [6, 'Post'],
  PUT: [7, 'Put'],
  TRACE: [8, 'Trace'],
};

/** API Activity activity_id: MCP reads map to Read (2); calls and the rest to Other (99). */
export function apiActivity(method: string): [number, string] {
  if (/\/list$/.test(method) || method === 'resources/read' || method === 'prompts/get') return [2, 'Read'];
  return [99, 'Other'];
}

export function userJson(p: Principal): Record<string, unknown> {
  const type = p.subject === 'anonymous' ? 'Unknown' : 'User';
  return p.credentialId !== undefined
    ? { uid: p.subject, type, credential_uid: p.credentialId, auth_method: p.method }
    : { uid: p.subject, type, auth_method: p.method };
}

/**
 * The API Activity attributes an exchange's records share (actor, api, endpoints, resources,
 * policy), set on `out` in this order; returns the `api` object for the caller to complete.
 */
export function apiContextInto(out: Record<string, unknown>, c: ExchangeContext, digester: Digester): Record<string, unknown> {
  const actor: Record<string, unknown> = { user: userJson(c.principal) };
  if (c.principal.clientId !== undefined) actor['app_uid'] = c.principal.clientId;
  if (c.client?.name !== undefined) actor['app_name'] = c.client.name;
  if (c.principal.issuer !== undefined) actor['idp'] = { name: c.principal.issuer };
  if (c.sessionId !== undefined) actor['session'] = { uid: digester.digestText(c.sessionId) };
  const service: Record<string, unknown> = { name: c.upstream?.name ?? c.route };
  if (c.protocolVersion !== undefined) service['version'] = c.protocolVersion;
  const api: Record<string, unknown> = { operation: c.method, request: c.rpcId !== undefined ? { uid: String(c.rpcId) } : {}, service };
  if (c.protocolVersion !== undefined) api['version'] = c.protocolVersion;
  out['actor'] = actor;
  out['api'] = api;
  out['src_endpoint'] = endpointJson(c.client);
  if (c.upstream?.url !== undefined) out['dst_endpoint'] = upstreamEndpoint(c.upstream.url, c.upstream.name);
  if (c.client?.userAgent !== undefined) out['http_request'] = { user_agent: c.client.userAgent };
  if (c.target) out['resources'] = [{ type: c.target.type, name: c.target.name }];
  if (c.policyVersion !== undefined) out['policy'] = { name: 'portcullis', version: c.policyVersion };
  return api;
}

export function endpointJson(c: ClientFacts | undefined): Record<string, unknown> {
  const ep: Record<string, unknown> = {};
  if (c?.address !== undefined) ep['ip'] = c.address.replace(/^::ffff:/, '');
  if (c?.name !== undefined) ep['name'] = c.name;
  if (c?.version !== undefined) ep['agent_list'] = [{ name: c.name ?? 'client', version: c.version }];
  return ep;
}

/** The upstream as an OCSF network endpoint; only scheme, host and port (no path, no credentials). */
export function upstreamEndpoint(url: string, name: string | undefined): Record<string, unknown> {
  const ep: Record<string, unknown> = {};
  if (name !== undefined) ep['svc_name'] = name;
  const hp = hostPort(url);
  if (hp) {
    ep['hostname'] = hp.hostname;
    ep['port'] = hp.port;
  }
  return ep;
}

/**
 * Upstream URLs come from the configuration, so a handful of them recur on every record: parse
 * each once (`new URL` cost ~1.5 µs per exchange record). Bounded, in case a caller passes
 * per-request URLs; null remembers an unparsable one.
 */
const hostPorts = new Map<string, { hostname: string; port: number } | null>();

function hostPort(url: string): { hostname: string; port: number } | null {
  let hp = hostPorts.get(url);
  if (hp === undefined) {
    try {
      const u = new URL(url);
      hp = { hostname: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
    } catch {
      // An unparsable upstream URL is a config error reported elsewhere; record what we can.
      hp = null;
    }
    if (hostPorts.size >= 256) hostPorts.clear();
    hostPorts.set(url, hp);
  }
  return hp;
}

export function inspectorJson(i: InspectorFacts): Record<string, unknown> {
  const out: Record<string, unknown> = { name: i.name, verdict: i.verdict };
  if (i.reasons?.length) out['reasons'] = [...i.reasons];
  if (i.durationMs !== undefined && Number.isFinite(i.durationMs)) out['duration_ms'] = Math.round(i.durationMs * 1000) / 1000;
  if (i.failed) out['failed'] = true;
  if (i.direction !== undefined) out['direction'] = i.direction;
  return out;
}

/** The pipeline's per-inspector outcomes (Exchange.outcomes) as builder facts. */
export function inspectorFacts(
  outcomes: ReadonlyArray<{ inspector: string; verdict: InspectorFacts['verdict']; reasons: readonly string[]; ms: number; failed?: boolean }>,
): InspectorFacts[] {
  return outcomes.map((o) => ({ name: o.inspector, verdict: o.verdict, reasons: o.reasons, durationMs: o.ms, ...(o.failed && { failed: true }) }));
}

/** Keep finite numbers only: canonical JSON (and so the chain) refuses NaN and Infinity. */
export function numbers<T extends Record<string, number | undefined>>(o: T): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

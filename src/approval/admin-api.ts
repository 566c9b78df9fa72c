/**
 * The approvals endpoints of the admin listener.
 *
 *   GET  /approvals                  200 { approvals: PendingApproval[] }
 *   GET  /approvals/:id              200 PendingApproval | 404
 *   POST /approvals/:id/approve      { by, note? } → 200 decision | 404 unknown | 409 already decided
 *                                    (or withdrawn: its caller left or the gateway is shutting
 *                                    down, so nothing can run it; `error: "withdrawn"`)
 *   POST /approvals/:id/deny         same
 *
 * Authentication: when a token is configured (even an empty one, which then refuses everything)
 * every request needs `Authorization: Bearer <token>`
 * (RFC 6750 §2.1), compared in constant time; failures get 401 with `WWW-Authenticate`
 * (RFC 6750 §3). The gateway always gives one: `admin.token`, else a per-run token
 * (admin/local-token.ts) — open endpoints would let a same-host agent approve its own calls. The
 * admin listener also refuses a foreign Host or a browser Origin before this code runs
 * (admin/server.ts: DNS rebinding would otherwise make "loopback" reachable from any web page).
 *
 * POST bodies must be `application/json`: a browser cannot send that cross-origin without a CORS
 * preflight this server never approves, so a web page the operator visits cannot approve calls
 * (CSRF). Bodies are capped (`maxBodyBytes`, 413 beyond).
 *
 * `by` is self-declared: one shared admin token cannot tell operators apart. It is recorded for
 * audit, not trusted as identity.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ApprovalQueue, DecideResult } from './queue.ts';

export interface ApprovalsApiOptions {
  /** Admin bearer token; when set, required on every request. */
  token?: string | undefined;
  /** Largest accepted POST body. Default 8 KiB. */
  maxBodyBytes?: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const ID = /^apr_[A-Za-z0-9_-]{22}$/;
/** C0 controls and DEL: never wanted in an operator name; in notes only tab and newline. */
const NO_CONTROLS = /^[^\u0000-\u001f\u007f]*$/;
const NOTE_CONTROLS = /^[^\u0000-\u0008\u000b-\u001f\u007f]*$/;

const DecisionBodySchema = z
  .object({
    by: z.string().trim().min(1, 'must not be empty').max(128).regex(NO_CONTROLS, 'must not contain control characters'),
    note: z.string().max(2000).regex(NOTE_CONTROLS, 'must not contain control characters other than tab and newline').optional(),
  })
  .strict();

/**
 * Serve the request if its path is `/approvals` or below; return false (touching nothing) for any
 * other path so the admin server can route it elsewhere. The response is written asynchronously.
 */
export function handleApprovalsRequest(req: IncomingMessage, res: ServerResponse, queue: ApprovalQueue, opts: ApprovalsApiOptions = {}): boolean {
  const path = pathOf(req.url);
  if (path !== '/approvals' && !path.startsWith('/approvals/')) return false;
  handle(req, res, path, queue, opts).catch(() => {
    sendJson(res, 500, { error: 'internal', message: 'Internal error' });
  });
  return true;
}

async function handle(req: IncomingMessage, res: ServerResponse, path: string, queue: ApprovalQueue, opts: ApprovalsApiOptions): Promise<void> {
  // Only an absent token means "open": an empty configured token refuses everything (fail closed).
  if (opts.token !== undefined) {
    const failure = checkBearer(req.headers.authorization, opts.token);
    if (failure) {
      res.setHeader('www-authenticate', failure === 'missing' ? 'Bearer realm="portcullis-admin"' : 'Bearer realm="portcullis-admin", error="invalid_token"');
      sendJson(res, 401, { error: 'unauthorized', message: 'A valid admin bearer token is required' });
      return;
    }
  }

  const segments = path.split('/').slice(2); // ['', 'approvals', ...rest]
  if (segments.length === 0) {
    if (!allow(req, res, 'GET, HEAD')) return;
    sendJson(res, 200, { approvals: queue.list() }, req.method === 'HEAD');
    return;
  }
  const id = segments[0]!;
  if (!ID.test(id) || segments.length > 2) {
    notFound(res);
    return;
  }
  if (segments.length === 1) {
    if (!allow(req, res, 'GET, HEAD')) return;
    const pending = queue.get(id);
    if (pending) sendJson(res, 200, pending, req.method === 'HEAD');
    else notFound(res);
    return;
  }
  const action = segments[1];
  if (action !== 'approve' && action !== 'deny') {
    notFound(res);
    return;
  }
  if (!allow(req, res, 'POST')) return;

  const body = await readJsonBody(req, res, opts.maxBodyBytes ?? 8 * 1024);
  if (body === undefined) return;
  const parsed = DecisionBodySchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
    sendJson(res, 400, { error: 'bad_request', message: 'Body must be {"by": string, "note"?: string}', issues });
    return;
  }
  const { by, note } = parsed.data;
  const result: DecideResult = action === 'approve' ? queue.approve(id, by, note) : queue.deny(id, by, note);
  if (result.ok) {
    const e = result.event;
    sendJson(res, 200, { id, decision: e.decision, by: e.by, ...(e.note !== undefined ? { note: e.note } : {}), decidedAt: e.decidedAt });
  } else if (result.error === 'already_decided' && result.decision === 'withdrawn') {
    const why = result.reason === 'shutdown' ? 'the gateway shut down' : 'its caller disconnected';
    sendJson(res, 409, { error: 'withdrawn', message: `Approval ${id} was withdrawn before a decision (${why}); the call was not run`, decision: 'withdrawn', reason: result.reason });
  } else if (result.error === 'already_decided') {
    sendJson(res, 409, { error: 'already_decided', message: `Approval ${id} was already decided`, decision: result.decision });
  } else {
    notFound(res);
  }
}

/** 'missing' | 'invalid' | undefined (ok). */
function checkBearer(header: string | undefined, token: string): 'missing' | 'invalid' | undefined {
  // RFC 9110 §11.1: the auth scheme is case-insensitive.
  const m = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
  if (!m) return 'missing';
  // Hash both sides so the comparison is constant-time and length-independent.
  const given = createHash('sha256').update(m[1]!, 'utf8').digest();
  const wanted = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(given, wanted) ? undefined : 'invalid';
}

function allow(req: IncomingMessage, res: ServerResponse, methods: string): boolean {
  if (methods.split(', ').includes(req.method ?? '')) return true;
  res.setHeader('allow', methods);
  sendJson(res, 405, { error: 'method_not_allowed', message: `Use ${methods}` });
  return false;
}

/** Reads and parses a JSON body; on failure answers (415/413/400) and resolves undefined. */
async function readJsonBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    sendJson(res, 415, { error: 'unsupported_media_type', message: 'Content-Type must be application/json' });
    return undefined;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    tooLarge(res, max);
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      tooLarge(res, max);
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    sendJson(res, 400, { error: 'bad_request', message: 'Body is not valid JSON' });
    return undefined;
  }
}

function tooLarge(res: ServerResponse, max: number): void {
  // The rest of the body is never read; closing the connection keeps it from being parsed as a
  // next request.
  res.setHeader('connection', 'close');
  sendJson(res, 413, { error: 'body_too_large', message: `Body exceeds ${max} bytes` });
}

function notFound(res: ServerResponse): void {
  sendJson(res, 404, { error: 'not_found', message: 'No such pending approval' });
}

function pathOf(target: string | undefined): string {
  if (!target || target.charCodeAt(0) !== 0x2f /* / */) return '';
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headOnly = false): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', JSON_TYPE);
  res.setHeader('content-length', Buffer.byteLength(text));
  // Previews of tool arguments may be sensitive: keep them out of caches.
  res.setHeader('cache-control', 'no-store');
  res.end(headOnly ? undefined : text);
}

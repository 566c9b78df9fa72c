/**
 * Sealed MRTR `requestState` (MCP 2026-07-28 basic/patterns/mrtr): "servers MUST treat
 * requestState as an attacker-controlled input. If requestState influences … business logic,
 * servers MUST protect its integrity (e.g. HMAC or AEAD)", and SHOULD bind it to the originating
 * request and a TTL. Format: base64url(JSON payload) "." base64url(HMAC-SHA256).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isObject } from './protocol.ts';

/** Per process: a restart invalidates outstanding states, which the client then re-requests. */
const KEY = randomBytes(32);
const TTL_MS = 10 * 60_000;

export interface StatePayload {
  tool: string;
  /** The question / prompt the input request was about: binds the retry to the same call. */
  subject: string;
}

function mac(body: string): Buffer {
  return createHmac('sha256', KEY).update(body).digest();
}

export function sealState(p: StatePayload): string {
  const body = Buffer.from(JSON.stringify({ ...p, exp: Date.now() + TTL_MS })).toString('base64url');
  return `${body}.${mac(body).toString('base64url')}`;
}

/** The payload, or undefined when the state is forged, malformed or expired. */
export function openState(state: string): StatePayload | undefined {
  if (state.length > 8192) return undefined;
  const dot = state.indexOf('.');
  if (dot < 1) return undefined;
  const body = state.slice(0, dot);
  const sig = Buffer.from(state.slice(dot + 1), 'base64url');
  const want = mac(body);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return undefined;
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(p) || typeof p.tool !== 'string' || typeof p.subject !== 'string' || typeof p.exp !== 'number') return undefined;
  if (p.exp < Date.now()) return undefined;
  return { tool: p.tool, subject: p.subject };
}

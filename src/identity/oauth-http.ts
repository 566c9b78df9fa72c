/**
 * The one way the gateway talks to an authorization server's back-channel endpoints
 * (introspection, token): an HTTP POST of an `application/x-www-form-urlencoded` body,
 * authenticated as a confidential client, answered with a JSON object.
 *
 * Errors from here never carry the client secret, the posted token, or the response body: the
 * caller gets a status and, at most, the RFC 6749 §5.2 `error` code.
 */
import { fetch } from 'undici';

/** Largest response accepted: token and introspection answers are small JSON objects. */
const MAX_RESPONSE_BYTES = 256 * 1024;

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  method: ClientAuthMethod;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded (Appendix B) *before* base64, then joined by ":". */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const enc = (s: string): string => new URLSearchParams([['', s]]).toString().slice(1);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`, 'utf8').toString('base64')}`;
}

export type FormResult =
  | { ok: true; status: number; body: Record<string, unknown> }
  /** `error` is the RFC 6749 §5.2 error code when the server sent a well-formed one. */
  | { ok: false; status: number; error: string | undefined; reason: string };

/** RFC 6749 §5.2 error codes are NQSCHAR (%x20-21 / %x23-5B / %x5D-7E); anything else is not echoed. */
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

async function readCapped(res: Awaited<ReturnType<typeof fetch>>): Promise<string | undefined> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > MAX_RESPONSE_BYTES) {
      await res.body.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * POSTs `form` to `url` as `client`. Resolves with the parsed JSON object, or a failure the
 * caller turns into its own error; rejects only when the server could not be reached in time.
 */
export async function postForm(
  url: string,
  form: Record<string, string | undefined>,
  client: ClientCredentials,
  timeoutMs: number,
): Promise<FormResult> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) params.set(k, v);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (client.method === 'client_secret_basic') {
    headers.authorization = basicAuthorization(client.clientId, client.clientSecret);
  } else {
    params.set('client_id', client.clientId);
    params.set('client_secret', client.clientSecret);
  }
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: params.toString(),
    // A redirect could carry the secret elsewhere; back-channel endpoints do not redirect.
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await readCapped(res);
  if (text === undefined) return { ok: false, status: res.status, error: undefined, reason: 'response too large' };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const obj = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  if (res.status !== 200 || obj === undefined) {
    const code = obj?.error;
    const error = typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined;
    const reason = obj === undefined ? `HTTP ${res.status}, not a JSON object` : `HTTP ${res.status}`;
    return { ok: false, status: res.status, error, reason };
  }
  return { ok: true, status: res.status, body: obj };
}

/**
 * Continuous validation: a client stream lives only as long as the credential that opened it.
 *
 * A long-lived SSE stream (a slow tool, a 2025 standalone GET, a 2026 subscriptions/listen) would
 * otherwise outlive the token that authorized it, and a revoked token would keep receiving data.
 * So each authenticated stream is re-checked at the credential's expiry and every
 * `streams.revalidateMs` (introspected tokens are asked again; removed API keys stop working);
 * on failure the stream ends with a `credential_expired` JSON-RPC error event, the upstream
 * request is aborted, and the reason is noted on the exchange for audit.
 */
import { GatewayError } from '../core/errors.ts';
import type { RelayStream } from '../session/relay-stream.ts';
import type { Exchange } from './context.ts';
import { errorMessage } from './respond.ts';

/** setTimeout's ceiling (2^31 − 1 ms); longer delays would fire at once. */
const MAX_DELAY = 2_147_483_647;

/** Starts watching; returns the function that stops it (call it when the stream closes). */
export function watchCredential(ex: Exchange, stream: RelayStream): () => void {
  const auth = ex.route.auth;
  const principal = ex.principal;
  if (!auth || principal.method === 'none') return () => {};
  const every = ex.services.config.streams.revalidateMs;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const end = async (reason: string): Promise<void> => {
    // Already ending (the gateway gave up a streamed answer and its error is going out): one
    // error per request, not two.
    if (stopped || stream.state === 'closed' || stream.ending !== undefined) return;
    stopped = true;
    ex.notes['credential'] = { ended: 'credential_expired', reason };
    ex.services.metrics.countError('credential_expired');
    ex.services.logger.info({ route: ex.route.name, subject: principal.subject, reason }, 'stream ended: credential no longer valid');
    const id = stream.origin?.rpcId ?? null;
    stream.end('cut', 'credential_expired');
    await stream.emit(JSON.stringify(errorMessage(id, new GatewayError('credential_expired', reason))));
    stream.close();
  };

  const check = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    if (principal.expiresAt !== undefined && Date.now() >= principal.expiresAt) return end('the access token expired');
    const verdict = await auth.revalidate(principal).catch(() => ({ ok: false as const, reason: 'revalidation failed' }));
    if (!verdict.ok) return end(verdict.reason);
    schedule();
  };

  const schedule = (): void => {
    if (stopped) return;
    const untilExpiry = principal.expiresAt !== undefined ? principal.expiresAt - Date.now() : Number.POSITIVE_INFINITY;
    const delay = Math.max(0, Math.min(every, untilExpiry, MAX_DELAY));
    timer = setTimeout(() => void check(), delay);
    timer.unref();
  };

  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

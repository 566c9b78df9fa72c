/**
 * Prompt-injection detection in what tools and resources hand back to the model (indirect
 * injection): tool results, resource contents, prompt messages. The detector scores each message
 * (instruction-override phrasing, role/system tokens, hidden Unicode, exfiltration links, encoded
 * payloads); at or over the route's threshold the configured action applies:
 *
 * - `block`: the client gets a JSON-RPC error instead of the content;
 * - `alert`: forwarded, reported (audit finding, verdict reason, session memory).
 *
 * An optional external classifier (HTTP POST `{ text }` → `{ score }`, e.g. a model) is asked
 * too, and the higher score wins. It has its own time budget; failing to answer counts as the
 * configured `classifier.onFailure` ('open': keep the local score; 'closed': treat as injection).
 *
 * The local detector scores the WHOLE text: scoring only a head let a server pad a result past
 * it and put the injection at the end. Its cost is linear (every pattern has bounded gaps; ~5 ms
 * per million characters of real text in `npm run bench`, ~200 ms or less for the most expensive
 * hostile megabyte measured, docs/security.md) and the text is bounded already, since this inspector only sees
 * messages the gateway holds whole (a JSON answer up to `limits.maxBufferedMessageBytes`, an SSE
 * event up to `limits.maxEventBytes`). `maxChars` now bounds what the
 * classifier is sent — a model has a context limit and a time budget — as head AND tail, so the
 * same padding cannot push the end of a result out of its view either.
 */
import { request } from 'undici';
import { collectStringLeaves } from '../codec/json-pointer.ts';
import { scoreInjection } from '../detectors/injection.ts';
import type { Frame, Inspector, InspectorContext, Reason, Verdict } from '../pipeline/types.ts';
import type { FindingMemory } from '../session/finding-memory.ts';
import { callerKey } from '../session/sessions.ts';
import { OPAQUE } from './redact.ts';

export interface PromptInjectionOptions {
  name?: string;
  threshold: number;
  action: 'block' | 'alert';
  /** Longest text sent to the classifier (head and tail of longer ones). The detector reads all. */
  maxChars: number;
  classifier?: { url: string; timeoutMs: number; onFailure: 'open' | 'closed' } | undefined;
  memory?: FindingMemory | undefined;
}

/**
 * Results that carry content the model will read: tool results (also when a task delivers them:
 * `tasks/result`, `tasks/get`), resources, prompts, and the server's `instructions`, which
 * clients put into the system prompt (`initialize`, 2026-07-28 `server/discover`).
 */
const METHODS = ['tools/call', 'resources/read', 'prompts/get', 'tasks/result', 'tasks/get', 'initialize', 'server/discover'] as const;

/**
 * A content block's `type` or a `mimeType`: a short token, not prose. Only such values are
 * skipped; an injection placed under a key named `type` is still read.
 */
const TYPE_TOKEN = /^[\w.+/-]{1,80}(?:;[ \w=.+/-]{0,80})?$/;

/** `cancel`: the exchange's signal — a call the client abandoned needs no verdict. */
async function classify(url: string, text: string, timeoutMs: number, cancel: AbortSignal): Promise<number> {
  const r = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.any([cancel, AbortSignal.timeout(timeoutMs)]),
  });
  if (r.statusCode !== 200) {
    await r.body.dump();
    throw new Error(`classifier answered ${r.statusCode}`);
  }
  const body = (await r.body.json()) as { score?: unknown };
  const score = Number(body.score);
  if (!(score >= 0 && score <= 1)) throw new Error('classifier score is not a number in [0, 1]');
  return score;
}

const ELISION = '\n[…]\n';

/**
 * At most `max` characters for the classifier: the text itself, or its head and its tail. Both
 * ends because padding moves a payload to either; the middle is what the local score covers.
 */
export function classifierView(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= ELISION.length * 2) return text.slice(text.length - max);
  const head = Math.floor((max - ELISION.length) / 2);
  const tail = max - ELISION.length - head;
  return text.slice(0, head) + ELISION + text.slice(text.length - tail);
}

export function createPromptInjectionInspector(opts: PromptInjectionOptions): Inspector {
  const name = opts.name ?? 'prompt-injection';
  return {
    name,
    methods: Object.fromEntries(METHODS.map((m) => [m, 'response' as const])),
    needs: 'message',
    onFailure: 'closed',
    async onMessage(frame: Frame, ctx: InspectorContext): Promise<Verdict> {
      if (frame.direction !== 's2c' || frame.kind !== 'result') return { kind: 'allow' };
      const leaves = collectStringLeaves(frame.message).filter(
        (l) => !OPAQUE.test(l.pointer) && !((l.pointer.endsWith('/type') || l.pointer.endsWith('/mimeType')) && TYPE_TOKEN.test(l.text)),
      );
      if (leaves.length === 0) return { kind: 'allow' };
      const text = leaves.map((l) => l.text).join('\n');
      const local = scoreInjection(text);
      let score = local.score;
      let classifierNote: string | undefined;
      if (opts.classifier) {
        try {
          score = Math.max(score, await classify(opts.classifier.url, classifierView(text, opts.maxChars), opts.classifier.timeoutMs, ctx.signal));
        } catch (err) {
          classifierNote = (err as Error).message;
          if (opts.classifier.onFailure === 'closed') score = 1;
        }
      }
      if (score < opts.threshold) return { kind: 'allow' };
      const types = [...new Set(local.signals.map((s) => s.type))];
      const reasons: Reason[] = ['injection/detected', ...types.map((t): Reason => `injection/${t}`)];
      ctx.note('injection', { score: Math.round(score * 1000) / 1000, signals: types, ...(classifierNote ? { classifier: classifierNote } : {}) });
      ctx.finding?.({ inspector: name, type: 'prompt-injection', pointer: leaves[0]!.pointer, action: opts.action === 'block' ? 'blocked' : 'observed' });
      if (opts.memory) opts.memory.record(callerKey(ctx.session.principal, ctx.session.clientAddress), 'injection_findings');
      if (opts.action === 'block') return { kind: 'block', reasons, message: 'the content looks like a prompt injection' };
      return { kind: 'allow', reasons };
    },
  };
}

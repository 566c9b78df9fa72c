/**
 * DLP on object keys (dlp-keys.ts): buffered messages (redact renames, block, alert, unique
 * names, locations that never carry the key), SSE events, the chunk path (keys handed out by the
 * rewriter), and chunk-path state kept per message. Test secrets are assembled at run time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonStreamRewriter } from '../codec/json-stream.ts';
import { applyPatches } from '../pipeline/patch.ts';
import type { ChunkVerdict, FindingReport, Frame, InspectorContext, JsonRpcMessage, Verdict } from '../pipeline/types.ts';
import { createDlpInspector, type DlpOptions } from './dlp.ts';
import { KEY_NOT_MASKABLE } from './dlp-keys.ts';

const AWS = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const AWS2 = 'AKIA' + 'ZXCVBNM2345QWERT';
const STRIPE = 'sk_' + 'live_' + '4eC39HqLyjWDarjtT1zdp7dc';
const AWS_MASK = '[REDACTED:aws-access-key-id]';

const dlp = (over: Partial<DlpOptions> = {}) =>
  createDlpInspector({ families: ['secret', 'pii', 'marker'], minConfidence: 0.5, direction: 'both', crossEventHoldMs: 50, actions: { default: 'redact', families: {}, types: {} }, ...over });
const withActions = (types: Record<string, 'redact' | 'block' | 'alert'>) => dlp({ actions: { default: 'redact', families: {}, types } });

function context(findings: FindingReport[] = [], request?: Frame): InspectorContext {
  return {
    session: { era: 'modern', protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 's', method: 'none' } },
    route: 'r',
    request,
    signal: new AbortController().signal,
    note: () => {},
    finding: (f) => findings.push(f),
  } as InspectorContext;
}

const resultFrame = (result: unknown, transport: 'json' | 'sse' = 'json'): Frame => ({
  id: 'f',
  direction: 's2c',
  kind: 'result',
  method: 'tools/call',
  rpcId: 1,
  target: undefined,
  message: { jsonrpc: '2.0', id: 1, result },
  carrier: { transport, bytes: 0 },
});
const callFrame = (args: unknown): Frame => ({
  id: 'c',
  direction: 'c2s',
  kind: 'request',
  method: 'tools/call',
  rpcId: 1,
  target: 'search',
  message: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search', arguments: args } },
  carrier: { transport: 'json', bytes: 0 },
});

/** The message as forwarded after the verdict (rewrite or patches), or undefined when blocked. */
function forwarded(frame: Frame, v: Verdict): JsonRpcMessage | undefined {
  if (v.kind === 'rewrite') return v.message;
  if (v.kind === 'redact') return applyPatches(frame.message, v.patches);
  return v.kind === 'block' ? undefined : frame.message;
}

const inspect = (frame: Frame, over: Partial<DlpOptions> = {}) => {
  const findings: FindingReport[] = [];
  const v = dlp(over).onMessage!(frame, context(findings)) as Verdict;
  return { v, findings, out: forwarded(frame, v) };
};

describe('DLP on object keys: buffered messages', () => {
  it('a secret returned as a key of structuredContent is renamed to its mask; the value and order stay', () => {
    const frame = resultFrame({ content: [{ type: 'text', text: 'ok' }], structuredContent: { before: 1, [AWS]: 2, after: 3 } });
    const { v, findings, out } = inspect(frame);
    assert.equal(v.kind, 'rewrite');
    assert.deepEqual((v as { reasons: string[] }).reasons, ['dlp/aws-access-key-id']);
    const sc = (out!['result'] as { structuredContent: Record<string, number> }).structuredContent;
    assert.deepEqual(Object.entries(sc), [['before', 1], [AWS_MASK, 2], ['after', 3]]);
    assert.deepEqual(findings.map(({ type, pointer, start, end, action }) => ({ type, pointer, start, end, action })), [
      { type: 'aws-access-key-id', pointer: '/result/structuredContent/~key', start: 0, end: AWS.length, action: 'redacted' },
    ]);
    assert.ok(!JSON.stringify(out).includes(AWS) && !JSON.stringify(findings).includes(AWS));
    assert.ok(JSON.stringify(frame.message).includes(AWS), 'the inspected message itself is not changed');
  });

  it('a key holding a secret among other text keeps the text; values are still redacted, also below the key', () => {
    const frame = resultFrame({ structuredContent: { [`id ${AWS} x`]: { note: `again ${STRIPE}` } } });
    const { v, findings, out } = inspect(frame);
    assert.equal(v.kind, 'rewrite');
    assert.deepEqual((out!['result'] as Record<string, unknown>)['structuredContent'], { [`id ${AWS_MASK} x`]: { note: 'again [REDACTED:stripe-secret-key]' } });
    // The value's location goes through the key: it names it masked, never the key itself.
    assert.deepEqual(findings.map((f) => [f.pointer, f.start, f.end]).sort(), [
      ['/result/structuredContent/id [REDACTED:aws-access-key-id] x/note', 6, 6 + STRIPE.length],
      ['/result/structuredContent/~key', 3, 3 + AWS.length],
    ]);
  });

  it('keys that would collide after masking are all kept, with " #2", " #3"…; so is a key already named like a mask', () => {
    const frame = resultFrame({ structuredContent: { [AWS_MASK]: 'literal', [AWS]: 'a', [AWS2]: 'b' } });
    const { out } = inspect(frame);
    const sc = (out!['result'] as { structuredContent: Record<string, string> }).structuredContent;
    assert.deepEqual(sc, { [AWS_MASK]: 'literal', [`${AWS_MASK} #2`]: 'a', [`${AWS_MASK} #3`]: 'b' });
  });

  it('nested secret keys at several depths are all renamed, also one inside a renamed one', () => {
    const frame = resultFrame({ a: [{ [AWS]: { [AWS2]: { [STRIPE]: true } } }] });
    const { out, findings } = inspect(frame);
    assert.deepEqual(out!['result'], { a: [{ [AWS_MASK]: { [AWS_MASK]: { '[REDACTED:stripe-secret-key]': true } } }] });
    assert.deepEqual(findings.map((f) => f.pointer), ['/result/a/0/~key', `/result/a/0/${AWS_MASK}/~key`, `/result/a/0/${AWS_MASK}/${AWS_MASK}/~key`]);
  });

  it("a block rule on a key blocks the client's call", () => {
    const frame = callFrame({ [STRIPE]: 'x', query: 'fine' });
    const { v, findings } = inspect(frame, { actions: { default: 'redact', families: {}, types: { 'stripe-secret-key': 'block' } } });
    assert.equal(v.kind, 'block');
    assert.deepEqual((v as { reasons: string[] }).reasons, ['dlp/stripe-secret-key']);
    assert.deepEqual(findings.map((f) => [f.pointer, f.action]), [['/params/arguments/~key', 'blocked']]);
  });

  it('alert only records: the key goes out unchanged, and no location names it', () => {
    const frame = resultFrame({ structuredContent: { [AWS]: { note: STRIPE } } });
    const { v, findings, out } = inspect(frame, { actions: { default: 'redact', families: {}, types: { 'aws-access-key-id': 'alert' } } });
    assert.equal(v.kind, 'redact');
    assert.deepEqual((out!['result'] as Record<string, unknown>)['structuredContent'], { [AWS]: { note: '[REDACTED:stripe-secret-key]' } });
    assert.deepEqual(findings.map((f) => [f.pointer, f.action]).sort(), [
      ['/result/structuredContent/[REDACTED:aws-access-key-id]/note', 'redacted'],
      ['/result/structuredContent/~key', 'observed'],
    ]);
  });

  it('the same secret key is found every time (only clean keys are remembered), and direction narrows keys too', () => {
    const inspector = dlp();
    for (let i = 0; i < 3; i++) {
      const v = inspector.onMessage!(resultFrame({ structuredContent: { [AWS]: i } }), context()) as Verdict;
      assert.equal(v.kind, 'rewrite', `message ${i}`);
    }
    const s2cOnly = dlp({ direction: 'response' });
    assert.equal((s2cOnly.onMessage!(callFrame({ [AWS]: 1 }), context()) as Verdict).kind, 'allow');
  });

  it('keys inside protocol-opaque members (reserved _meta keys) are left alone; the others are not', () => {
    const opaque = { 'io.modelcontextprotocol/related': { [AWS]: 1 } };
    const { v, out, findings } = inspect(resultFrame({ _meta: opaque, structuredContent: { [AWS]: 2 } }));
    assert.equal(v.kind, 'rewrite');
    assert.deepEqual(out!['result'], { _meta: opaque, structuredContent: { [AWS_MASK]: 2 } });
    assert.deepEqual(findings.map((f) => f.pointer), ['/result/structuredContent/~key']);
  });

  it('a redacted key in a sampled/elicited request body: renamed the same way (any message, both directions)', () => {
    const frame = callFrame({ config: { [`token=${STRIPE}`]: true } });
    const { out } = inspect(frame);
    assert.deepEqual(((out!['params'] as Record<string, unknown>)['arguments'] as Record<string, unknown>)['config'], { 'token=[REDACTED:stripe-secret-key]': true });
  });
});

describe('DLP on object keys: SSE events', () => {
  const request = resultFrame({}, 'json');
  const note = (data: unknown): Frame => ({ id: 'n', direction: 's2c', kind: 'notification', method: 'notifications/message', rpcId: undefined, target: undefined, message: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } }, carrier: { transport: 'sse', bytes: 0 } });

  it('an event with a secret key is renamed and sent at once; a secret it began is still masked in the next event', () => {
    const inspector = dlp();
    const ctx = context([], request);
    const first = note({ [AWS]: 1, log: `the key is ${AWS2.slice(0, 9)}` });
    const v1 = inspector.onMessage!(first, ctx) as Verdict;
    assert.equal(v1.kind, 'rewrite');
    assert.deepEqual((forwarded(first, v1)!['params'] as { data: unknown }).data, { [AWS_MASK]: 1, log: `the key is ${AWS2.slice(0, 9)}` });
    // The rewrite cannot hold the event (the relay sends it): the rest is masked, and the amend
    // for the part already sent tells the relay to note `dlp_split_sent`.
    const second = note({ log: `${AWS2.slice(9)} and more` });
    const v2 = inspector.onMessage!(second, ctx) as Verdict;
    assert.equal(v2.kind, 'redact');
    assert.deepEqual((forwarded(second, v2)!['params'] as { data: unknown }).data, { log: `${AWS_MASK} and more` });
    assert.equal((v2 as { amendHeld?: unknown[] }).amendHeld?.length, 1);
  });

  it('a secret key in the event that completes a split secret: blocked (the held event is amended), with a clear reason', () => {
    const inspector = dlp();
    const ctx = context([], request);
    const v1 = inspector.onMessage!(note({ log: `the key is ${AWS2.slice(0, 9)}` }), ctx) as Verdict;
    assert.equal((v1 as { holdMs?: number }).holdMs, 50);
    const v2 = inspector.onMessage!(note({ log: `${AWS2.slice(9)} more`, [AWS]: 1 }), ctx) as Verdict;
    assert.equal(v2.kind, 'block');
    assert.ok((v2 as { reasons: string[] }).reasons.includes(KEY_NOT_MASKABLE));
    assert.deepEqual((v2 as { amendHeld?: Array<{ patches: Array<{ start: number; end: number }> }> }).amendHeld?.flatMap((a) => a.patches.map((p) => [p.start, p.end])), [[11, 20]]);
  });
});

describe('DLP on object keys: the chunk path (oversized messages)', () => {
  /** An oversized result through the rewriter with keys on, DLP deciding each piece as the relay does. */
  async function chunked(doc: string, over: Partial<DlpOptions> = {}, ctx = context()) {
    const inspector = dlp(over);
    const offsets = new Map<string, number>();
    let blocked: ChunkVerdict | undefined;
    const r = new JsonStreamRewriter({
      keys: true,
      maxStringPiece: 64,
      onString: (p) => {
        const offset = offsets.get(p.pointer) ?? 0;
        offsets.set(p.pointer, p.end ? 0 : offset + p.text.length);
        const v = inspector.onChunk!({ frameId: 's2c-1', direction: 's2c', method: 'tools/call', pointer: p.pointer, text: p.text, offset, end: p.end }, ctx) as ChunkVerdict;
        if (v.kind === 'block') {
          blocked = v;
          throw new Error('cut');
        }
        return v.emit;
      },
    });
    const bytes = Buffer.from(doc);
    let out = '';
    try {
      for (let i = 0; i < bytes.length; i += 7) out += Buffer.from(await r.push(bytes.subarray(i, i + 7))).toString();
      out += Buffer.from(await r.end()).toString();
    } catch (err) {
      if (!blocked) throw err;
    }
    return { out, blocked };
  }
  const filler = 'lorem ipsum '.repeat(20);

  it('a key with a secret is scanned; redact cuts the message (a key cannot be masked there), naming why', async () => {
    const findings: FindingReport[] = [];
    const { out, blocked } = await chunked(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: filler }], structuredContent: { [AWS]: 1 } } }), {}, context(findings));
    assert.equal(blocked?.kind, 'block');
    assert.deepEqual((blocked as { reasons: string[] }).reasons, ['dlp/aws-access-key-id', KEY_NOT_MASKABLE]);
    assert.match((blocked as { message: string }).message, /object key.*not masked/);
    assert.ok(!out.includes(AWS.slice(0, 8)), 'no byte of the key went out');
    assert.deepEqual(findings.map((f) => [f.pointer, f.start, f.end, f.action]), [['/result/structuredContent/~key', 0, AWS.length, 'blocked']]);
  });

  it('a block rule on a key cuts it too; clean keys and values pass as they were', async () => {
    const doc = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: filler }], structuredContent: { fine: 'x' } } });
    assert.equal((await chunked(doc)).out, doc);
    const { blocked } = await chunked(JSON.stringify({ result: { [`key: ${STRIPE}`]: 1 } }), { actions: { default: 'redact', families: {}, types: { 'stripe-secret-key': 'block' } } });
    assert.deepEqual((blocked as { reasons: string[] }).reasons, ['dlp/stripe-secret-key']);
  });

  it('alert on a key: it goes out unchanged, and findings below it name it masked', async () => {
    const findings: FindingReport[] = [];
    const doc = JSON.stringify({ result: { [AWS]: { note: `${filler}${STRIPE}` } } });
    const { out, blocked } = await chunked(doc, { actions: { default: 'redact', families: {}, types: { 'aws-access-key-id': 'alert' } } }, context(findings));
    assert.equal(blocked, undefined);
    assert.equal(out, JSON.stringify({ result: { [AWS]: { note: `${filler}[REDACTED:stripe-secret-key]` } } }));
    assert.deepEqual(findings.map((f) => [f.pointer, f.action]), [
      ['/result/~key', 'observed'],
      [`/result/${AWS_MASK}/note`, 'redacted'],
    ]);
  });

  it("two oversized messages streaming at once (same frame id, other exchanges) never share held-back text", () => {
    const inspector = dlp();
    const base = { frameId: 's2c-1', direction: 's2c' as const, method: 'tools/call', pointer: '/result/content/0/text', offset: 0 };
    const a = inspector.onChunk!({ ...base, text: 'tenant A private text. '.repeat(100), end: false }, context()) as { emit: string };
    const b = inspector.onChunk!({ ...base, text: 'b'.repeat(10), end: true }, context()) as { emit: string };
    assert.ok(a.emit.length < 2300, 'A held some text back');
    assert.equal(b.emit, 'b'.repeat(10));
  });
});

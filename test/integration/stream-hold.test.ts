/**
 * Cross-event inspection on SSE streams: an inspector may hold an event back until the next one
 * has been inspected and then amend it (StreamHints), so a value split across two events can be
 * redacted in both. The relay must keep order, release a held event on a quiet stream after the
 * hold time, and release it before the stream ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Frame, Inspector, Patch, Verdict } from '../../src/pipeline/types.ts';
import { modernEcho, post, sseData, startStack, type Stack } from './support/hostile-harness.ts';
import { startHostileUpstream, type HostileUpstream } from './support/hostile-upstream.ts';

/** Redacts `TOK` + 6 digits in notifications/message data, also when split over two events. */
function splitTokenInspector(): Inspector {
  const WHOLE = /TOK[0-9]{6}/g;
  // A tail that could be the start of a token.
  const PARTIAL = /(?:T|TO|TOK[0-9]{0,5})$/;
  let prev: string | undefined;
  return {
    name: 'split-token',
    methods: { 'notifications/message': 'request' },
    needs: 'message',
    onFailure: 'closed',
    onMessage(frame: Frame): Verdict {
      const data = (frame.message['params'] as { data?: unknown } | undefined)?.data;
      if (frame.direction !== 's2c' || typeof data !== 'string') return { kind: 'allow' };
      const patches: Patch[] = [];
      const amend: Patch[] = [];
      const carried = prev;
      prev = undefined;
      let start = 0;
      if (carried !== undefined) {
        const tail = PARTIAL.exec(carried);
        if (tail) {
          const joined = tail[0] + data;
          const m = /^TOK[0-9]{6}/.exec(joined);
          if (m) {
            amend.push({ pointer: '/params/data', start: tail.index, end: carried.length, replacement: '[REDACTED]' });
            const inCurrent = m[0].length - tail[0].length;
            patches.push({ pointer: '/params/data', start: 0, end: inCurrent, replacement: '' });
            start = inCurrent;
          }
        }
      }
      for (const m of data.slice(start).matchAll(WHOLE)) {
        patches.push({ pointer: '/params/data', start: start + m.index, end: start + m.index + m[0].length, replacement: '[REDACTED]' });
      }
      const holdMs = PARTIAL.test(data) ? 300 : undefined;
      if (holdMs) prev = data;
      const hints = { ...(holdMs ? { holdMs } : {}), ...(amend.length ? { amendPrevious: amend } : {}) };
      return patches.length > 0 ? { kind: 'redact', patches, reasons: ['dlp/test-token'], ...hints } : { kind: 'allow', ...hints };
    },
  };
}

describe('SSE: holding an event for cross-event inspection', () => {
  let up: HostileUpstream;
  let s: Stack;
  before(async () => {
    up = await startHostileUpstream();
    s = await startStack({ upstream: up.url, extraInspectors: [splitTokenInspector()] });
  });
  after(async () => {
    await s.close();
    await up.close();
  });

  const call = async (parts: string[], gapMs: number, id: number) => {
    const { body, headers } = modernEcho('', id);
    body.params = { ...body.params, name: 'parts-sse', arguments: { parts, gapMs } };
    const r = await post(s.port, body, { ...headers, 'mcp-name': 'parts-sse' });
    assert.equal(r.status, 200, r.text);
    return sseData(r.text).map((d) => JSON.parse(d));
  };

  it('a token split across two events arrives redacted in both, in order', async () => {
    const events = await call(['key is TOK12', '3456 and more', 'clean'], 20, 1);
    const texts = events.filter((e) => e.method).map((e) => e.params.data);
    assert.deepEqual(texts, ['key is [REDACTED]', ' and more', 'clean']);
    assert.ok(!JSON.stringify(events).includes('TOK12'), 'no part of the token reached the client');
    assert.equal(events.at(-1).result?.content?.[0]?.text, 'done', 'the result comes last');
  });

  it('a held event is released on a quiet stream and before the stream ends', async () => {
    // The first part looks like the start of a token but nothing completes it.
    const events = await call(['maybe TOK1', 'nothing here'], 600, 2);
    assert.deepEqual(events.filter((e) => e.method).map((e) => e.params.data), ['maybe TOK1', 'nothing here']);
    const last = await call(['ends TO'], 0, 3);
    assert.deepEqual(last.filter((e) => e.method).map((e) => e.params.data), ['ends TO']);
    assert.ok(last.at(-1).result, 'the result follows the released event');
  });
});

describe('SSE: a held event waits for the inspection of the next one', () => {
  let up: HostileUpstream;
  let s: Stack;
  // Inspects the event that completes the token slowly (an HTTP classifier, say): 1.2 s, four
  // times the 300 ms hold, under the 2 s inspector budget. The next event arrived in time: its
  // inspection must not let the held event out unamended.
  const slow: Inspector = {
    name: 'slow',
    methods: { 'notifications/message': 'request' },
    needs: 'message',
    onFailure: 'closed',
    async onMessage(frame: Frame): Promise<Verdict> {
      const data = (frame.message['params'] as { data?: unknown } | undefined)?.data;
      if (typeof data === 'string' && data.startsWith('3456')) await new Promise((r) => setTimeout(r, 1200));
      return { kind: 'allow' };
    },
  };
  before(async () => {
    up = await startHostileUpstream();
    s = await startStack({ upstream: up.url, extraInspectors: [splitTokenInspector(), slow] });
  });
  after(async () => {
    await s.close();
    await up.close();
  });

  it('a slow inspection of the next event: the held event still goes out amended', async () => {
    const { body, headers } = modernEcho('', 4);
    body.params = { ...body.params, name: 'parts-sse', arguments: { parts: ['key is TOK12', '3456 and more'], gapMs: 20 } };
    const r = await post(s.port, body, { ...headers, 'mcp-name': 'parts-sse' });
    const texts = sseData(r.text).map((d) => JSON.parse(d)).filter((e) => e.method).map((e) => e.params.data);
    assert.deepEqual(texts, ['key is [REDACTED]', ' and more']);
  });
});

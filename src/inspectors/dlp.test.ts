/**
 * The DLP inspector's own logic: whole messages, and secrets split across two SSE events at
 * every offset (through dlp-two-events.ts, the relay's semantics), including a second event
 * that comes after the hold, and a blocking rule. Test secrets are assembled at run time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { base62, crc32 } from '../detectors/checks.ts';
import { fingerprint, scanText } from '../detectors/index.ts';
import { applyPatches } from '../pipeline/patch.ts';
import type { Frame, Patch, Verdict } from '../pipeline/types.ts';
import { createDlpInspector, mayContinue, type DlpOptions } from './dlp.ts';
import { maskKey } from './dlp-keys.ts';
import { streamEvents, twoEvents } from './dlp-two-events.ts';
import { generatePrivateKeys } from '../../test/support/private-keys.ts';

const AWS = 'AKIA' + 'QYLPMN5HHHFPZAM2';
const STRIPE = 'sk_' + 'live_' + '4eC39HqLyjWDarjtT1zdp7dc';
const PEM = ['-----BEGIN ' + 'RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF', '-----END ' + 'RSA PRIVATE KEY-----'].join('\n');

const dlp = (over: Partial<DlpOptions> = {}) =>
  createDlpInspector({ families: ['secret', 'pii', 'marker'], minConfidence: 0.5, direction: 'both', crossEventHoldMs: 50, actions: { default: 'redact', families: {}, types: {} }, ...over });

describe('DLP inspector across two SSE events', () => {
  for (const [name, secret, mask] of [
    ['AWS access key id', AWS, '[REDACTED:aws-access-key-id]'],
    ['Stripe secret key', STRIPE, '[REDACTED:stripe-secret-key]'],
  ] as const) {
    it(`a ${name} cut at every offset never reaches the client, and is reported once`, () => {
      for (const lead of ['the key is ', '{"k": "', 'key=']) {
        for (let cut = 1; cut < secret.length; cut++) {
          const r = twoEvents(dlp(), lead + secret.slice(0, cut), secret.slice(cut) + ' and more');
          assert.equal(r.texts.join(''), `${lead}${mask} and more`, `cut ${cut} after ${JSON.stringify(lead)}: ${JSON.stringify(r.texts)}`);
          assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
          assert.ok(!JSON.stringify(r.findings).includes(secret.slice(0, 8)), 'findings never carry the value');
        }
      }
    });
  }

  it('findings carry a keyed fingerprint of the value, alike whether the value came whole or split', () => {
    const key = Buffer.alloc(32, 7);
    const expected = fingerprint(key, 'aws-access-key-id', AWS);
    const whole = twoEvents(dlp({ fingerprintKey: key }), `the key is ${AWS} ok\n`, 'nothing here\n');
    const split = twoEvents(dlp({ fingerprintKey: key }), `the key is ${AWS.slice(0, 7)}`, `${AWS.slice(7)} ok`);
    assert.deepEqual([whole.findings.map((f) => f.fingerprint), split.findings.map((f) => f.fingerprint)], [[expected], [expected]]);
    const other = twoEvents(dlp({ fingerprintKey: Buffer.alloc(32, 8) }), `the key is ${AWS} ok\n`, 'x\n');
    assert.notEqual(other.findings[0]!.fingerprint, expected, 'another key, another fingerprint');
    assert.ok(!expected.includes(AWS.slice(4, 12)));
  });

  it('a second event after the hold: the first part went out as it was, the rest is masked', () => {
    const r = twoEvents(dlp(), `the key is ${AWS.slice(0, 12)}`, `${AWS.slice(12)} and more`, { secondLate: true });
    assert.deepEqual(r.texts, [`the key is ${AWS.slice(0, 12)}`, '[REDACTED:aws-access-key-id] and more']);
  });

  it('a blocking rule on a key cut at every offset: the held event goes out without its part, then the stream ends', () => {
    const block = dlp({ actions: { default: 'redact', families: {}, types: { 'aws-access-key-id': 'block' } } });
    for (let cut = 1; cut < AWS.length; cut++) {
      const r = twoEvents(block, `the key is ${AWS.slice(0, cut)}`, `${AWS.slice(cut)} and more`);
      assert.equal(r.blocked, true, `cut ${cut}`);
      assert.deepEqual(r.texts, ['the key is '], `cut ${cut}`);
    }
  });

  it('a blocked private key cut at every offset: the stream ends before any key material', () => {
    const body = PEM.split('\n')[1]!;
    const block = dlp({ actions: { default: 'redact', families: {}, types: { 'private-key-rsa': 'block', 'private-key-header': 'block' } } });
    for (let cut = 1; cut < PEM.length; cut++) {
      const r = twoEvents(block, `here it is: ${PEM.slice(0, cut)}`, PEM.slice(cut));
      assert.equal(r.blocked, true, `cut ${cut}`);
      const out = r.texts.join('');
      assert.ok(!out.includes(body.slice(0, 12)) && !out.includes(body.slice(-12)), `cut ${cut}: ${JSON.stringify(r.texts)}`);
    }
  });

  it('an event that ends with a finished line is not held', () => {
    const v = dlp().onMessage!(
      { id: 'e', direction: 's2c', kind: 'notification', method: 'notifications/message', rpcId: undefined, target: undefined, message: { jsonrpc: '2.0', method: 'notifications/message', params: { data: 'step 3 done.\n' } }, carrier: { transport: 'sse', bytes: 13 } },
      { session: { era: 'modern', protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 's', method: 'none' } }, route: 'r', request: undefined, signal: new AbortController().signal, note: () => {} },
    );
    assert.equal((v as { holdMs?: number }).holdMs, undefined);
  });
});

describe('mayContinue: could the text still grow into a secret in the next event?', () => {
  it('an unfinished line (mid-token, after a quote, a keyword or an assignment) or an open key block', () => {
    for (const t of ['the key is A', '{"k": "', 'password = ', 'aws_secret_access_key ', 'all done. ', '-----BEGIN RSA ', '---- BEGIN ', `${PEM.split('\n').slice(0, 2).join('\n')}\n`, '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nAAAA\n']) {
      assert.equal(mayContinue(t), true, JSON.stringify(t));
    }
  });
  it('not an empty text, a finished line, or a closed key block', () => {
    for (const t of ['', 'line one\n', 'step 3 done.\r\n', `${PEM}\n`]) assert.equal(mayContinue(t), false, JSON.stringify(t));
  });
});

describe('DLP inspector: base64 content', () => {
  const ctx = { session: { era: 'modern' as const, protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 's', method: 'none' } }, route: 'r', request: undefined, signal: new AbortController().signal, note: () => {} };
  const frameOf = (result: unknown) => ({ id: 'f', direction: 's2c' as const, kind: 'result' as const, method: 'resources/read', rpcId: 1, target: undefined, message: { jsonrpc: '2.0', id: 1, result }, carrier: { transport: 'json' as const, bytes: 0 } });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const apply = async (result: unknown) => {
    const { applyPatches } = await import('../pipeline/patch.ts');
    const f = frameOf(result);
    const v = dlp().onMessage!(f, ctx) as { kind: string; patches?: [] };
    return { v, out: v.kind === 'redact' ? (applyPatches(f.message, v.patches!) as { result: { contents: Array<Record<string, string>> } }).result : (f.message.result as { contents: Array<Record<string, string>> }) };
  };

  it('a text blob is scanned decoded and re-encoded whole with the mask', async () => {
    const { v, out } = await apply({ contents: [{ uri: 'file:///app/.env', mimeType: 'text/plain', blob: b64(`AWS_ACCESS_KEY_ID=${AWS}\nDEBUG=1\n`) }] });
    assert.equal(v.kind, 'redact');
    assert.equal(Buffer.from(out.contents[0]!['blob']!, 'base64').toString('utf8'), 'AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]\nDEBUG=1\n');
  });

  it('a text blob in the URL-safe alphabet is masked and re-encoded in that alphabet', async () => {
    const file = `# ???>>>\nAWS_ACCESS_KEY_ID=${AWS}\n`;
    const blob = Buffer.from(file).toString('base64url');
    assert.ok(/[-_]/.test(blob) && !blob.includes('='));
    const { v, out } = await apply({ contents: [{ uri: 'file:///app/.env', blob }] });
    assert.equal(v.kind, 'redact');
    assert.match(out.contents[0]!['blob']!, /^[A-Za-z0-9_-]+$/, 'no `+`, `/` or padding: a base64url reader reads it');
    assert.equal(Buffer.from(out.contents[0]!['blob']!, 'base64url').toString('utf8'), file.replace(AWS, '[REDACTED:aws-access-key-id]'));
  });

  it('binary blobs and image data are neither scanned nor patched', async () => {
    const binary = b64(`\u0000\u0001 ${AWS} \u00ff`);
    const { v } = await apply({ contents: [{ uri: 'file:///x.bin', mimeType: 'application/octet-stream', blob: binary }], content: [{ type: 'image', mimeType: 'image/png', data: b64(`${AWS}`) }] });
    assert.equal(v.kind, 'allow');
  });
});

/**
 * Private keys with the default families: the marker `private-key-header` (the BEGIN line) and
 * the secret `private-key-*` (the whole block) start at the same offset. Both patches must mask
 * their union on every path; keeping only one left the key body in clear. Keys are generated at
 * run time (no key material in the source).
 */
describe('DLP inspector: private keys with the default families, every path', () => {
  const KEYS: Record<string, string> = generatePrivateKeys();
  /** Body lines of a key: none of them may reach the other side, nor any 16 characters of one. */
  const leaks = (pem: string, out: string): string[] =>
    pem.split('\n').filter((l) => l && !l.startsWith('-----')).flatMap((l) => (out.includes(l.slice(0, 16)) || out.includes(l.slice(-16)) ? [l.slice(0, 16)] : []));
  const ctx = (request?: Frame) => ({ session: { era: 'modern' as const, protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 's', method: 'none' } }, route: 'r', request, signal: new AbortController().signal, note: () => {} });
  const frameOf = (message: Record<string, unknown>, transport: 'json' | 'sse', direction: 'c2s' | 's2c'): Frame => ({ id: 'f', direction, kind: direction === 'c2s' ? 'request' : 'result', method: 'tools/call', rpcId: 1, target: 'cat', message, carrier: { transport, bytes: 0 } });
  const redacted = (f: Frame, c = ctx()) => {
    const v = dlp().onMessage!(f, c) as Verdict;
    assert.equal(v.kind, 'redact');
    return applyPatches(f.message, (v as { patches: Patch[] }).patches);
  };

  for (const [kind, pem] of Object.entries(KEYS)) {
    const text = `here is the key:\n${pem}and after it`;
    it(`${kind}: a tool result (JSON and SSE) and tool arguments are masked whole`, () => {
      for (const transport of ['json', 'sse'] as const) {
        const out = redacted(frameOf({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } }, transport, 's2c'), ctx(frameOf({}, 'json', 'c2s')));
        const got = (out['result'] as { content: Array<{ text: string }> }).content[0]!.text;
        assert.deepEqual(leaks(pem, got), [], `${transport}: ${got}`);
        assert.match(got, /^here is the key:\n\[REDACTED:private-key-[a-z0-9]+\]\[REDACTED:private-key-header\]\nand after it$/, transport);
      }
      const args = redacted(frameOf({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'upload', arguments: { content: text } } }, 'json', 'c2s'));
      assert.deepEqual(leaks(pem, JSON.stringify(args)), []);
    });

    it(`${kind}: the chunk path masks it whole, wherever the chunks fall`, () => {
      for (const size of [7, 50, 333, 4096]) {
        const inspector = dlp();
        const c = ctx();
        let out = '';
        for (let at = 0; at < text.length; at += size) {
          const piece = text.slice(at, at + size);
          const v = inspector.onChunk!({ frameId: 's2c-1', direction: 's2c', method: 'tools/call', pointer: '/result/content/0/text', text: piece, offset: at, end: at + size >= text.length }, c) as { kind: string; emit?: string };
          assert.equal(v.kind, 'pass');
          out += v.emit ?? piece;
        }
        assert.deepEqual(leaks(pem, out), [], `chunks of ${size}: ${out}`);
        assert.ok(out.startsWith('here is the key:\n[REDACTED:private-key-') && out.endsWith('and after it'), `chunks of ${size}: ${out}`);
      }
    });

    it(`${kind}: a text blob and an object key are masked whole`, () => {
      const blob = redacted(frameOf({ jsonrpc: '2.0', id: 1, result: { contents: [{ uri: 'file:///id', mimeType: 'text/plain', blob: Buffer.from(text).toString('base64') }] } }, 'json', 's2c'));
      const decoded = Buffer.from((blob['result'] as { contents: Array<{ blob: string }> }).contents[0]!.blob, 'base64').toString('utf8');
      assert.deepEqual(leaks(pem, decoded), [], decoded);
      assert.deepEqual(leaks(pem, maskKey(text, scanText(text))), []);
    });
  }

  it('a key split across two SSE events at every offset: no key material reaches the client', () => {
    const pem = KEYS['ec']!;
    for (let cut = 1; cut < pem.length; cut++) {
      const r = twoEvents(dlp(), `here it is: ${pem.slice(0, cut)}`, `${pem.slice(cut)}done\n`);
      const out = r.texts.join('');
      assert.deepEqual(leaks(pem, out), [], `cut ${cut}: ${JSON.stringify(r.texts)}`);
      assert.ok(out.startsWith('here it is: ') && out.endsWith('done\n') && !out.includes('-----'), `cut ${cut}: ${JSON.stringify(r.texts)}`);
    }
  });
});

/**
 * The held event goes out with this inspector's own masks in: the next event's amend patches
 * must be in ITS offsets. They were in the offsets of the text before masking, so a mask earlier
 * in the held event shifted the cut and part of the split key went out.
 */
describe('DLP inspector: amending a held event that has masks of its own', () => {
  const K1 = 'AKIA' + 'Q3EGRZ7XK5M2VPLN';
  const K2 = 'AKIA' + 'W7J2NP4TQ6XV3R5M';
  const K3 = 'AKIA' + 'GYT3P6XLNVQJN23Y';
  const MASK = '[REDACTED:aws-access-key-id]';

  it('a key split at every offset after one, or three, masked keys: masked once, nothing of it in clear', () => {
    for (const [lead, shown] of [
      [`old key ${K1} rotated, new key `, `old key ${MASK} rotated, new key `],
      [`old keys ${K1} ${K3} ${AWS} rotated, new key `, `old keys ${MASK} ${MASK} ${MASK} rotated, new key `],
    ] as const) {
      for (let cut = 1; cut < K2.length; cut++) {
        const r = twoEvents(dlp(), lead + K2.slice(0, cut), `${K2.slice(cut)} active\n`);
        assert.deepEqual(r.texts, [shown, `${MASK} active\n`], `cut ${cut}`);
      }
    }
  });

  it('a finding the joined scan adds inside the held event lands on its own text, not on a mask before it', () => {
    // `user:pass` before `@host`: the password is only a finding once the next event shows the
    // host, and it lies whole in the held event, after a mask.
    const r = twoEvents(dlp(), `key ${K1} then postgres://app:Zq8vP2xLmW4tR9`, '@db.internal:5432/app ok\n');
    assert.deepEqual(r.texts, [`key ${MASK} then postgres://app:[REDACTED:db-url-postgres]`, '@db.internal:5432/app ok\n']);
  });
});

describe('DLP inspector: every SSE stream has its own cross-event state', () => {
  const note = (data: string): Frame => ({ id: 'e', direction: 's2c', kind: 'notification', method: 'notifications/message', rpcId: undefined, target: undefined, message: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } }, carrier: { transport: 'sse', bytes: data.length } });
  // The standalone GET stream and a 2025-03-26 batch's stream: no request, one exchange each
  // (its abort signal), and a fresh context object per frame as the transport makes them.
  const ctxOf = (signal: AbortSignal) => ({ session: { era: 'legacy' as const, protocolVersion: '2025-03-26', sessionId: 's', principal: { subject: 's', method: 'none' } }, route: 'r', request: undefined, signal, note: () => {} });

  it('a stream without a request: a key split across two of its events is joined', () => {
    const inspector = dlp();
    const signal = new AbortController().signal;
    const v1 = inspector.onMessage!(note(`aws key ${AWS.slice(0, 10)}`), ctxOf(signal)) as Verdict;
    assert.ok((v1 as { holdMs?: number }).holdMs, 'the first event is held');
    const v2 = inspector.onMessage!(note(`${AWS.slice(10)} end\n`), ctxOf(signal)) as Verdict;
    assert.deepEqual((v2 as { amendHeld?: Array<{ frame: string; patches: Patch[] }> }).amendHeld, [{ frame: 'e', patches: [{ pointer: '/params/data', start: 8, end: 18, replacement: '' }] }]);
    assert.equal(v2.kind, 'redact');
  });

  it('a resumed leg (the same request, another exchange): events the earlier leg held are not amended, the rest is masked', () => {
    // Frame ids count per exchange, so "e" of the new leg could be another event than the old
    // leg's "e": the old leg's relay flushed its queue when it ended, nothing of it is held.
    const inspector = dlp();
    const request = note('');
    const notes: Record<string, unknown> = {};
    const legCtx = (signal: AbortSignal) => ({ ...ctxOf(signal), request, note: (k: string, v: unknown) => void (notes[k] = v) });
    inspector.onMessage!(note(`aws key ${AWS.slice(0, 10)}`), legCtx(new AbortController().signal));
    const v = inspector.onMessage!(note(`${AWS.slice(10)} end\n`), legCtx(new AbortController().signal)) as Verdict & { amendHeld?: unknown; amendPrevious?: unknown };
    assert.equal(v.kind, 'redact');
    assert.deepEqual([v.amendHeld, v.amendPrevious], [undefined, undefined]);
    assert.deepEqual((v as { patches: Patch[] }).patches.map((p) => [p.start, p.end, p.replacement]), [[0, 10, '[REDACTED:aws-access-key-id]']]);
    assert.equal(notes['dlp_split_sent_earlier'], 1);
  });

  it('two such streams do not share state', () => {
    const inspector = dlp();
    inspector.onMessage!(note(`aws key ${AWS.slice(0, 10)}`), ctxOf(new AbortController().signal));
    const other = inspector.onMessage!(note(`${AWS.slice(10)} end\n`), ctxOf(new AbortController().signal)) as Verdict;
    assert.equal(other.kind, 'allow', 'another exchange: its event is not joined to the first stream');
  });
});

/**
 * A match across more than two events. The inspector keeps the stream's continuing text (a
 * bounded run) and the relay holds every event a later match could still reach (a bounded
 * queue): a key block streamed as many log events is masked whole (its header is in the run); a
 * token cut into several pieces is masked in every event it touches.
 */
describe('DLP inspector: a match across three or more events', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const PKCS8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const lines = PKCS8.split('\n');
  const bodyLeaks = (out: string) => lines.filter((l) => l && !l.startsWith('-----') && (out.includes(l.slice(0, 16)) || out.includes(l.slice(-16))));
  const MASK = '[REDACTED:aws-access-key-id]';

  it('a key block streamed as log events of 1 to 5 lines: no line of its body reaches the client, and it is reported once', () => {
    for (let per = 1; per <= 5; per++) {
      const parts = ['starting\n'];
      for (let i = 0; i < lines.length - 1; i += per) parts.push(`${lines.slice(i, i + per).join('\n')}\n`);
      parts.push('done\n');
      const r = streamEvents(dlp(), parts);
      const out = r.texts.join('');
      assert.deepEqual(bodyLeaks(out), [], `${per} per event: ${JSON.stringify(r.texts)}`);
      assert.ok(out.startsWith('starting\n') && out.endsWith('done\n') && !out.includes('-----'), `${per} per event: ${JSON.stringify(r.texts)}`);
      assert.deepEqual(r.findings.map((f) => f.type).sort(), ['private-key-header', 'private-key-pkcs8'], `${per} per event`);
    }
  });

  it('a PuTTY key file streamed line by line: its header line is held too (the block stays open until Private-MAC)', () => {
    const ppk = [
      'PuTTY-User-Key-File-3: ssh-ed25519',
      'Encryption: none',
      'Comment: eddsa-key-20261124',
      'Public-Lines: 2',
      'AAAAC3NzaC1lZDI1NTE5AAAAIHx9Zk4q9WmR2xT7vLp3NcY8bHs6JdF1gK0XsQKnAbCd',
      'Private-Lines: 1',
      'AAAAIGh0dHBzOi8vZXhhbXBsZS5jb20vcHJpdmF0ZS1rZXktbWF0ZXJpYWwtZm9yLXRlc3Q=',
      'Private-MAC: 5f6e7d8c9b0a1f2e3d4c5b6a79880706f5e4d3c2b1a0f9e8d7c6b5a4938271605',
    ];
    assert.ok(scanText(ppk.join('\n')).some((f) => f.type === 'putty-private-key'), 'the sample is a PPK to the detector');
    const r = streamEvents(dlp(), ['starting\n', ...ppk.map((l) => `${l}\n`), 'done\n']);
    const out = r.texts.join('');
    assert.ok(!out.includes('PuTTY-User-Key-File') && !out.includes('AAAAIGh0dHBz'), JSON.stringify(r.texts));
    assert.ok(out.startsWith('starting\n') && out.endsWith('done\n'), JSON.stringify(r.texts));
  });

  it('the same when every hold runs out (a slow stream): each event is masked as it passes', () => {
    const parts = lines.slice(0, -1).map((l) => `${l}\n`);
    const r = streamEvents(dlp(), parts, { late: parts.map((_, i) => i) });
    assert.deepEqual(bodyLeaks(r.texts.join('')), [], JSON.stringify(r.texts));
  });

  it('a key cut into three to six pieces: found, reported once, masked in every event, nothing noted', () => {
    for (let n = 3; n <= 6; n++) {
      for (let first = 1; first + n - 1 < AWS.length; first += 3) {
        // `first` characters in the first event, then n - 1 pieces as even as they come.
        const rest = AWS.slice(first);
        const size = Math.ceil(rest.length / (n - 1));
        const pieces = [AWS.slice(0, first), ...Array.from({ length: n - 1 }, (_, i) => rest.slice(i * size, (i + 1) * size))].filter((p) => p !== '');
        const r = streamEvents(dlp(), [`the key is ${pieces[0]}`, ...pieces.slice(1, -1), `${pieces.at(-1)} and more\n`]);
        const label = `${JSON.stringify(pieces)}: ${JSON.stringify(r.texts)}`;
        // Every piece held until the last one completed the key: all cut, the mask in the last.
        assert.deepEqual(r.texts, ['the key is ', ...pieces.slice(1, -1).map(() => ''), `${MASK} and more\n`], label);
        assert.equal(r.findings.length, 1, label);
        assert.deepEqual(r.notes, {}, label);
      }
    }
  });

  it('a key cut into two pieces is masked whole, with nothing noted', () => {
    const r = streamEvents(dlp(), [`the key is ${AWS.slice(0, 9)}`, `${AWS.slice(9)} and more\n`]);
    assert.deepEqual(r.texts, ['the key is ', `${MASK} and more\n`]);
    assert.deepEqual(r.notes, {});
  });
});

/**
 * A secret streamed a few characters per event (a tool relaying model output token by token):
 * cut into 3, 5 and 10 events at random offsets, it must not reach the client in any event.
 * Only one event used to be held, so every piece before the last two went out in clear. The
 * cuts come from a seeded generator (reproducible); test secrets are assembled at run time.
 */
describe('DLP inspector: a secret split across many SSE events', () => {
  // mulberry32: a tiny seeded generator, so a failing cut can be replayed.
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ghBody = 'Zk4' + 'q9WmR2xT7vLp3NcY8bHs6JdF1gK';
  const GITHUB = `ghp_${ghBody}${base62(crc32(ghBody), 6)}`;
  const EC = generatePrivateKeys().ec.trimEnd();
  const SECRETS: ReadonlyArray<readonly [string, string]> = [
    ['an AWS access key id', AWS],
    ['a GitHub token', GITHUB],
    ['a private key', EC],
  ];
  /** `secret` cut at n - 1 distinct random offsets. */
  const cutInto = (secret: string, n: number, random: () => number): string[] => {
    const cuts = new Set<number>();
    while (cuts.size < n - 1) cuts.add(1 + Math.floor(random() * (secret.length - 1)));
    const at = [0, ...[...cuts].sort((a, b) => a - b), secret.length];
    return at.slice(1).map((end, i) => secret.slice(at[i], end));
  };
  /** Every 8-character piece of `secret` the client text shows (none may). */
  const shown = (secret: string, out: string): string[] => {
    const found: string[] = [];
    for (let i = 0; i + 8 <= secret.length; i++) if (out.includes(secret.slice(i, i + 8))) found.push(secret.slice(i, i + 8));
    return found;
  };

  for (const [name, secret] of SECRETS) {
    it(`${name} cut into 3, 5 and 10 events at random offsets: no 8 characters of it reach the client; reported once; nothing noted`, () => {
      // What a whole scan reports (a private key: its header marker and its block), each once.
      const types = scanText(secret, { families: ['secret', 'pii', 'marker'], minConfidence: 0.5 }).map((f) => f.type).sort();
      assert.ok(types.length > 0, `${name} is a finding when whole`);
      const random = rng(secret.length);
      for (const n of [3, 5, 10]) {
        for (let trial = 0; trial < 25; trial++) {
          const pieces = cutInto(secret, n, random);
          const parts = [`the key is ${pieces[0]}`, ...pieces.slice(1, -1), `${pieces.at(-1)}\nthat was it\n`];
          const r = streamEvents(dlp(), parts);
          const label = `${n} events ${JSON.stringify(pieces)}: ${JSON.stringify(r.texts)}`;
          const out = r.texts.join('');
          assert.equal(r.texts.length, n, label);
          assert.deepEqual(shown(secret, out), [], label);
          assert.ok(out.startsWith('the key is ') && out.endsWith('\nthat was it\n'), label);
          assert.deepEqual(r.findings.map((f) => f.type).sort(), types, label);
          assert.equal(r.notes['dlp_split_sent_earlier'], undefined, label);
          assert.equal(r.notes['dlp_split_sent'], undefined, label);
        }
      }
    });
  }

  it('a blocking rule on a key cut into 10 events: every held event goes out without its piece, then the stream ends', () => {
    const block = dlp({ actions: { default: 'redact', families: {}, types: { 'github-pat': 'block' } } });
    const random = rng(7);
    for (let trial = 0; trial < 25; trial++) {
      const pieces = cutInto(GITHUB, 10, random);
      const r = streamEvents(block, [`the key is ${pieces[0]}`, ...pieces.slice(1, -1), `${pieces.at(-1)} and more\n`]);
      assert.equal(r.blocked, true);
      assert.deepEqual(r.texts, ['the key is ', ...Array.from({ length: 8 }, () => '')], JSON.stringify(pieces));
    }
  });

  it('pieces within the 50 ms hold of one another are all masked, however long the whole run takes; a gap past the hold lets the first pieces go (noted)', () => {
    const pieces = cutInto(GITHUB, 10, rng(3));
    const parts = [`the key is ${pieces[0]}`, ...pieces.slice(1, -1), `${pieces.at(-1)} and more\n`];
    // 4 ms apart, and 20 ms apart (the run spans 180 ms, far past one hold): each gap is within it.
    for (const gap of [4, 20]) {
      const inTime = streamEvents(dlp(), parts, { at: parts.map((_, i) => i * gap) });
      assert.deepEqual(shown(GITHUB, inTime.texts.join('')), [], `${gap} ms apart`);
      assert.deepEqual(inTime.notes, {});
    }
    // 60 ms apart: every hold ends before the next piece comes. The bound is explicit: what went
    // out is noted, the rest is still masked.
    const slow = streamEvents(dlp(), parts, { at: parts.map((_, i) => i * 60) });
    assert.equal(slow.texts[0], `the key is ${pieces[0]}`);
    assert.equal(slow.notes['dlp_split_sent'], 1);
    assert.ok(slow.texts.join('').endsWith('[REDACTED:github-pat] and more\n'), JSON.stringify(slow.texts));
    assert.equal(slow.findings.length, 1);
  });

  it('200 one-character events that may all continue: all out, in order, unchanged', () => {
    const parts = Array.from({ length: 200 }, (_, i) => String.fromCharCode(97 + (i % 26)));
    const r = streamEvents(dlp(), parts);
    assert.deepEqual(r.texts, parts);
  });
});

/**
 * Blobs are judged by their bytes, not their label: a credentials file served as
 * application/octet-stream, without a mimeType, as a PEM or NDJSON file is scanned and masked
 * like text/plain; media and archives, and bytes that are not text, are left alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatches } from '../pipeline/patch.ts';
import type { Frame, InspectorContext, Verdict } from '../pipeline/types.ts';
import { base64Kind, decodeTextBlob } from './dlp-binary.ts';
import { createDlpInspector } from './dlp.ts';
import { testContext } from '../pipeline/testkit.ts';

const AWS = 'AKIAQ3EGRZ7XK5M2VPLN';
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const ctx: InspectorContext = testContext();
const dlp = createDlpInspector({ families: ['secret', 'pii', 'marker'], minConfidence: 0.5, actions: { default: 'redact', families: {}, types: {} }, direction: 'both', crossEventHoldMs: 50 });

function read(contents: Array<Record<string, string>>): { verdict: Verdict; blobs: string[] } {
  const message = { jsonrpc: '2.0', id: 1, result: { contents } };
  const frame: Frame = { id: 'f', direction: 's2c', kind: 'result', method: 'resources/read', rpcId: 1, target: 'x', message, carrier: { transport: 'json', bytes: 0 } };
  const verdict = dlp.onMessage!(frame, ctx) as Verdict;
  const out = verdict.kind === 'redact' ? applyPatches(message, verdict.patches) : message;
  return { verdict, blobs: (out.result as { contents: Array<{ blob: string }> }).contents.map((c) => Buffer.from(c.blob, 'base64').toString('utf8')) };
}

describe('DLP on blobs, by content', () => {
  it('a credentials file is masked whatever its label says (octet-stream, none, PEM, NDJSON, odd spacing)', () => {
    const file = `[default]\naws_access_key_id = ${AWS}\nregion = eu-west-1\n`;
    for (const mimeType of ['application/octet-stream', undefined, 'application/x-pem-file', 'application/x-ndjson', ' text/plain', 'application/x-unknown']) {
      const { verdict, blobs } = read([{ uri: 'file:///home/u/.aws/credentials', ...(mimeType !== undefined && { mimeType }), blob: b64(file) }]);
      assert.equal(verdict.kind, 'redact', String(mimeType));
      assert.ok(!blobs[0]!.includes(AWS), String(mimeType));
      assert.match(blobs[0]!, /\[REDACTED:aws-access-key-id\]/);
    }
  });

  it('media, archives and bytes that are not text are neither scanned nor patched', () => {
    for (const mimeType of ['image/png', 'audio/wav', 'video/mp4', 'font/woff2', 'application/zip', 'application/pdf']) {
      assert.equal(base64Kind({ c: { mimeType, blob: b64(AWS) } }, '/c/blob'), 'binary', mimeType);
    }
    assert.equal(decodeTextBlob(b64(Buffer.from([0x41, 0x00, 0x42]))), undefined, 'NUL');
    assert.equal(decodeTextBlob(b64(Buffer.concat([Buffer.from(AWS), Buffer.from([1, 2, 3, 4, 5])]))), undefined, 'control bytes');
    assert.equal(decodeTextBlob(b64(Buffer.from([0x41, 0xff, 0xfe]))), undefined, 'not UTF-8');
    const { verdict } = read([{ uri: 'file:///x.bin', mimeType: 'application/octet-stream', blob: b64(Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(AWS)])) }]);
    assert.equal(verdict.kind, 'allow');
  });
});

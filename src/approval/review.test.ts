import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argumentsForReview, FULL_LIMIT, PREVIEW_CHARS } from './review.ts';

describe('argumentsForReview', () => {
  it('padding one argument cannot push another out of the preview', () => {
    const padding = 'Monthly report for finance, read-only, nothing is modified. '.repeat(20);
    const r = argumentsForReview({ description: padding, env: 'prod', command: 'DROP TABLE users; -- and wipe backups' });
    assert.match(r.preview, /"command":"DROP TABLE users; -- and wipe backups"/);
    assert.match(r.preview, /"env":"prod"/);
    assert.match(r.preview, /"description":"Monthly report.*…\[\d+ more chars\]….*modified\. "/);
    assert.equal(r.previewCut, true);
    assert.match(r.preview, new RegExp(`\\(cut for display: ${r.length} chars in all, sha256:[0-9a-f]{12}\\)$`));
  });

  it('orders arguments canonically, so the client cannot choose what comes first', () => {
    assert.equal(argumentsForReview({ b: 1, a: 2 }).preview, argumentsForReview({ a: 2, b: 1 }).preview);
    assert.equal(argumentsForReview({ b: 1, a: 2 }).digest, argumentsForReview({ a: 2, b: 1 }).digest);
  });

  it('shows short arguments whole, without a cut note', () => {
    const r = argumentsForReview({ repo: 'acme/web', force: true });
    assert.equal(r.preview, '{"force":true,"repo":"acme/web"}', 'uncut, the preview is the canonical JSON');
    assert.equal(r.previewCut, false);
    assert.equal(r.full, '{"force":true,"repo":"acme/web"}');
  });

  it('with many padded arguments, every one of the first 20 still shows, the rest are counted, and the preview stays bounded', () => {
    const many = Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`a${String(i).padStart(2, '0')}`, 'pad '.repeat(300)]));
    const r = argumentsForReview({ ...many, command: 'rm -rf /srv/backups' });
    assert.match(r.preview, /"command":"rm -rf \/srv\/backups"/);
    assert.ok(r.preview.length <= PREVIEW_CHARS + 80, `${r.preview.length}`);
    const more = argumentsForReview(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'.repeat(200)])));
    assert.match(more.preview, /"k19":"v+…\[\d+ more chars\]…v+",…and 20 more arguments}/);
    assert.ok(more.preview.length <= PREVIEW_CHARS + 80, `${more.preview.length}`);
    assert.equal(more.previewCut, true);
  });

  it('keeps the whole canonical arguments for the operator up to FULL_LIMIT, and says when it cut them', () => {
    const small = argumentsForReview({ text: 'x'.repeat(1000) });
    assert.equal(small.fullCut, false);
    assert.equal(JSON.parse(small.full).text.length, 1000);
    const big = argumentsForReview({ text: 'x'.repeat(FULL_LIMIT * 2) });
    assert.equal(big.fullCut, true);
    assert.equal(big.full.length, FULL_LIMIT);
    assert.equal(big.length, FULL_LIMIT * 2 + '{"text":""}'.length);
  });

  it('handles arguments that are not an object, and none at all', () => {
    assert.equal(argumentsForReview(undefined).preview, '');
    assert.equal(argumentsForReview(['a', 'b']).preview, '["a","b"]');
    const long = argumentsForReview('y'.repeat(500));
    assert.match(long.preview, /^"y+…\[\d+ more chars\]…y+" \(cut for display/);
  });

  it('never cuts between the halves of a surrogate pair', () => {
    const r = argumentsForReview({ s: '😀'.repeat(200) });
    assert.equal(r.preview.isWellFormed(), true);
  });
});

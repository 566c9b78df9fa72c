import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toolHash } from './canonical.ts';
import { runPinsCli } from './cli.ts';
import { Pinner } from './pinner.ts';
import { SqlitePinStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'pins-cli-'));
const db = join(dir, 'pins.db');
after(() => rmSync(dir, { recursive: true, force: true }));

const search = { name: 'search', description: 'Searches the web.', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } };
// Hidden instructions in characters a terminal does not show: zero-width space, Unicode tag
// characters ("hi" in tags), a right-to-left override, and an ESC that would start an ANSI sequence.
const poisoned = { ...search, description: 'Searches the web.\u200b\u{E0068}\u{E0069} \u202eevil\u001b[2J' };
const notes = { name: 'notes', description: 'Reads notes.' };

async function run(argv: string[], env: Record<string, string | undefined> = { USER: 'alice' }) {
  let stdout = '';
  let stderr = '';
  const code = await runPinsCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    now: () => Date.UTC(2026, 0, 2, 3, 4, 5),
  });
  return { code, stdout, stderr };
}

describe('portcullis pins CLI on a real pin database', () => {
  before(async () => {
    const store = new SqlitePinStore({ path: db });
    const tofu = new Pinner({ store, mode: 'trust-on-first-use', now: () => Date.UTC(2026, 0, 1) });
    await tofu.check('github', [search, notes]);
    await tofu.check('github', [poisoned, notes]);
    await new Pinner({ store, mode: 'explicit' }).check('gitlab', [search]);
    await store.close();
  });

  it('lists pins with their state', async () => {
    const r = await run(['list', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0]!, /^UPSTREAM\s+TOOL\s+STATE\s+HASH/);
    assert.match(r.stdout, /github\s+notes\s+approved\s+sha256:/);
    assert.match(r.stdout, /github\s+search\s+quarantined\s+sha256:/);
    assert.match(r.stdout, /gitlab\s+search\s+pending\s+sha256:/);
    const quarantined = await run(['list', '--db', db, '--state', 'quarantined', '--json']);
    assert.deepEqual(JSON.parse(quarantined.stdout).map((p: { upstream: string; tool: string }) => `${p.upstream}/${p.tool}`), ['github/search']);
    assert.equal((await run(['list', 'gitlab', '--db', db])).stdout.trim().split('\n').length, 2, 'one upstream: header and one row');
  });

  it('diff shows what changed, with hidden characters made visible, and how to approve exactly that', async () => {
    const r = await run(['diff', 'github', 'search', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /state:\s+quarantined: the definition changed since it was approved/);
    assert.match(r.stdout, /changed:\s+description\n/);
    assert.ok(r.stdout.includes(`--- approved ${toolHash(search)}`));
    assert.ok(r.stdout.includes(`+++ listed   ${toolHash(poisoned)}`));
    assert.ok(r.stdout.includes('-  "description": "Searches the web.",'), r.stdout);
    assert.ok(r.stdout.includes('+  "description": "Searches the web.\\u{200b}\\u{e0068}\\u{e0069} \\u{202e}evil\\u001b[2J",'), r.stdout);
    assert.ok(!/[\u200b\u202e\u001b]|[\u{E0000}-\u{E007F}]/u.test(r.stdout), 'no invisible or terminal-control character reaches the terminal');
    assert.ok(r.stdout.includes(`portcullis pins approve github search --hash ${toolHash(poisoned)}`));
  });

  it('diff of a pending tool shows its whole definition as new', async () => {
    const r = await run(['diff', 'gitlab', 'search', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pending: a new tool/);
    assert.ok(r.stdout.includes('+  "description": "Searches the web.",'));
  });

  it('approve with a hash that is no longer listed approves nothing', async () => {
    const r = await run(['approve', 'github', 'search', '--hash', toolHash(search), '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /review it again/);
    assert.match((await run(['list', 'github', '--db', db])).stdout, /search\s+quarantined/);
  });

  it('approve with the reviewed hash pins it and records who approved', async () => {
    const r = await run(['approve', 'github', 'search', '--hash', toolHash(poisoned), '--db', db], { PORTCULLIS_APPROVER: 'bob', USER: 'alice' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `approved search on github: ${toolHash(poisoned)} by bob (was quarantined)\n`);
    const store = new SqlitePinStore({ path: db, readOnly: true });
    const rec = await store.get('github', 'search');
    await store.close();
    assert.equal(rec?.state, 'approved');
    assert.equal(rec?.approvedBy, 'bob');
    assert.equal(rec?.approvedAt, Date.UTC(2026, 0, 2, 3, 4, 5));
  });

  it('approve without --hash approves what is listed now; quarantine holds a tool', async () => {
    assert.equal((await run(['approve', 'gitlab', 'search', '--db', db])).code, 0);
    assert.match((await run(['list', 'gitlab', '--db', db])).stdout, /search\s+approved.*alice/);
    const held = await run(['quarantine', 'gitlab', 'search', '--db', db]);
    assert.equal(held.code, 0, held.stderr);
    assert.match((await run(['list', 'gitlab', '--db', db])).stdout, /search\s+quarantined\*/);
  });

  it('fails clearly on a missing database and never creates one', async () => {
    const missing = join(dir, 'nope', 'pins.db');
    for (const argv of [['list'], ['diff', 'github', 'search'], ['approve', 'github', 'search']]) {
      const r = await run([...argv, '--db', missing]);
      assert.equal(r.code, 1, argv.join(' '));
      assert.match(r.stderr, /no pin database/);
    }
    assert.equal(existsSync(missing), false);
    const unknown = await run(['diff', 'github', 'nope', '--db', db]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no pin for tool "nope"/);
  });

  it('answers usage errors with exit status 2', async () => {
    for (const argv of [[], ['frobnicate'], ['approve', 'github'], ['approve', 'github', 'search', '--hash', 'md5:abc'], ['list', '--state', 'weird'], ['list', '--bogus']]) {
      const r = await run([...argv, '--db', db]);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, /usage:/);
    }
    assert.equal((await run(['approve', 'github', 'search', '--db', db], {})).code, 2, 'no approver known');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleApprovalsRequest } from './admin-api.ts';
import { runApprovalsCli } from './cli.ts';
import { clean } from './display.ts';
import { ApprovalQueue } from './queue.ts';
import type { ApprovalRequest, DecisionEvent } from './queue.ts';

const TOKEN = 'cli-test-token';
const NOW = 1_700_000_000_000;

const req = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  principal: 'alice',
  route: 'default',
  tool: 'delete_repo',
  argumentsPreview: '{"repo":"acme/web"}',
  summary: 'Deletes a repository',
  reasons: ['policy/needs-approval'],
  ttlMs: 600_000,
  ...over,
});

describe('portcullis approvals CLI against a real admin API', () => {
  let now = NOW;
  const queue = new ApprovalQueue({ now: () => now });
  const events: DecisionEvent[] = [];
  queue.onDecision((e) => events.push(e));
  let server: Server;
  let admin: string;

  before(async () => {
    server = createServer((rq, rs) => {
      if (!handleApprovalsRequest(rq, rs, queue, { token: TOKEN })) {
        rs.statusCode = 404;
        rs.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    queue.close();
    server.closeAllConnections();
    server.close();
  });

  async function run(argv: string[], env: Record<string, string | undefined> = { PORTCULLIS_ADMIN_URL: admin, PORTCULLIS_ADMIN_TOKEN: TOKEN }) {
    let stdout = '';
    let stderr = '';
    const code = await runApprovalsCli(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env,
      now: () => now,
    });
    return { code, stdout, stderr };
  }

  it('list says so when nothing is pending', async () => {
    assert.deepEqual(await run(['list']), { code: 0, stdout: 'No pending approvals.\n', stderr: '' });
  });

  it('list prints a table with age and time left', async () => {
    const a = queue.request(req());
    now += 90_000;
    const { code, stdout } = await run(['list']);
    assert.equal(code, 0);
    const [header, row, ...rest] = stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+AGE\s+EXPIRES\s+PRINCIPAL\s+ROUTE\s+TOOL\s+SUMMARY$/);
    assert.deepEqual(rest, []);
    assert.match(row!, new RegExp(`^${a.id}\\s+1m30s\\s+8m30s\\s+alice\\s+default\\s+delete_repo\\s+Deletes a repository$`));
    queue.deny(a.id, 'cleanup');
  });

  it('list --json prints the full records', async () => {
    const a = queue.request(req());
    const { code, stdout } = await run(['list', '--json']);
    assert.equal(code, 0);
    const items = JSON.parse(stdout) as { id: string; argumentsPreview: string }[];
    assert.deepEqual(items.map((i) => [i.id, i.argumentsPreview]), [[a.id, '{"repo":"acme/web"}']]);
    queue.deny(a.id, 'cleanup');
  });

  it('approve ID decides with --by and --note, via --admin and --token flags', async () => {
    const a = queue.request(req());
    const { code, stdout } = await run(['approve', a.id, '--by', 'bob', '--note', 'ticket 7', '--admin', admin, '--token', TOKEN], {});
    assert.equal(code, 0);
    assert.equal(stdout, `${a.id} approved by bob\n`);
    assert.equal(await a.decision, 'approved');
    const e = events.find((x) => x.request.id === a.id)!;
    assert.deepEqual([e.by, e.note], ['bob', 'ticket 7']);
  });

  it('deny ID takes --by from the environment', async () => {
    const a = queue.request(req());
    const { code } = await run(['deny', a.id], { PORTCULLIS_ADMIN_URL: admin, PORTCULLIS_ADMIN_TOKEN: TOKEN, USER: 'carol' });
    assert.equal(code, 0);
    assert.equal(await a.decision, 'denied');
    assert.equal(events.find((x) => x.request.id === a.id)!.by, 'carol');
  });

  it('exits 1 with the reason for an already decided or unknown id', async () => {
    const a = queue.request(req());
    queue.approve(a.id, 'bob');
    const again = await run(['deny', a.id, '--by', 'eve']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already decided as approved \(HTTP 409\)/);
    const gone = queue.request(req());
    queue.withdraw(gone.id, 'client-disconnect');
    const late = await run(['approve', gone.id, '--by', 'eve']);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /was withdrawn before a decision \(its caller disconnected\); the call was not run \(HTTP 409\)/);
    const unknown = await run(['approve', 'apr_AAAAAAAAAAAAAAAAAAAAAA', '--by', 'eve']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /HTTP 404/);
  });

  it('exits 1 with a hint when the token is missing or wrong', async () => {
    const r = await run(['list'], { PORTCULLIS_ADMIN_URL: admin });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 401.*PORTCULLIS_ADMIN_TOKEN/);
    assert.equal((await run(['list', '--token', 'nope'], { PORTCULLIS_ADMIN_URL: admin })).code, 1);
  });

  it('show ID prints the arguments preview, and nothing client-controlled reaches the terminal raw', async () => {
    const a = queue.request(req({ principal: 'mallory\u001b[2K\u001b[1Galice', tool: 'rm\u202eexe.txt', argumentsPreview: '{"x":1}\n{"y":"\u001b]0;pwned\u0007"}' }));
    const show = await run(['show', a.id]);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /principal: {2}mallory\?\[2K\?\[1Galice/);
    assert.match(show.stdout, /arguments:\n {2}\{"x":1\}\n {2}\{"y":"\?\]0;pwned\?"\}/);
    const list = await run(['list']);
    for (const out of [show.stdout, list.stdout]) {
      assert.doesNotMatch(out, /[\u001b\u0007\u202e]/);
    }
    queue.deny(a.id, 'cleanup');
  });

  it('show ID prints the whole arguments, one member per line, when the gateway kept them; the list leaves them out', async () => {
    const padding = 'Monthly report, read-only. '.repeat(40);
    const json = JSON.stringify({ command: 'DROP TABLE users', description: padding });
    const a = queue.request(req({ argumentsPreview: 'cut preview', arguments: { json, cut: false, length: json.length } }));
    const show = await run(['show', a.id]);
    assert.equal(show.code, 0);
    assert.match(show.stdout, new RegExp(`arguments \\(${json.length} characters\\):\n {2}\\{\n {4}"command": "DROP TABLE users",\n {4}"description": "${padding}"\n {2}\\}`));
    const list = await run(['list', '--json']);
    assert.doesNotMatch(list.stdout, /DROP TABLE/, 'the list view carries previews, not whole arguments');
    queue.deny(a.id, 'cleanup');

    const cut = queue.request(req({ arguments: { json: '{"a":"xxxx', cut: true, length: 70_000 } }));
    assert.match((await run(['show', cut.id])).stdout, /arguments \(the first 10 of 70000 characters; the rest is not shown anywhere\):\n {2}\{"a":"xxxx/);
    queue.deny(cut.id, 'cleanup');
  });

  it('exits 2 with usage for bad invocations', async () => {
    for (const argv of [[], ['frobnicate'], ['approve'], ['list', 'extra'], ['list', '--bogus'], ['approve', 'x', 'y', '--by', 'b']]) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, /usage:/);
    }
    const noBy = await run(['approve', 'apr_x'], { PORTCULLIS_ADMIN_URL: admin });
    assert.equal(noBy.code, 2);
    assert.match(noBy.stderr, /--by NAME is required/);
    assert.equal((await run(['list', '--admin', 'ftp://x'])).code, 2);
  });

  it('--help prints usage and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /portcullis approvals list/);
  });

  it('exits 1 saying the admin API is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await run(['list', '--admin', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+/);
  });
});

describe('clean', () => {
  it('neutralizes C0/C1 controls and bidi overrides, keeps ordinary text', () => {
    assert.equal(clean('a\u001b[31mb\u009bc\u202ed\u2066e'), 'a?[31mb?c?d?e');
    assert.equal(clean('héllo wörld ✓'), 'héllo wörld ✓');
  });
});

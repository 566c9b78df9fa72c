import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleApprovalsRequest } from './admin-api.ts';
import type { ApprovalsApiOptions } from './admin-api.ts';
import { ApprovalQueue } from './queue.ts';
import type { ApprovalRequest } from './queue.ts';

const req: ApprovalRequest = {
  principal: 'alice',
  route: 'default',
  tool: 'delete_repo',
  argumentsPreview: '{"repo":"acme/web"}',
  summary: 'Deletes a repository',
  reasons: ['policy/needs-approval'],
  ttlMs: 60_000,
};

/** An admin-like server: approvals first, everything else answers 418 (proves `false` is returned). */
async function start(queue: () => ApprovalQueue, opts: ApprovalsApiOptions): Promise<{ url: string; server: Server }> {
  const server = createServer((rq, rs) => {
    if (!handleApprovalsRequest(rq, rs, queue(), opts)) {
      rs.statusCode = 418;
      rs.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('approvals admin API (no token)', () => {
  let queue: ApprovalQueue;
  let url: string;
  let server: Server;
  before(async () => {
    queue = new ApprovalQueue();
    ({ url, server } = await start(() => queue, { maxBodyBytes: 256 }));
  });
  beforeEach(() => {
    queue.close();
    queue = new ApprovalQueue();
  });
  after(() => {
    queue.close();
    server.closeAllConnections();
    server.close();
  });

  it('leaves other paths to the caller', async () => {
    assert.equal((await fetch(`${url}/livez`)).status, 418);
    assert.equal((await fetch(`${url}/approvalsX`)).status, 418);
  });

  it('GET /approvals lists pending requests, uncached', async () => {
    const a = queue.request(req);
    const res = await fetch(`${url}/approvals`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { approvals: { id: string; tool: string }[] };
    assert.deepEqual(body.approvals.map((p) => [p.id, p.tool]), [[a.id, 'delete_repo']]);
  });

  it('GET /approvals/:id shows one, 404 for unknown or malformed ids', async () => {
    const a = queue.request(req);
    assert.equal(((await (await fetch(`${url}/approvals/${a.id}`)).json()) as { summary: string }).summary, req.summary);
    assert.equal((await fetch(`${url}/approvals/apr_AAAAAAAAAAAAAAAAAAAAAA`)).status, 404);
    assert.equal((await fetch(`${url}/approvals/..%2f`)).status, 404);
    assert.equal((await fetch(`${url}/approvals/${a.id}/approve/extra`)).status, 404);
  });

  it('POST approve decides (200), a second decision is 409, unknown is 404', async () => {
    const a = queue.request(req);
    const res = await post(`${url}/approvals/${a.id}/approve`, { by: 'bob', note: 'ok' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual({ ...body, decidedAt: 0 }, { id: a.id, decision: 'approved', by: 'bob', note: 'ok', decidedAt: 0 });
    assert.equal(await a.decision, 'approved');

    const again = await post(`${url}/approvals/${a.id}/deny`, { by: 'eve' });
    assert.equal(again.status, 409);
    assert.deepEqual(((await again.json()) as { decision: string }).decision, 'approved');

    assert.equal((await post(`${url}/approvals/apr_AAAAAAAAAAAAAAAAAAAAAA/deny`, { by: 'bob' })).status, 404);
  });

  it('POST approve of a withdrawn request is 409 "withdrawn" saying why, and nothing is decided', async () => {
    const a = queue.request(req);
    queue.withdraw(a.id, 'client-disconnect');
    assert.equal((await fetch(`${url}/approvals/${a.id}`)).status, 404, 'no longer pending');
    const res = await post(`${url}/approvals/${a.id}/approve`, { by: 'bob' });
    assert.equal(res.status, 409);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['error'], 'withdrawn');
    assert.equal(body['decision'], 'withdrawn');
    assert.equal(body['reason'], 'client-disconnect');
    assert.match(String(body['message']), /withdrawn before a decision \(its caller disconnected\); the call was not run/);
    assert.equal(await a.decision, 'withdrawn');
  });

  it('POST deny resolves denied', async () => {
    const a = queue.request(req);
    assert.equal((await post(`${url}/approvals/${a.id}/deny`, { by: 'bob' })).status, 200);
    assert.equal(await a.decision, 'denied');
  });

  it('400 for bodies that are not {by, note?}, leaving the request pending', async () => {
    const a = queue.request(req);
    for (const bad of ['{not json', '[]', { note: 'x' }, { by: '' }, { by: '   ' }, { by: 'bob', extra: 1 }, { by: 'bo\u001bb' }, { by: 42 }]) {
      const res = await post(`${url}/approvals/${a.id}/approve`, bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(((await res.json()) as { error: string }).error, 'bad_request');
    }
    assert.equal(queue.list().length, 1);
  });

  it('415 unless the body is application/json (blocks cross-site form posts)', async () => {
    const a = queue.request(req);
    const res = await fetch(`${url}/approvals/${a.id}/approve`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"by":"bob"}' });
    assert.equal(res.status, 415);
    assert.equal(queue.list().length, 1);
  });

  it('413 for a body over the limit', async () => {
    const a = queue.request(req);
    const res = await post(`${url}/approvals/${a.id}/approve`, { by: 'bob', note: 'x'.repeat(1000) });
    assert.equal(res.status, 413);
    assert.equal(queue.list().length, 1);
  });

  it('413 for a chunked body that grows past the limit (no Content-Length)', async () => {
    const a = queue.request(req);
    const status = await new Promise<number>((resolve, reject) => {
      const r = request(`${url}/approvals/${a.id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.write('{"by":"bob","note":"');
      r.write('x'.repeat(300));
      r.end('"}');
    });
    assert.equal(status, 413);
    assert.equal(queue.list().length, 1);
  });

  it('405 with Allow for the wrong method', async () => {
    const a = queue.request(req);
    const r1 = await fetch(`${url}/approvals/${a.id}/approve`);
    assert.equal(r1.status, 405);
    assert.equal(r1.headers.get('allow'), 'POST');
    const r2 = await post(`${url}/approvals`, {});
    assert.equal(r2.status, 405);
    assert.equal(r2.headers.get('allow'), 'GET, HEAD');
  });
});

describe('approvals admin API (token configured)', () => {
  const queue = new ApprovalQueue();
  let url: string;
  let server: Server;
  before(async () => {
    ({ url, server } = await start(() => queue, { token: 's3cret-admin-token' }));
  });
  after(() => {
    queue.close();
    server.closeAllConnections();
    server.close();
  });

  it('401 with WWW-Authenticate without a token', async () => {
    const res = await fetch(`${url}/approvals`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="portcullis-admin"');
  });

  it('401 invalid_token for a wrong token, and decides nothing', async () => {
    const a = queue.request(req);
    for (const auth of ['Bearer wrong', 'Bearer s3cret-admin-tokenX', 'Basic czNjcmV0', 'Bearer ']) {
      const res = await post(`${url}/approvals/${a.id}/approve`, { by: 'bob' }, { authorization: auth });
      assert.equal(res.status, 401, auth);
    }
    const res = await fetch(`${url}/approvals`, { headers: { authorization: 'Bearer wrong' } });
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.equal(queue.get(a.id)?.id, a.id);
  });

  it('accepts the right token, with any case of the scheme', async () => {
    const a = queue.request(req);
    assert.equal((await fetch(`${url}/approvals`, { headers: { authorization: 'bearer s3cret-admin-token' } })).status, 200);
    const res = await post(`${url}/approvals/${a.id}/approve`, { by: 'bob' }, { authorization: 'Bearer s3cret-admin-token' });
    assert.equal(res.status, 200);
    assert.equal(await a.decision, 'approved');
  });
});

describe('approvals admin API (empty token configured)', () => {
  it('refuses everything rather than running open', async () => {
    const queue = new ApprovalQueue();
    const { url, server } = await start(() => queue, { token: '' });
    try {
      assert.equal((await fetch(`${url}/approvals`)).status, 401);
      assert.equal((await fetch(`${url}/approvals`, { headers: { authorization: 'Bearer ' } })).status, 401);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

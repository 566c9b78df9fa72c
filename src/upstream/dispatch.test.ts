import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { dispatchUpstream, type DirectSink } from './dispatch.ts';

const BIG = 4 * 1024 * 1024;

describe('dispatchUpstream', () => {
  let server: Server;
  let pool: Pool;
  let closedEarly = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(Buffer.alloc(BIG, 0x61));
        return;
      }
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const t = setInterval(() => res.write('x'.repeat(1024)), 5);
        res.on('close', () => {
          clearInterval(t);
          closedEarly++;
        });
        return;
      }
      if (req.url === '/never') return; // no head, ever
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '7' });
      res.end('{"a":1}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    await pool.destroy();
    server.closeAllConnections();
    server.close();
  });

  it('hands a claimed body to the sink chunk by chunk, with pause and resume', async () => {
    let got = 0;
    let paused = 0;
    let resume = () => {};
    let ended = false;
    const sink: DirectSink = {
      start: (r) => {
        resume = r;
      },
      write: (chunk) => {
        got += chunk.length;
        // Ask for a pause on every chunk; resume on the next tick, as a drained socket would.
        paused++;
        setImmediate(resume);
        return false;
      },
      end: () => {
        ended = true;
      },
      fail: () => assert.fail('no failure expected'),
    };
    const r = await dispatchUpstream(pool, { path: '/big', method: 'GET' }, undefined, () => sink);
    assert.equal(r.direct, true);
    if (r.direct) await r.done;
    assert.equal(got, BIG);
    assert.ok(ended);
    assert.ok(paused > 1, 'the body arrived in several paused steps');
  });

  it('gives an unclaimed body as a readable stream', async () => {
    const r = await dispatchUpstream(pool, { path: '/small', method: 'GET' }, undefined, () => undefined);
    assert.equal(r.direct, false);
    if (r.direct) return;
    assert.equal(r.response.statusCode, 200);
    const chunks: Buffer[] = [];
    for await (const c of r.response.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), '{"a":1}');
  });

  it('destroying an unclaimed body aborts the upstream response', async () => {
    const before = closedEarly;
    const r = await dispatchUpstream(pool, { path: '/endless', method: 'GET' }, undefined, undefined);
    assert.equal(r.direct, false);
    if (r.direct) return;
    for await (const _ of r.response.body) break; // read one chunk, then give up
    assert.ok(r.response.body.destroyed);
    // The upstream sees its response closed before it finished.
    for (let i = 0; i < 100 && closedEarly === before; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(closedEarly, before + 1);
  });

  it('rejects with the abort reason when the signal fires before any head', async () => {
    const ac = new AbortController();
    const p = dispatchUpstream(pool, { path: '/never', method: 'GET' }, ac.signal, undefined);
    const reason = new Error('gave up');
    setTimeout(() => ac.abort(reason), 20);
    await assert.rejects(p, (err) => err === reason);
  });
});

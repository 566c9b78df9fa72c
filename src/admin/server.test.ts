import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { adminGuard, startAdminServer } from './server.ts';
import type { AdminServer, ReadinessReport } from './server.ts';
import { GatewayMetrics } from '../telemetry/metrics.ts';

/** Sends raw bytes and resolves with whatever the server answers before closing. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('admin server', () => {
  const metrics = new GatewayMetrics();
  let report: ReadinessReport = { ready: true, checks: { config: { ok: true } } };
  let readiness: () => ReadinessReport | Promise<ReadinessReport> = () => report;
  let admin: AdminServer;

  before(async () => {
    admin = await startAdminServer({ port: 0, metrics, readiness: () => readiness(), readinessTimeoutMs: 100 });
  });
  after(() => admin.close());

  it('binds loopback by default on the port it reports', () => {
    assert.equal(admin.url, `http://127.0.0.1:${admin.port}`);
    assert.ok(admin.port > 0);
  });

  it('GET /livez answers 200 {"status":"ok"}', async () => {
    const res = await fetch(`${admin.url}/livez`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('GET /readyz answers 200 with the report when ready and 503 when not', async () => {
    report = { ready: true, checks: { config: { ok: true }, upstream: { ok: true, detail: 'reachable' } } };
    let res = await fetch(`${admin.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), report);

    report = { ready: false, checks: { config: { ok: true }, upstream: { ok: false, detail: 'connection refused' } } };
    res = await fetch(`${admin.url}/readyz?verbose=1`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), report);
  });

  it('GET /readyz is 503 when the readiness check throws, hangs or returns junk', async () => {
    try {
      readiness = () => {
        throw new Error('db password=hunter2 rejected');
      };
      let res = await fetch(`${admin.url}/readyz`);
      assert.equal(res.status, 503);
      const body = await res.text();
      assert.equal(JSON.parse(body).ready, false);
      assert.ok(!body.includes('hunter2'), 'error text must not reach the probe');

      readiness = () => new Promise<ReadinessReport>(() => {});
      res = await fetch(`${admin.url}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as ReadinessReport).ready, false);

      readiness = () => ({ ready: 'yes', checks: null }) as never;
      res = await fetch(`${admin.url}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { ready: false, checks: {} });
    } finally {
      readiness = () => report;
    }
  });

  it('GET /metrics serves Prometheus text with the named metrics', async () => {
    metrics.observeRequest('main', 'tools/call', 'modern', 200, 0.004);
    metrics.countVerdict('policy', { kind: 'block', reasons: ['policy/tool-denied'] });
    const res = await fetch(`${admin.url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), metrics.contentType);
    const text = await res.text();
    assert.match(text, /^portcullis_requests_total\{route="main",method="tools\/call",era="modern",status="2xx"\} 1$/m);
    assert.match(text, /^portcullis_verdicts_total\{inspector="policy",verdict="block",reason="policy\/tool-denied"\} 1$/m);
    assert.match(text, /^# TYPE portcullis_request_duration_seconds histogram$/m);
    assert.match(text, /^portcullis_process_resident_memory_bytes /m);
  });

  it('answers 404 JSON on unknown paths, whatever the method', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/livez/'], ['GET', '/metrics.json'], ['POST', '/admin']] as const) {
      const res = await fetch(`${admin.url}${path}`, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(((await res.json()) as { error: string }).error, 'not_found');
    }
  });

  it('answers 405 with Allow on non-GET methods', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await fetch(`${admin.url}/livez`, { method, body: method === 'POST' || method === 'PUT' ? '{"x":1}' : null });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      assert.equal(((await res.json()) as { error: string }).error, 'method_not_allowed');
    }
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await fetch(`${admin.url}/livez`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  it('survives malformed requests and keeps answering', async () => {
    const garbage = await raw(admin.port, 'GARBAGE \x00\x01 nonsense\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400/);
    const star = await raw(admin.port, 'OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.match(star, /^HTTP\/1\.1 404/);
    // Absolute-form: the target's authority is the host, Host is ignored (RFC 9112 §3.2.2).
    const absolute = await raw(admin.port, `GET http://127.0.0.1:${admin.port}/livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(absolute, /^HTTP\/1\.1 200/);
    const absoluteForeign = await raw(admin.port, `GET http://attacker.example:${admin.port}/livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    assert.match(absoluteForeign, /^HTTP\/1\.1 403/);
    const res = await fetch(`${admin.url}/livez`);
    assert.equal(res.status, 200);
  });
});

describe('admin server: Host and Origin guard (DNS rebinding)', () => {
  const opts = { metrics: new GatewayMetrics({ defaultMetrics: false }), readiness: () => ({ ready: true, checks: {} }) };

  function get(port: number, path: string, headers: Record<string, string>): Promise<string> {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    return raw(port, `GET ${path} HTTP/1.1\r\n${lines}Connection: close\r\n\r\n`);
  }

  it('loopback bind (the default): loopback names pass; a foreign name or any browser Origin gets 403 JSON', async () => {
    const refused: string[] = [];
    const admin = await startAdminServer({ ...opts, port: 0, onRefused: (_req, code, status) => refused.push(`${code} ${status}`) });
    try {
      for (const host of [`127.0.0.1:${admin.port}`, `localhost:${admin.port}`, `[::1]:${admin.port}`, 'localhost']) {
        assert.match(await get(admin.port, '/livez', { Host: host }), /^HTTP\/1\.1 200/, host);
      }
      const foreign = await get(admin.port, '/livez', { Host: `attacker.example:${admin.port}` });
      assert.match(foreign, /^HTTP\/1\.1 403/);
      assert.match(foreign, /content-type: application\/json/i);
      assert.match(foreign, /"error":"host_forbidden"/);
      assert.match(foreign, /admin\.allowedHosts/, 'the refusal names the setting');
      assert.ok(!foreign.includes('attacker.example'), 'the refused value is not echoed');
      // Off loopback an IP literal would pass; on a loopback bind only loopback names do.
      assert.match(await get(admin.port, '/livez', { Host: `10.0.0.5:${admin.port}` }), /^HTTP\/1\.1 403/);
      assert.match(await get(admin.port, '/livez', {}), /^HTTP\/1\.1 (400|403)/, 'no Host at all');
      for (const origin of ['http://attacker.example', 'http://localhost:3000', 'null']) {
        const r = await get(admin.port, '/metrics', { Host: `127.0.0.1:${admin.port}`, Origin: origin });
        assert.match(r, /^HTTP\/1\.1 403/, origin);
        assert.match(r, /"error":"origin_forbidden"/, origin);
      }
      assert.deepEqual(refused.slice(0, 2), ['host_forbidden 403', 'host_forbidden 403']);
    } finally {
      await admin.close();
    }
  });

  it('off loopback: IP addresses (a kubelet probing the pod IP) and listed names pass, other names do not', async () => {
    const guard = adminGuard({ bindHost: '0.0.0.0', allowedHosts: ['metrics.internal'], allowedOrigins: ['https://ops.example.com'] });
    const admin = await startAdminServer({ ...opts, port: 0, guard: () => guard });
    try {
      for (const host of [`10.244.0.12:${admin.port}`, `[fd00::12]:${admin.port}`, `metrics.internal:${admin.port}`, 'metrics.internal', `localhost:${admin.port}`]) {
        assert.match(await get(admin.port, '/readyz', { Host: host }), /^HTTP\/1\.1 200/, host);
      }
      assert.match(await get(admin.port, '/readyz', { Host: `evil.example:${admin.port}` }), /^HTTP\/1\.1 403/);
      assert.match(await get(admin.port, '/readyz', { Host: 'metrics.internal', Origin: 'https://ops.example.com' }), /^HTTP\/1\.1 200/);
      assert.match(await get(admin.port, '/readyz', { Host: 'metrics.internal', Origin: 'https://evil.example.com' }), /^HTTP\/1\.1 403/);
    } finally {
      await admin.close();
    }
  });

  it('["*"] opts out of the Host check (Origin still checked)', async () => {
    const admin = await startAdminServer({ ...opts, port: 0, guard: () => adminGuard({ bindHost: '127.0.0.1', allowedHosts: ['*'] }) });
    try {
      assert.match(await get(admin.port, '/livez', { Host: 'anything.example' }), /^HTTP\/1\.1 200/);
      assert.match(await get(admin.port, '/livez', { Host: 'anything.example', Origin: 'http://anything.example' }), /^HTTP\/1\.1 403/);
    } finally {
      await admin.close();
    }
  });
});

describe('admin server failures', () => {
  it('answers 500 when metrics collection fails, and stays up', async () => {
    const admin = await startAdminServer({
      port: 0,
      metrics: { contentType: 'text/plain', metricsText: () => Promise.reject(new Error('collector broke')) },
      readiness: () => ({ ready: true, checks: {} }),
    });
    try {
      const res = await fetch(`${admin.url}/metrics`);
      assert.equal(res.status, 500);
      assert.equal(((await res.json()) as { error: string }).error, 'metrics_failed');
      assert.equal((await fetch(`${admin.url}/livez`)).status, 200);
    } finally {
      await admin.close();
    }
  });

  it('rejects a bad port, and a port already in use, with a clear error', async () => {
    const opts = { metrics: new GatewayMetrics({ defaultMetrics: false }), readiness: () => ({ ready: true, checks: {} }) };
    await assert.rejects(startAdminServer({ ...opts, port: 70000 }), RangeError);
    const first = await startAdminServer({ ...opts, port: 0 });
    try {
      await assert.rejects(startAdminServer({ ...opts, port: first.port }), /admin listener could not bind 127\.0\.0\.1:\d+/);
    } finally {
      await first.close();
    }
  });

  it('close() resolves with keep-alive connections open and can be called twice', async () => {
    const admin = await startAdminServer({
      port: 0,
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      readiness: () => ({ ready: true, checks: {} }),
    });
    await (await fetch(`${admin.url}/livez`)).text();
    await admin.close();
    await admin.close();
    await assert.rejects(fetch(`${admin.url}/livez`));
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditSinkContract, makeContractRecords } from './contract.ts';
import { SyslogSink } from './syslog-sink.ts';
import { Chain } from './chain.ts';
import type { AuditRecord } from './record.ts';

interface Parsed {
  pri: number;
  version: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: string;
  msg: Buffer;
}

/**
 * An independent RFC 5424 parser over RFC 6587 octet-counted frames: MSG-LEN SP SYSLOG-MSG.
 * Returns the complete frames and leaves a partial one in the buffer.
 */
function takeFrames(state: { buf: Buffer }): Parsed[] {
  const out: Parsed[] = [];
  for (;;) {
    const sp = state.buf.indexOf(0x20);
    if (sp < 0) return out;
    const lenText = state.buf.subarray(0, sp).toString('ascii');
    assert.match(lenText, /^[1-9][0-9]*$/, 'MSG-LEN is a non-zero decimal');
    const len = Number(lenText);
    if (state.buf.length < sp + 1 + len) return out;
    const msg = state.buf.subarray(sp + 1, sp + 1 + len);
    state.buf = state.buf.subarray(sp + 1 + len);
    out.push(parse5424(msg));
  }
}

function parse5424(m: Buffer): Parsed {
  let i = 0;
  const field = () => {
    const sp = m.indexOf(0x20, i);
    const v = m.subarray(i, sp).toString('ascii');
    i = sp + 1;
    return v;
  };
  const head = field();
  const hm = /^<(\d{1,3})>(\d)$/.exec(head);
  assert.ok(hm, `PRI VERSION in ${head}`);
  const timestamp = field();
  const hostname = field();
  const appName = field();
  const procId = field();
  const msgId = field();
  // STRUCTURED-DATA: NILVALUE or elements, each [ ... ] with \" \\ \] escapes inside values.
  let sdEnd = i;
  if (m[i] === 0x2d) sdEnd = i + 1;
  else {
    while (m[sdEnd] === 0x5b) {
      sdEnd++;
      let inQuote = false;
      for (; sdEnd < m.length; sdEnd++) {
        const c = m[sdEnd];
        if (c === 0x5c && inQuote) sdEnd++;
        else if (c === 0x22) inQuote = !inQuote;
        else if (c === 0x5d && !inQuote) break;
      }
      sdEnd++;
    }
  }
  const sd = m.subarray(i, sdEnd).toString('utf8');
  assert.equal(m[sdEnd], 0x20, 'SP after STRUCTURED-DATA');
  return { pri: Number(hm[1]), version: hm[2]!, timestamp, hostname, appName, procId, msgId, sd, msg: m.subarray(sdEnd + 1) };
}

function recordOf(p: Parsed): AuditRecord {
  assert.equal(p.version, '1');
  assert.deepEqual([...p.msg.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 MSG starts with a BOM (RFC 5424 §6.4)');
  const r = JSON.parse(p.msg.subarray(3).toString('utf8')) as AuditRecord;
  assert.equal(p.pri >> 3, 13, 'facility 13 (log audit)');
  assert.equal(p.msgId, `ocsf-${r.class_uid}`);
  assert.match(p.sd, new RegExp(`^\\[portcullis@32473 seq="${r.seq}" class="${r.class_uid}" uid="`));
  assert.match(p.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return r;
}

/** A real syslog receiver: every frame from every connection, in arrival order. */
function listen(server: Server, frames: Parsed[]): Promise<number> {
  server.on('connection', (sock: Socket) => onSocket(sock, frames));
  server.on('secureConnection', (sock: Socket) => onSocket(sock, frames));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function onSocket(sock: Socket, frames: Parsed[]): void {
  const state = { buf: Buffer.alloc(0) };
  sock.on('data', (d: Buffer) => {
    state.buf = Buffer.concat([state.buf, d]);
    frames.push(...takeFrames(state));
  });
  sock.on('error', () => undefined);
}

/** Frames are in flight when write resolves; wait until the receiver has them all. */
async function settle(frames: Parsed[]): Promise<void> {
  let n = -1;
  while (n !== frames.length) {
    n = frames.length;
    await new Promise((r) => setTimeout(r, 30));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'audit-syslog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

{
  const frames: Parsed[] = [];
  const server = createTcpServer();
  const port = await listen(server, frames);
  auditSinkContract(
    'syslog (RFC 5424 over TCP, octet counting)',
    () => SyslogSink.open({ host: '127.0.0.1', port, statePath: join(dir, 'tcp-state.json') }),
    async () => {
      await settle(frames);
      return frames.map(recordOf);
    },
    { cleanup: async () => void server.close() },
  );
}

{
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const frames: Parsed[] = [];
  const server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert });
  const port = await listen(server, frames);
  auditSinkContract(
    'syslog over TLS (RFC 5425)',
    () => SyslogSink.open({ host: '127.0.0.1', port, tls: { ca: cert }, statePath: join(dir, 'tls-state.json') }),
    async () => {
      await settle(frames);
      return frames.map(recordOf);
    },
    { cleanup: async () => void server.close() },
  );

  describe('SyslogSink TLS', () => {
    it('refuses a server whose certificate it does not trust', async () => {
      const received: Parsed[] = [];
      const untrusted = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert });
      const p = await listen(untrusted, received);
      const sink = await SyslogSink.open({ host: '127.0.0.1', port: p, tls: true });
      await assert.rejects(sink.write(makeContractRecords(new Chain(), 1)), /self[- ]signed|certificate/i);
      await sink.close();
      untrusted.close();
      assert.equal(received.length, 0);
    });
  });
}

describe('SyslogSink', () => {
  it('rejects while the receiver is down and delivers after it comes back', async () => {
    const frames: Parsed[] = [];
    const probe = createTcpServer();
    const port = await listen(probe, frames);
    await new Promise<void>((r) => probe.close(() => r()));
    const sink = await SyslogSink.open({ host: '127.0.0.1', port });
    const recs = makeContractRecords(new Chain(), 3);
    await assert.rejects(sink.write(recs), /ECONNREFUSED/);
    const server = createTcpServer();
    server.on('connection', (sock: Socket) => onSocket(sock, frames));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    await sink.write(recs);
    await settle(frames);
    assert.deepEqual(frames.map(recordOf), recs);
    await sink.close();
    server.close();
  });

  it('escapes ] " and \\ in structured-data values', async () => {
    const frames: Parsed[] = [];
    const server = createTcpServer();
    const port = await listen(server, frames);
    const sink = await SyslogSink.open({ host: '127.0.0.1', port });
    const [linked] = makeContractRecords(new Chain(), 1);
    // A copy, not an edit: chained records are immutable (their stored text is made once).
    const r = { ...linked!, metadata: { ...linked!.metadata, uid: 'a]b"c\\d' } };
    await sink.write([r]);
    await settle(frames);
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.sd.endsWith(' uid="a\\]b\\"c\\\\d"]'), frames[0]!.sd);
    assert.deepEqual(recordOf(frames[0]!), r);
    await sink.close();
    server.close();
  });
});

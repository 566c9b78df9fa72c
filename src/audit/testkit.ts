/**
 * Test helpers for the audit module: a fault-injecting wrapper around a real sink, keys, and
 * sample events. Not a mock: the wrapped sink is the real store; the gate only delays or fails
 * delivery the way a slow or unreachable destination would.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, type Signer } from './chain.ts';
import { Digester } from './digest.ts';
import { RecordBuilder, type AuditEvent, type AuditRecord, type ExchangeContext } from './record.ts';
import type { AuditQuery, AuditSink } from './sink.ts';

export type GateMode = 'open' | 'fail' | 'stall';

/** Wraps a real sink; `fail` rejects writes (a refused connection), `stall` holds them (a hung one). */
export class GateSink implements AuditSink {
  readonly name: string;
  readonly inner: AuditSink;
  mode: GateMode = 'open';
  writes = 0;
  #held: Array<() => void> = [];

  constructor(inner: AuditSink, name = inner.name) {
    this.inner = inner;
    this.name = name;
  }

  set(mode: GateMode): void {
    this.mode = mode;
    if (mode !== 'stall') for (const release of this.#held.splice(0)) release();
  }

  async write(batch: readonly AuditRecord[]): Promise<void> {
    this.writes++;
    if (this.mode === 'stall') await new Promise<void>((r) => this.#held.push(r));
    if (this.mode === 'fail') throw new Error(`${this.name}: connection refused (test gate)`);
    return this.inner.write(batch);
  }

  lastSeq(): Promise<number | undefined> {
    return this.inner.lastSeq();
  }

  read(q: AuditQuery): AsyncIterable<AuditRecord> {
    if (!this.inner.read) throw new Error('inner sink cannot read');
    return this.inner.read(q);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `audit-${label}-`));
}

export function testKeys(): { signer: Signer; publicKey: KeyObject; publicKeys: Map<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = createSigner(privateKey);
  return { signer, publicKey, publicKeys: new Map([[signer.keyId, publicKey]]) };
}

export const builder = new RecordBuilder({ digester: new Digester(Buffer.alloc(32, 1)), includeContent: 'none' });

export function context(i: number): ExchangeContext {
  return {
    exchangeId: `ex-${i}`,
    principal: { subject: `user-${i % 4}`, method: 'jwt', issuer: 'https://idp.example', clientId: 'app' },
    route: 'mcp',
    upstream: { name: 'files', url: 'http://127.0.0.1:9000/mcp' },
    era: i % 2 ? 'legacy' : 'modern',
    protocolVersion: i % 2 ? '2025-06-18' : '2026-07-28',
    method: 'tools/call',
    rpcId: i,
    target: { type: 'tool', name: `tool-${i % 5}` },
  };
}

/** The i-th sample exchange decision (every 7th blocked). */
export function sampleEvent(i: number, time = 1_750_000_000_000 + i): AuditEvent {
  return builder.exchange({ ...context(i), time, endTime: time + 3, verdict: i % 7 === 0 ? 'block' : 'allow', arguments: { i } });
}

export async function readAll(sink: { read?(q: AuditQuery): AsyncIterable<AuditRecord> }, q: AuditQuery = {}): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of sink.read!(q)) out.push(r);
  return out;
}

/** Poll `cond` (event-driven code under test has no completion signal to await). */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A trail (database, state, keys) made once under `dir`, copied afresh for each tamper, and the
 * audit CLI run in process on a copy: its defaults point at the copy, its clock at `now`.
 */
export class TrailCopies {
  readonly #trail: string;
  readonly #dir: string;
  readonly #now: number;
  #copies = 0;

  constructor(trail: string, dir: string, now: number) {
    this.#trail = trail;
    this.#dir = dir;
    this.#now = now;
  }

  copy(): string {
    const d = join(this.#dir, `copy-${++this.#copies}`);
    cpSync(this.#trail, d, { recursive: true });
    return d;
  }

  async cli(at: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    // Loaded when first used: most audit tests never run the CLI (it brings every sink in).
    const { runAuditCli } = await import('./cli.ts');
    let out = '';
    let err = '';
    const code = await runAuditCli(argv, {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      defaults: { db: join(at, 'audit.db'), stateDir: join(at, 'spool'), keyDir: join(at, 'keys') },
      now: () => this.#now,
    });
    return { code, out, err };
  }
}

/**
 * From an `AuditConfig` to a running audit log: keys, sinks, lanes. The one call the gateway
 * makes at startup (`openAudit`), and the sink factory the CLI reuses.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { AuditConfig, AuditSinkConfig } from './config.ts';
import { sinkNameOf } from './config.ts';
import { Digester } from './digest.ts';
import { FileSink } from './file-sink.ts';
import { loadAuditKeys, type AuditKeys } from './keys.ts';
import { AuditLog, laneDirName, type AuditHooks } from './pipeline.ts';
import { PostgresSink } from './postgres-sink.ts';
import { RecordBuilder } from './record.ts';
import type { AuditSink } from './sink.ts';
import { SplunkHecSink } from './splunk-hec-sink.ts';
import { SqliteSink } from './sqlite-sink.ts';
import { SyslogSink } from './syslog-sink.ts';
import { WebhookSink } from './webhook-sink.ts';

export interface OpenAuditOptions {
  /** Relative paths in the config resolve against this (default: the working directory). */
  baseDir?: string;
  hooks?: AuditHooks;
  productVersion?: string;
}

export interface Audit {
  log: AuditLog;
  /** Builds records from gateway facts, with the configured digest key and content policy. */
  records: RecordBuilder;
  keys: AuditKeys;
  close(opts?: { drainMs?: number }): Promise<void>;
}

/** Undefined when audit is disabled. */
export async function openAudit(config: AuditConfig, opts: OpenAuditOptions = {}): Promise<Audit | undefined> {
  if (!config.enabled) return undefined;
  const base = opts.baseDir ?? process.cwd();
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const keys = await loadAuditKeys({ signingKey: config.checkpoint.signingKey, digestKey: config.digestKey, keyDir: at(config.keyDir) });
  const spoolDir = at(config.spoolDir);
  const sinks: AuditSink[] = [];
  try {
    for (const [i, s] of config.sinks.entries()) {
      const name = sinkNameOf(s, i, config.sinks);
      // A torn tail the file sink cuts on open is reported: it may not be a crash's doing.
      const onRepair = (message: string) => opts.hooks?.onSinkError?.(name, new Error(message));
      sinks.push(await openSink(s, name, { baseDir: base, statePath: join(spoolDir, laneDirName(name), 'sink-state.json'), onRepair }));
    }
    const log = await AuditLog.open({
      sinks,
      stateDir: spoolDir,
      signer: keys.signer,
      posture: config.posture,
      spoolMaxBytes: config.spoolMaxBytes,
      checkpoint: { everyRecords: config.checkpoint.everyRecords, everyMs: config.checkpoint.everyMs },
      batchMs: config.batchMs,
      retention: config.retention,
      ...(opts.hooks && { hooks: opts.hooks }),
    });
    const records = new RecordBuilder({
      digester: new Digester(keys.digestKey),
      includeContent: config.includeContent,
      ...(opts.productVersion !== undefined && { productVersion: opts.productVersion }),
    });
    return { log, records, keys, close: (o) => log.close(o) };
  } catch (err) {
    await Promise.allSettled(sinks.map((s) => s.close()));
    throw err;
  }
}

export async function openSink(
  s: AuditSinkConfig,
  name: string,
  o: { baseDir: string; statePath?: string; readOnly?: boolean; onRepair?: (message: string) => void },
): Promise<AuditSink> {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(o.baseDir, p));
  const state = o.statePath !== undefined ? { statePath: o.statePath } : {};
  switch (s.type) {
    case 'sqlite':
      return new SqliteSink({ path: at(s.path), name, ...(o.readOnly && { readOnly: true }) });
    case 'file':
      return FileSink.open({
        path: at(s.path),
        name,
        rotateBytes: s.rotateBytes,
        rotateAgeMs: s.rotateAgeMs,
        fsync: s.fsync,
        ...(o.readOnly && { readOnly: true }),
        ...(o.onRepair && { onRepair: o.onRepair }),
      });
    case 'postgres':
      return PostgresSink.open({ url: s.url, table: s.table, name, ...(o.readOnly ? { readOnly: true } : { lazy: true }) });
    case 'syslog': {
      const tls = s.tls ? (s.caFile !== undefined ? { ca: await readFile(at(s.caFile)) } : true) : false;
      return SyslogSink.open({ host: s.host, port: s.port, tls, appName: s.appName, name, ...state });
    }
    case 'splunk-hec':
      return SplunkHecSink.open({ url: s.url, token: s.token, sourcetype: s.sourcetype, timeoutMs: s.timeoutMs, name, ...(s.index !== undefined && { index: s.index }), ...state });
    case 'webhook':
      return WebhookSink.open({ url: s.url, secret: s.secret, timeoutMs: s.timeoutMs, name, ...state });
  }
}

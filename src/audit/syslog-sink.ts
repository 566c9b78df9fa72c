/**
 * Syslog sink: RFC 5424 messages over TCP with octet-counting framing (RFC 6587 §3.4.1),
 * optionally over TLS (RFC 5425, which mandates the same framing, §4.3).
 *
 * Message layout (RFC 5424 §6):
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [portcullis@32473 seq="…" class="…" uid="…"] BOM{OCSF JSON}
 * - PRI = facility × 8 + severity (§6.2.1); facility 13 is "log audit". Severity follows the
 *   OCSF severity_id.
 * - MSGID `ocsf-<class_uid>` lets a receiver route by class without parsing the JSON.
 * - The structured-data element repeats seq and record id so a receiver can deduplicate. Its
 *   SD-ID uses private enterprise number 32473, the one RFC 5612 reserves for documentation;
 *   set `sdId` to your own `name@PEN` in production.
 * - MSG is UTF-8 JSON, so it starts with the BOM that §6.4 requires for UTF-8 MSG.
 *
 * Syslog has no application-level acknowledgement: a batch counts as delivered once the kernel
 * accepted it, and a batch that failed part-way is sent again whole on a new connection, so a
 * receiver may see a record twice: deduplicate on the `seq` SD-PARAM. Receivers must accept large messages (RFC 5425 §4.3.1 only requires 2048 octets;
 * raise e.g. rsyslog's maxMessageSize) or records with large content will be truncated there.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { hostname as osHostname } from 'node:os';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';
import { DeliveredMark } from './delivered-mark.ts';
import { SeqState } from './state-file.ts';
import { recordText } from './record-text.ts';

export interface SyslogSinkOptions {
  host: string;
  port: number;
  /** TLS (RFC 5425): true for defaults, or node:tls options (ca, servername, …). */
  tls?: boolean | ConnectionOptions;
  appName?: string;
  hostname?: string;
  /** RFC 5424 facility code; default 13 (log audit). */
  facility?: number;
  sdId?: string;
  /** Where the last delivered seq is remembered (idempotency across restarts). */
  statePath?: string;
  name?: string;
  connectTimeoutMs?: number;
}

/** OCSF severity_id → RFC 5424 severity (§6.2.1 table 2). */
const SEVERITY: Record<number, number> = { 0: 6, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1 };

/** PRINTUSASCII (%d33-126), at most `max` characters, or the NILVALUE "-" (RFC 5424 §6). */
function printable(s: string, max: number): string {
  const clean = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): '"', '\' and ']' get a backslash. */
function paramValue(s: string): string {
  return s.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export interface SyslogFormat {
  appName: string;
  hostname: string;
  facility: number;
  sdId: string;
}

export function formatSyslog(r: AuditRecord, f: SyslogFormat): Buffer {
  const pri = f.facility * 8 + (SEVERITY[r.severity_id] ?? 6);
  const ts = new Date(Number.isFinite(r.time) ? r.time : Date.now()).toISOString();
  const sd = `[${f.sdId} seq="${r.seq}" class="${r.class_uid}" uid="${paramValue(String(r.metadata?.uid ?? ''))}"]`;
  const header = `<${pri}>1 ${ts} ${f.hostname} ${f.appName} ${process.pid} ocsf-${r.class_uid} ${sd} `;
  const msg = Buffer.concat([Buffer.from(header, 'utf8'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(recordText(r), 'utf8')]);
  // Octet-counting: MSG-LEN SP SYSLOG-MSG (RFC 6587 §3.4.1), MSG-LEN in octets.
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}

export class SyslogSink implements AuditSink {
  readonly name: string;
  readonly #opts: SyslogSinkOptions;
  readonly #format: SyslogFormat;
  readonly #mark: DeliveredMark;
  #socket: Socket | undefined;

  private constructor(opts: SyslogSinkOptions, state: SeqState) {
    this.name = opts.name ?? 'syslog';
    this.#opts = opts;
    this.#mark = new DeliveredMark(this.name, state);
    const sdName = printable(opts.sdId ?? 'portcullis@32473', 32).replace(/[=\]"]/g, '');
    this.#format = {
      appName: printable(opts.appName ?? 'portcullis', 48),
      hostname: printable(opts.hostname ?? osHostname(), 255),
      facility: opts.facility ?? 13,
      sdId: sdName,
    };
  }

  static async open(opts: SyslogSinkOptions): Promise<SyslogSink> {
    return new SyslogSink(opts, await SeqState.open(opts.statePath));
  }

  write(batch: readonly AuditRecord[]): Promise<void> {
    return this.#mark.write(batch, async (fresh) => {
      const socket = await this.#connect();
      const frames = Buffer.concat(fresh.map((r) => formatSyslog(r, this.#format)));
      await new Promise<void>((resolve, reject) => {
        socket.write(frames, (err) => (err ? reject(err) : resolve()));
      }).catch((err: unknown) => {
        this.#drop();
        throw err;
      });
    });
  }

  lastSeq(): Promise<number | undefined> {
    return this.#mark.lastSeq();
  }

  close(): Promise<void> {
    return this.#mark.close(async () => {
      const s = this.#socket;
      this.#socket = undefined;
      if (s && !s.destroyed) await new Promise<void>((resolve) => s.end(resolve));
    });
  }

  async #connect(): Promise<Socket> {
    const existing = this.#socket;
    if (existing && !existing.destroyed && existing.writable) return existing;
    const { host, port } = this.#opts;
    const tls = this.#opts.tls;
    const socket: Socket =
      tls === undefined || tls === false
        ? netConnect({ host, port })
        : tlsConnect({ host, port, ...(isIP(host) === 0 && { servername: host }), ...(typeof tls === 'object' ? tls : {}) });
    const ready = tls ? 'secureConnect' : 'connect';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`syslog ${host}:${port}: connect timed out`));
      }, this.#opts.connectTimeoutMs ?? 10_000);
      socket.once(ready, () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    // After connecting, errors surface through the write callback; a listener stops them
    // becoming uncaught, and a closed socket is replaced on the next write.
    socket.on('error', () => this.#drop());
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
    });
    // Receivers do not send on a syslog connection; reading keeps a half-close from hanging.
    socket.resume();
    this.#socket = socket;
    return socket;
  }

  #drop(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }
}

/**
 * Audit trail settings. Same conventions as the main schema (config/schema.ts): every object is
 * `.strict()`, nested objects `.prefault({})` so inner defaults apply, and defaults are the safe
 * choice: audit on, an embedded SQLite store, fail-closed when audit cannot keep up.
 *
 * Credentials (Splunk token, webhook secret, a PostgreSQL URL with a password, the signing and
 * digest keys) belong in `${ENV_VAR}` references, never in the file itself.
 */
import { z } from 'zod';
import { httpUrl, nonNegativeInt, positiveInt } from '../config/primitives.ts';

const path = z.string().min(1).regex(/^[^\0]*$/, 'must not contain NUL');
const sinkName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must match [a-z0-9][a-z0-9._-]*')
  .describe('Stable name: keys the sink\'s spool and delivery cursor. Renaming a sink starts it afresh.');

export const SqliteSinkSchema = z
  .object({
    type: z.literal('sqlite'),
    name: sinkName.optional(),
    path: path.default('.portcullis/audit.db').describe('Database file (WAL mode). The store `audit query|export|verify|report` read by default.'),
  })
  .strict()
  .describe('Embedded SQLite store (node:sqlite).');

export const FileSinkSchema = z
  .object({
    type: z.literal('file'),
    name: sinkName.optional(),
    path: path.default('.portcullis/audit/audit.jsonl').describe('Series base name: files are <stem>.<first seq>.jsonl beside it.'),
    rotateBytes: positiveInt.default(64 * 1024 * 1024).describe('Start a new file past this size.'),
    rotateAgeMs: positiveInt.default(24 * 3_600_000).describe('Start a new file when the current one is this old.'),
    fsync: z.enum(['batch', 'none']).default('batch').describe("'batch': fsync each delivered batch before acknowledging it. 'none': leave it to the OS."),
  })
  .strict()
  .describe('JSON-lines files with rotation.');

export const PostgresSinkSchema = z
  .object({
    type: z.literal('postgres'),
    name: sinkName.optional(),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .describe('Connection URL. Put the password in ${ENV_VAR}.'),
    table: z
      .string()
      .regex(/^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be table or schema.table (letters, digits, _)')
      .default('portcullis_audit')
      .describe('Table (created if missing).'),
  })
  .strict()
  .describe('PostgreSQL table.');

export const SyslogSinkSchema = z
  .object({
    type: z.literal('syslog'),
    name: sinkName.optional(),
    host: z.string().min(1).regex(/^\S+$/, 'must not contain whitespace'),
    port: z.number().int().min(1).max(65535).default(6514).describe('6514 is the syslog-over-TLS port (RFC 5425 §4.1).'),
    tls: z.boolean().default(true).describe('TLS (RFC 5425). Turn off only on a trusted network.'),
    caFile: path.optional().describe('PEM bundle of the CAs trusted for the receiver (default: the system store).'),
    appName: z
      .string()
      .regex(/^[\x21-\x7e]{1,48}$/, 'RFC 5424 APP-NAME: 1-48 printable ASCII characters')
      .default('portcullis'),
  })
  .strict()
  .describe('RFC 5424 syslog over TCP with octet-counting framing (RFC 6587).');

/**
 * How long one delivery may take (connect, headers, body) before it counts as failed and the
 * batch is retried from the spool. A receiver that accepts connections and never answers would
 * otherwise hold the lane for the default.
 */
const httpTimeout = z.number().int().min(100).max(600_000).default(15_000).describe('Per-request timeout (ms) of a delivery; on expiry the batch stays spooled and is retried.');

export const SplunkHecSinkSchema = z
  .object({
    type: z.literal('splunk-hec'),
    name: sinkName.optional(),
    url: httpUrl.describe('HEC base URL, e.g. https://splunk.example:8088.'),
    token: z.string().min(1).describe('HEC token. Use ${ENV_VAR}.'),
    index: z.string().min(1).optional(),
    sourcetype: z.string().min(1).default('ocsf'),
    timeoutMs: httpTimeout,
  })
  .strict()
  .describe('Splunk HTTP Event Collector.');

export const WebhookSinkSchema = z
  .object({
    type: z.literal('webhook'),
    name: sinkName.optional(),
    url: httpUrl,
    secret: z.string().min(16, 'use at least 16 characters').describe('HMAC-SHA256 key for the x-portcullis-signature header. Use ${ENV_VAR}.'),
    timeoutMs: httpTimeout,
  })
  .strict()
  .describe('HTTPS POST of signed batches.');

export const AuditSinkSchema = z.discriminatedUnion('type', [SqliteSinkSchema, FileSinkSchema, PostgresSinkSchema, SyslogSinkSchema, SplunkHecSinkSchema, WebhookSinkSchema]);

export const AuditSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Record every decision. Turning it off leaves no audit trail.'),
    sinks: z
      .array(AuditSinkSchema)
      .min(1, 'at least one sink is required')
      .prefault([{ type: 'sqlite' }])
      .superRefine((sinks, ctx) => {
        if (!Array.isArray(sinks)) return;
        const seen = new Map<string, number>();
        sinks.forEach((s, i) => {
          if (s === null || typeof s !== 'object' || typeof s.type !== 'string') return;
          const name = sinkNameOf(s, i, sinks);
          const prev = seen.get(name);
          if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate sink name "${name}" (also at [${prev}]): set a distinct name` });
          seen.set(name, i);
        });
      }, { when: () => true })
      .describe('Where records go; all at once, each with its own spool and cursor.'),
    spoolDir: path.default('.portcullis/audit-spool').describe('Spool segments, delivery cursors and the chain head. Must survive restarts.'),
    spoolMaxBytes: positiveInt.default(1024 * 1024 * 1024).describe('Per sink: spool size at which the posture applies.'),
    posture: z
      .enum(['fail-closed', 'shed'])
      .default('fail-closed')
      .describe("When a spool is full: 'fail-closed' refuses new calls until audit catches up; 'shed' drops records for that sink behind a signed, counted gap record."),
    batchMs: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(100)
      .describe(
        'Records are chained and handed to the sinks in rounds this far apart (0: as soon as possible). Larger rounds cost less per record (fewer fsyncs, commits and thread messages); records not yet in a round are lost if the process crashes.',
      ),
    streamSegmentMs: positiveInt
      .default(5000)
      .describe("A stream's events are recorded in segment records of up to 100 events, and at most this long after a segment's first event, so a slow stream shows in the trail while it runs."),
    checkpoint: z
      .object({
        everyRecords: positiveInt.default(1000).describe('Sign a checkpoint after this many records…'),
        everyMs: nonNegativeInt.default(60_000).describe('…or this often (0: by count only).'),
        signingKey: z
          .string()
          .min(1)
          .optional()
          .describe('Ed25519 private key: PKCS#8 PEM or the 32-byte seed in base64. Use ${ENV_VAR}. Default: generated once and kept in keyDir.'),
      })
      .strict()
      .prefault({}),
    digestKey: z
      .string()
      .regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'must be base64')
      .refine((k) => Buffer.from(k, 'base64').length >= 16, { error: 'must decode to at least 16 bytes' })
      .optional()
      .describe('HMAC key for argument/result digests, base64. Use ${ENV_VAR}. Default: generated once and kept in keyDir.'),
    keyDir: path.default('.portcullis/audit-keys').describe('Where generated keys and every public signing key are kept (private files mode 0600).'),
    retention: z
      .object({
        maxAgeDays: positiveInt.optional().describe('Drop records older than this (a signed retention anchor keeps the rest verifiable).'),
        maxRecords: positiveInt.optional().describe('Keep at most this many records, the signed retention anchor included.'),
        everyMs: positiveInt.default(3_600_000).describe('How often retention runs.'),
      })
      .strict()
      .prefault({}),
    includeContent: z
      .enum(['none', 'redacted'])
      .default('none')
      .describe("'none': digests only. 'redacted': also the arguments and results after redaction."),
  })
  .strict()
  .describe('Tamper-evident audit trail of every decision.');

export type AuditConfig = z.infer<typeof AuditSchema>;
export type AuditSinkConfig = AuditConfig['sinks'][number];

/** The sink's name: configured, else its type, else type-index when the type repeats. */
export function sinkNameOf(s: { type: string; name?: string | undefined }, index: number, all: ReadonlyArray<{ type: string; name?: string | undefined }>): string {
  if (s.name !== undefined) return s.name;
  const sameType = all.filter((o) => o?.type === s.type && o.name === undefined).length;
  return sameType > 1 ? `${s.type}-${index}` : s.type;
}

/**
 * Structured logging (pino) with secret redaction.
 *
 * The gateway sits in front of credentials (Authorization headers, API keys, session cookies), so
 * redaction is on for every logger this module creates, not a per-call-site discipline. Redaction
 * replaces a value by a path: it protects fields named like secrets, not secrets pasted into
 * free-text messages, so never interpolate request data into a message string.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export const REDACTED = '[redacted]';

/**
 * Paths whose values are replaced by "[redacted]". `*.x` covers `x` one level under any top-level
 * key (`headers.cookie`, `config.token`); deeper well-known places are listed explicitly, since a
 * path wildcard matches exactly one segment.
 */
export const REDACT_PATHS: readonly string[] = [
  // Top-level fields: log.info({ token }, '…').
  'authorization',
  'cookie',
  'token',
  'apiKey',
  'password',
  'secret',
  // One level down under any key: headers.authorization, upstream.apiKey, …
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.secret',
  'headers["x-api-key"]',
  'headers["proxy-authorization"]',
  'headers["set-cookie"]',
  // Request/response objects as pino-http style serializers shape them.
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  // Anything that nests headers one level deeper (e.g. { upstream: { headers } }).
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
  '*.headers["proxy-authorization"]',
  '*.headers["set-cookie"]',
];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export interface LoggerOptions {
  level: LogLevel;
  /** Where NDJSON lines go; default stdout. Anything with `write(line: string)`. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  // pino's own error for a bad level ("unknown level …") does not say where it came from.
  if (!LEVELS.has(opts.level)) {
    throw new TypeError(`log level must be one of ${[...LEVELS].join(', ')}; got ${JSON.stringify(opts.level)}`);
  }
  const options = {
    level: opts.level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing, for tests and embedding. */
export const silentLogger: Logger = pino({ level: 'silent' });

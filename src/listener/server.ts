/**
 * The data-plane HTTP(S) server: Node's own HTTP/1.1 parser with the gateway's bounds, the
 * requests in flight tracked for the shutdown drain, and malformed requests answered with a
 * JSON-RPC error from the table instead of Node's bare 400.
 */
import { readFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.ts';
import { ERRORS, GatewayError } from '../core/errors.ts';
import { errorMessage } from '../transport/respond.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export class DataServer {
  readonly server: Server;
  /** Responses not yet closed (one Set entry and one listener per request). */
  readonly inflight = new Set<ServerResponse>();
  /** Called whenever the last response in flight closes (the shutdown drain waits on it). */
  onIdle: (() => void) | undefined;

  constructor(config: Pick<Config, 'limits' | 'server'>, handler: Handler) {
    const serve = (req: IncomingMessage, res: ServerResponse): void => {
      this.inflight.add(res);
      res.once('close', () => {
        this.inflight.delete(res);
        if (this.inflight.size === 0) this.onIdle?.();
      });
      void handler(req, res);
    };
    // requestTimeout bounds *receiving* the request (headers + body), not the response: long SSE
    // responses are unaffected, a client that stalls mid-body is answered 408 and dropped.
    const httpOptions = { maxHeaderSize: config.limits.maxHeaderBytes, requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 65_000 };
    const tls = config.server.tls;
    this.server = tls
      ? createHttpsServer(
          {
            ...httpOptions,
            cert: readFileSync(tls.certFile),
            key: readFileSync(tls.keyFile),
            ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
            // The certificate is checked against the CA either way; with 'optional' an unverified
            // one reaches the handler marked unauthorized and authenticates no one (identity/mtls).
            requestCert: tls.clientCertificates !== 'off',
            rejectUnauthorized: tls.clientCertificates === 'required',
            minVersion: 'TLSv1.2',
          },
          serve,
        )
      : createServer(httpOptions, serve);
    this.server.on('clientError', answerClientError);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }
}

/** A request Node's parser refused (malformed, headers too large, too slow): a JSON-RPC error. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Node's own default handler makes the same check: a pipelined request can be malformed while
  // the response before it (an SSE stream) is on the wire; a status line written now would land
  // inside that body.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      return;
    }
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'invalid_request';
    const status = ERRORS[code].status;
    const body = JSON.stringify(errorMessage(null, new GatewayError(code)));
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

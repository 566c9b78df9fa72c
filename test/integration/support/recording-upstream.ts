/**
 * An upstream that records what reaches it: a transparent HTTP hop in front of a real MCP server
 * (the demo) that keeps every request's headers and body. Tests use it to prove what the gateway
 * sends upstream (its own credential, never the client's token) and what it never sends (a
 * refused request does not reach the upstream at all).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

export interface RecordedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RecordingUpstream {
  url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface RecordingOptions {
  /** Drop the connection instead of relaying (after recording the request): a flaky hop. */
  drop?: (req: RecordedRequest) => boolean;
}

export async function startRecordingUpstream(target: string, opts: RecordingOptions = {}): Promise<RecordingUpstream> {
  const t = new URL(target);
  const pool = new Pool(t.origin);
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const recorded = { method: req.method ?? '', headers: req.headers, body: body.toString('utf8') };
    requests.push(recorded);
    if (opts.drop?.(recorded)) {
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
    }
    try {
      const up = await pool.request({ path: t.pathname, method: (req.method ?? 'GET') as 'GET', headers, body: body.length > 0 ? body : null });
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(up.headers)) if (typeof v === 'string' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
      res.writeHead(up.statusCode, out);
      res.flushHeaders();
      up.body.on('error', () => res.destroy());
      up.body.pipe(res);
      res.on('close', () => up.body.destroy());
    } catch {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.destroy();
    },
  };
}

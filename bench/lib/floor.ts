/**
 * The Node.js floor: the least a reverse proxy written on Node's HTTP server and undici can do
 * per request — read the body, send it upstream on a keep-alive pool, write the answer back — with
 * no parsing, no checks, no streaming care. It is not a gateway (it would be unsafe as one); it
 * is the ceiling any Node.js implementation of one can reach on this machine, measured in the
 * same run as nginx, so the gateway's ratio to nginx can be read against what the runtime allows.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Pool } from 'undici';

/** The request's headers minus hop-by-hop ones (RFC 9110 §7.6.1) and the ones undici sets. */
function forwardable(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k === 'host' || k === 'connection' || k === 'keep-alive' || k === 'content-length' || k === 'transfer-encoding') continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export async function startNodeFloor(upstreamUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const target = new URL(upstreamUrl);
  const pool = new Pool(target.origin, { connections: 64, pipelining: 1 });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      pool
        .request({
          method: 'POST',
          path: target.pathname,
          headers: forwardable(req.headers),
          body: Buffer.concat(chunks),
        })
        .then(async (up) => {
          const body = Buffer.from(await up.body.arrayBuffer());
          res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json'), 'content-length': body.length });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502).end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}

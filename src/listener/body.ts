/**
 * Reads a request body with a hard byte limit. The limit is enforced while reading (and from
 * Content-Length up front), so an oversized body never sits in memory.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../core/errors.ts';

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new GatewayError('body_too_large', `limit is ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) {
        // Stop reading: the rest of an oversized body is discarded, not buffered.
        req.resume();
        reject(err);
      } else {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(new GatewayError('body_too_large', `limit is ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    // The client went away mid-body (Node reports it as an `aborted` ECONNRESET error, or only
    // closes): its own doing, with a stable code, not an internal error of the gateway.
    const cut = () => new GatewayError('client_closed', 'the request body ended early');
    const onError = (err: Error) => finish(req.complete ? err : cut());
    const onClose = () => finish(cut());
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

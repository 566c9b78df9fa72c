/**
 * Content negotiation of a client POST: its Content-Type, read by the RFC 9110 grammar (not a
 * prefix regex: what the gateway decodes must be what the upstream decodes), and its Accept.
 */
import { GatewayError } from '../core/errors.ts';
import { requestHeader, type Exchange } from './context.ts';

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`(${TOKEN})/(${TOKEN})`, 'y');
/** RFC 9110 §5.6.6: `OWS ";" OWS [ token "=" ( token / quoted-string ) ]`. */
const PARAMETER = new RegExp(`[ \\t]*;[ \\t]*(?:(${TOKEN})=(?:(${TOKEN})|"((?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*)"))?`, 'y');

/**
 * Content-Type of a POST (RFC 9110 §8.3): `application/json`, whose only charset is UTF-8
 * (RFC 8259 §8.1: JSON exchanged between systems "MUST be encoded using UTF-8"; §11: the media
 * type defines no charset parameter). The gateway reads the body as UTF-8 whatever the header
 * says, and the upstream gets `application/json` (upstream/client.ts), never the client's header:
 * a receiver that honours `charset=utf-7` (body-parser via iconv-lite, as the MCP SDK's
 * createMcpExpressApp uses) would decode a message other than the one inspected. So a charset
 * other than utf-8 (any case, quoted or not), a repeated or extended (`charset*`) one, a second
 * Content-Type header or a header that does not parse is refused rather than guessed at.
 */
export function checkContentType(ex: Exchange): void {
  const ct = requestHeader(ex, 'content-type') ?? '';
  // Node keeps the first of repeated Content-Type headers; an intermediary may keep the last.
  const raw = ex.req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 12 && raw[i]!.toLowerCase() === 'content-type') seen++;
  }
  if (seen > 1) throw new GatewayError('unsupported_media_type', 'more than one Content-Type header');
  if (ct === 'application/json') return;
  MEDIA_TYPE.lastIndex = 0;
  const mt = MEDIA_TYPE.exec(ct);
  if (!mt || mt[1]!.toLowerCase() !== 'application' || mt[2]!.toLowerCase() !== 'json') throw new GatewayError('unsupported_media_type');
  let at = MEDIA_TYPE.lastIndex;
  let charset: string | undefined;
  while (at < ct.length) {
    PARAMETER.lastIndex = at;
    const p = PARAMETER.exec(ct);
    if (!p || PARAMETER.lastIndex === at) {
      if (/^[ \t]*$/.test(ct.slice(at))) break;
      throw new GatewayError('unsupported_media_type', 'malformed Content-Type parameters');
    }
    at = PARAMETER.lastIndex;
    const name = p[1]?.toLowerCase();
    if (name === undefined || !name.startsWith('charset')) continue;
    if (charset !== undefined || name !== 'charset') throw new GatewayError('unsupported_charset', 'one charset parameter at most, and only utf-8');
    charset = p[2] ?? p[3]!.replace(/\\(.)/g, '$1');
  }
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new GatewayError('unsupported_charset');
}

/** Streamable HTTP content negotiation for a POST: Content-Type, then Accept. */
export function checkContentNegotiation(ex: Exchange): void {
  checkContentType(ex);
  // Streamable HTTP: the client MUST list both application/json and text/event-stream.
  const accept = (requestHeader(ex, 'accept') ?? '').toLowerCase();
  const any = accept.includes('*/*');
  if (!any && !(accept.includes('application/json') && accept.includes('text/event-stream'))) {
    throw new GatewayError('not_acceptable');
  }
}

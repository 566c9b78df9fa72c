/**
 * Static API keys, configured only as SHA-256 digests.
 *
 * The presented key is hashed and compared with every configured digest using
 * `crypto.timingSafeEqual`, without stopping at the first match, so response time reveals
 * neither how much of a digest matched nor which entry did. (Comparing digests rather than keys
 * also equalises lengths, which `timingSafeEqual` requires.)
 */
import { GatewayError } from '../core/errors.ts';
import type { Principal } from '../pipeline/types.ts';
import type { ApiKeysConfig } from './config.ts';
import { credentialIdOf, digestsEqual } from './digest.ts';

type KeyEntry = ApiKeysConfig['keys'][number];

export class ApiKeyStore {
  /** Lowercase request header carrying the key. */
  readonly header: string;
  private readonly keys: readonly KeyEntry[];
  private readonly secret: Uint8Array | undefined;

  constructor(cfg: ApiKeysConfig, credentialIdSecret: Uint8Array | undefined) {
    this.header = cfg.header.toLowerCase();
    this.keys = cfg.keys;
    this.secret = credentialIdSecret;
  }

  /** The entry whose digest equals `digest` (the presented key's SHA-256 hex), checking all. */
  private find(digest: string): KeyEntry | undefined {
    let found: KeyEntry | undefined;
    for (const k of this.keys) {
      if (digestsEqual(digest, k.sha256) && found === undefined) found = k;
    }
    return found;
  }

  /** The Principal for the key with SHA-256 `digest`; invalid_token when no key matches. */
  authenticate(digest: string): Principal {
    const k = this.find(digest);
    if (!k) throw new GatewayError('invalid_token', 'unknown API key');
    return Object.freeze({
      subject: k.subject,
      method: 'api-key',
      scopes: Object.freeze([...k.scopes]),
      claims: Object.freeze({ sub: k.subject, key_id: k.id }),
      credentialId: credentialIdOf(k.sha256, this.secret),
    });
  }

  /**
   * Whether a key with this credential id is still configured (continuous validation after a
   * config reload). The id is recomputed from each configured digest, never stored.
   */
  has(credentialId: string): boolean {
    let hit = false;
    for (const k of this.keys) if (credentialIdOf(k.sha256, this.secret) === credentialId) hit = true;
    return hit;
  }
}

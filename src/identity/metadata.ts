/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for a route: the document MCP clients fetch to
 * learn which authorization server issues tokens for it (MCP authorization, "Authorization
 * Server Discovery").
 */
import type { AuthConfig } from './config.ts';
import { authorizationServersOf, scopesSupportedOf } from './config.ts';

export const WELL_KNOWN_SUFFIX = '/.well-known/oauth-protected-resource';

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name?: string;
  /** RFC 8705 §3.3 / RFC 9728 §2: the resource accepts certificate-bound tokens. */
  tls_client_certificate_bound_access_tokens?: boolean;
}

/**
 * RFC 9728 §3.1: the well-known suffix goes between the host and the path (and query) of the
 * resource identifier; a terminating "/" right after the host is removed first.
 *   https://gw.example.com/mcp   → https://gw.example.com/.well-known/oauth-protected-resource/mcp
 *   https://gw.example.com/      → https://gw.example.com/.well-known/oauth-protected-resource
 */
export function wellKnownMetadataUrl(resource: string): string {
  const u = new URL(resource);
  if (u.hash !== '') throw new TypeError('a resource identifier has no fragment (RFC 9728 §1.2)');
  const path = u.pathname === '/' ? '' : u.pathname;
  return `${u.origin}${WELL_KNOWN_SUFFIX}${path}${u.search}`;
}

/** The request path (no query) the gateway must serve the metadata at, for routing. */
export function wellKnownMetadataPath(resource: string): string {
  return new URL(wellKnownMetadataUrl(resource)).pathname;
}

export interface MetadataInput {
  resource: string;
  authorizationServers: readonly string[];
  scopesSupported: readonly string[];
  resourceName?: string;
  certificateBoundTokens?: boolean;
}

/** The metadata document (RFC 9728 §2); empty optional lists are left out rather than sent empty. */
export function protectedResourceMetadata(input: MetadataInput): ProtectedResourceMetadata {
  const doc: ProtectedResourceMetadata = {
    // §3.3: `resource` MUST be identical to the identifier the well-known URL was built from.
    resource: input.resource,
    // Header only: RFC 6750 §2.2 (form) and §2.3 (query) are not accepted.
    bearer_methods_supported: ['header'],
  };
  if (input.authorizationServers.length > 0) doc.authorization_servers = [...input.authorizationServers];
  if (input.scopesSupported.length > 0) doc.scopes_supported = [...input.scopesSupported];
  if (input.resourceName !== undefined) doc.resource_name = input.resourceName;
  if (input.certificateBoundTokens === true) doc.tls_client_certificate_bound_access_tokens = true;
  return doc;
}

/** The metadata for a route whose auth config is `cfg` and resource identifier is `resource`. */
export function metadataForRoute(cfg: AuthConfig, resource: string): ProtectedResourceMetadata {
  return protectedResourceMetadata({
    resource,
    authorizationServers: authorizationServersOf(cfg),
    scopesSupported: scopesSupportedOf(cfg),
    ...(cfg.resourceName !== undefined ? { resourceName: cfg.resourceName } : {}),
    certificateBoundTokens: cfg.mtls !== undefined,
  });
}

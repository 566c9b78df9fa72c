/**
 * What a route's upstream said about its tools: the definitions from the `tools/list` results
 * the gateway relays, by tool name.
 *
 * Policy reads a tool's annotations here when it decides a `tools/call` (the call itself carries
 * only the name and arguments; MCP 2025-06-18+ tool annotations live in the listing). Annotations
 * are hints from the server, not guarantees (the spec says clients MUST treat them as untrusted
 * unless the server is trusted), so rules should use them to ask for more scrutiny (approval for
 * `destructiveHint`), never to grant access.
 *
 * Pages (`nextCursor`) merge into the catalog; a name seen again replaces its old definition.
 */
export interface ToolDefinition {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema?: unknown;
  readonly outputSchema?: unknown;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/** Tool names come from the upstream: bound the table so a hostile server cannot grow it. */
const MAX_TOOLS = 10_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ToolCatalog {
  readonly #tools = new Map<string, ToolDefinition>();

  /** Learn from one tools/list result (a page). Malformed entries are skipped. */
  learn(result: unknown): void {
    const tools = isRecord(result) ? result['tools'] : undefined;
    if (!Array.isArray(tools)) return;
    for (const t of tools) {
      if (!isRecord(t) || typeof t['name'] !== 'string') continue;
      const name = t['name'];
      if (this.#tools.size >= MAX_TOOLS && !this.#tools.has(name)) continue;
      this.#tools.set(name, {
        name,
        ...(typeof t['title'] === 'string' ? { title: t['title'] } : {}),
        ...(typeof t['description'] === 'string' ? { description: t['description'] } : {}),
        ...(t['inputSchema'] !== undefined ? { inputSchema: t['inputSchema'] } : {}),
        ...(t['outputSchema'] !== undefined ? { outputSchema: t['outputSchema'] } : {}),
        ...(isRecord(t['annotations']) ? { annotations: t['annotations'] } : {}),
      });
    }
  }

  get(name: string): ToolDefinition | undefined {
    return this.#tools.get(name);
  }

  names(): string[] {
    return [...this.#tools.keys()];
  }

  get size(): number {
    return this.#tools.size;
  }
}

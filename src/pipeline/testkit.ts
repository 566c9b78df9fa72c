/**
 * What unit tests of inspectors and the pipeline share: a minimal inspector context (an
 * anonymous 2026-07-28 caller, no session, nothing recorded). Each test gets its own copy.
 */
import type { InspectorContext } from './types.ts';

export function testContext(over: Partial<InspectorContext> = {}): InspectorContext {
  return {
    session: { era: 'modern', protocolVersion: '2026-07-28', sessionId: undefined, principal: { subject: 'a', method: 'none' } },
    route: 'r',
    request: undefined,
    signal: new AbortController().signal,
    note() {},
    ...over,
  };
}

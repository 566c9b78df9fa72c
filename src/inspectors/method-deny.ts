/**
 * A trivial inspector: refuses client requests by method, optionally narrowed to a tool, prompt
 * or resource name with a glob (`tools/call:delete_*`). It exists so the pipeline is exercised
 * end to end; real access policy (CEL over principal, arguments, …) is a later inspector.
 */
import type { Frame, Inspector, Verdict } from '../pipeline/types.ts';

export interface MethodDenyOptions {
  name?: string;
  /** `method` or `method:targetGlob`; `*` in the glob matches any run of characters. */
  methods: readonly string[];
}

interface Rule {
  method: string;
  target: RegExp | undefined;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's');
}

function parseRule(spec: string): Rule {
  const colon = spec.indexOf(':');
  if (colon < 0) return { method: spec, target: undefined };
  return { method: spec.slice(0, colon), target: globToRegExp(spec.slice(colon + 1)) };
}

export function createMethodDenyInspector(opts: MethodDenyOptions): Inspector {
  const rules = opts.methods.map(parseRule);
  const methods = Object.fromEntries(rules.map((r) => [r.method, 'request' as const]));
  const allow: Verdict = { kind: 'allow' };
  return {
    name: opts.name ?? 'method-deny',
    methods,
    needs: 'message',
    onFailure: 'closed',
    onMessage(frame: Frame): Verdict {
      if (frame.direction !== 'c2s') return allow;
      for (const rule of rules) {
        if (rule.method !== frame.method) continue;
        if (rule.target && !(frame.target !== undefined && rule.target.test(frame.target))) continue;
        return {
          kind: 'block',
          reasons: ['policy/method-denied'],
          message: frame.target ? `${frame.method} ${frame.target} is not allowed` : `${frame.method} is not allowed`,
        };
      }
      return allow;
    },
  };
}

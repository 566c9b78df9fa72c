/**
 * The embedded default of `portcullis run --demo` (what `npm start` runs): the quick config in
 * front of the bundled demo upstream, with the security stages a newcomer should see working —
 * DLP on both directions (the demo's `leak_secret` comes back redacted), the tool-poisoning scan,
 * and a default policy: everything is allowed except that tools without a read-only annotation
 * (the MCP default counts them destructive) wait for a human's approval.
 */
import { InspectorSchema } from './inspectors.ts';
import type { Config } from './schema.ts';
import { PolicySchema } from '../policy/config.ts';

export function withDemoDefaults(config: Config): Config {
  const [route, ...rest] = config.routes;
  if (!route) return config;
  return {
    ...config,
    routes: [{ ...route, inspectors: [InspectorSchema.parse({ type: 'dlp' }), InspectorSchema.parse({ type: 'tool-poisoning' })] }, ...rest],
    policy: PolicySchema.parse({
      version: 'demo-default',
      default: 'allow',
      rules: [
        {
          name: 'writes-need-approval',
          description: 'Tools that do not declare readOnlyHint may change things: a person approves each call.',
          when: 'request.kind == "tool" && !tool.annotations.readOnlyHint',
          decision: 'require-approval',
          reason: 'not-read-only',
          message: 'This tool may change things.',
        },
      ],
    }),
  };
}

/**
 * The published JSON Schema for config files, generated from the zod schema so the two cannot
 * disagree. Editors pick it up with a modeline at the top of the YAML file:
 *
 *   # yaml-language-server: $schema=../schema/portcullis.config.schema.json
 *
 * It describes the *input* side (`io: 'input'`): fields with defaults are optional. Cross-field
 * rules (unique route names, compilable regexes, …) are not expressible in JSON Schema and are
 * enforced only at load time.
 */
import { z } from 'zod';
import { ConfigSchema } from './schema.ts';

export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return { $schema, title: 'Portcullis gateway configuration', ...rest };
}

/** The exact bytes of `schema/portcullis.config.schema.json`. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

/**
 * Writes `schema/portcullis.config.schema.json` from the zod schema (`npm run schema`).
 * `json-schema.test.ts` fails when the committed file is stale.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderConfigJsonSchema } from './json-schema.ts';

export const SCHEMA_FILE = join(import.meta.dirname, '..', '..', 'schema', 'portcullis.config.schema.json');

if (import.meta.main) {
  await mkdir(dirname(SCHEMA_FILE), { recursive: true });
  await writeFile(SCHEMA_FILE, renderConfigJsonSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}

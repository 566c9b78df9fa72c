import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { configJsonSchema, renderConfigJsonSchema } from './json-schema.ts';
import { SCHEMA_FILE } from './write-json-schema.ts';

describe('config JSON Schema', () => {
  it('schema/portcullis.config.schema.json is up to date with src/config/schema.ts (run `npm run schema`)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    assert.ok(committed, `${SCHEMA_FILE} is missing: run \`npm run schema\``);
    const expected = renderConfigJsonSchema();
    if (committed === expected) return;
    // Name the first differing line instead of dumping two 300-line strings.
    const have = committed.split('\n');
    const want = expected.split('\n');
    const i = want.findIndex((line, n) => have[n] !== line);
    const at = i < 0 ? want.length : i;
    assert.fail(`${SCHEMA_FILE} is stale at line ${at + 1} (have ${JSON.stringify(have[at])}, want ${JSON.stringify(want[at])}): run \`npm run schema\` and commit the result`);
  });

  it('describes the input side: strict objects, routes required, defaulted fields optional', () => {
    const s = configJsonSchema() as {
      additionalProperties: boolean;
      required: string[];
      properties: { server: { properties: { port: { default: number } }; required?: string[] } };
    };
    assert.equal(s.additionalProperties, false);
    assert.deepEqual(s.required, ['routes']);
    assert.equal(s.properties.server.properties.port.default, 8080);
    assert.equal(s.properties.server.required, undefined);
  });
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const base = mkdtempSync(join(tmpdir(), 'create-once-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** One process that, at `startAt`, makes or reads `rounds` files and prints what it got. */
function racer(startAt: number, rounds: number): Promise<string[]> {
  const script = `
    import { readOrCreateFileSync } from ${JSON.stringify(new URL('./create-once.ts', import.meta.url).href)};
    import { randomBytes } from 'node:crypto';
    while (Date.now() < ${startAt});
    const out = [];
    for (let i = 0; i < ${rounds}; i++) {
      // A big enough file that a reader could catch it half-written.
      out.push(readOrCreateFileSync(${JSON.stringify(base)} + '/f' + i, () => randomBytes(96 * 1024).toString('base64'), 0o600).slice(-16).padStart(16, '_'));
    }
    console.log(out.join(','));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text.trim().split(',')) : reject(new Error(`racer exited ${code}`))));
  });
}

describe('readOrCreateFileSync', () => {
  it('processes racing to create the same files all read one whole file each time', async () => {
    const rounds = 40;
    const startAt = Date.now() + 1500;
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map(() => racer(startAt, rounds)));
    for (let i = 0; i < rounds; i++) {
      const seen = new Set(results.map((r) => r[i]));
      assert.equal(seen.size, 1, `file ${i}: racers read different content: ${[...seen].join(' ')}`);
      assert.doesNotMatch([...seen][0]!, /_/, `file ${i} was read empty or short`);
    }
    // No temporary files are left behind.
    assert.equal(readdirSync(base).filter((n) => n.endsWith('.tmp')).length, 0);
  });
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const base = mkdtempSync(join(tmpdir(), 'create-once-'));
after(() => rmSync(base, { recursive: true, force: true }));

const GO = join(base, 'go');

/**
 * One process that says it is ready, waits for the go file (all racers start together however
 * slowly each one booted), makes or reads `rounds` files and prints what it got.
 */
function racer(rounds: number, ready: () => void): Promise<string[]> {
  const script = `
    import { readOrCreateFileSync } from ${JSON.stringify(new URL('./create-once.ts', import.meta.url).href)};
    import { randomBytes } from 'node:crypto';
    import { existsSync } from 'node:fs';
    process.stderr.write('ready\\n');
    while (!existsSync(${JSON.stringify(GO)}));
    const out = [];
    for (let i = 0; i < ${rounds}; i++) {
      // A big enough file that a reader could catch it half-written.
      out.push(readOrCreateFileSync(${JSON.stringify(base)} + '/f' + i, () => randomBytes(96 * 1024).toString('base64'), 0o600).slice(-16).padStart(16, '_'));
    }
    console.log(out.join(','));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.once('data', ready);
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text.trim().split(',')) : reject(new Error(`racer exited ${code}`))));
  });
}

describe('readOrCreateFileSync', () => {
  it('processes racing to create the same files all read one whole file each time', async () => {
    const rounds = 40;
    const racers = 6;
    let waiting = racers;
    const results = await Promise.all(
      Array.from({ length: racers }, () =>
        racer(rounds, () => {
          if (--waiting === 0) writeFileSync(GO, '');
        }),
      ),
    );
    for (let i = 0; i < rounds; i++) {
      const seen = new Set(results.map((r) => r[i]));
      assert.equal(seen.size, 1, `file ${i}: racers read different content: ${[...seen].join(' ')}`);
      assert.doesNotMatch([...seen][0]!, /_/, `file ${i} was read empty or short`);
    }
    // No temporary files are left behind.
    assert.equal(readdirSync(base).filter((n) => n.endsWith('.tmp')).length, 0);
  });
});

/**
 * Object keys in the JSON helpers: listing keys with the whole-message walk, renaming them
 * (json-pointer.ts), and the streaming rewriter's `keys` option (json-stream.ts), which hands
 * keys to onString as `<object>/~key` and renames a replaced one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectStringLeaves, isKeyPointer, keyObject, keyPointer, pointerSegments, renameKeys } from './json-pointer.ts';
import { JsonStreamRewriter, type ChunkDecision, type StringChunk } from './json-stream.ts';

describe('key pointers and the whole-message walk', () => {
  it('a key location is its object pointer plus "/~key", which no real member pointer can be', () => {
    assert.equal(keyPointer('/result/structuredContent'), '/result/structuredContent/~key');
    assert.equal(keyObject(keyPointer('/a/0')), '/a/0');
    assert.equal(keyPointer(''), '/~key');
    assert.ok(isKeyPointer('/x/~key') && !isKeyPointer('/x/~0key') && !isKeyPointer('/x/key'));
    assert.throws(() => pointerSegments('/x/~key'), TypeError, 'invalid as an RFC 6901 pointer on purpose');
  });

  it('collectStringLeaves with onKey lists every object key (not array indexes) with its object, in order', () => {
    const keys: Array<[string, string]> = [];
    const leaves = collectStringLeaves({ a: [{ 'k/1': 'x' }, 'y'], b: { c: null } }, (object, key) => keys.push([object, key]));
    assert.deepEqual(keys, [['', 'a'], ['/a/0', 'k/1'], ['', 'b'], ['/b', 'c']]);
    assert.deepEqual(leaves, [{ pointer: '/a/0/k~11', text: 'x' }, { pointer: '/a/1', text: 'y' }]);
  });
});

describe('renameKeys', () => {
  it('renames by object pointer, deepest first, keeps order and values, copies only what it changes', () => {
    const shared = { untouched: true };
    const input = { keep: shared, 'old/1': { 'inner~': 1, z: 2 }, last: [{ o: 3 }] };
    const out = renameKeys(input, new Map([
      ['', new Map([['old/1', 'new']])],
      ['/old~11', new Map([['inner~', 'in']])],
      ['/last/0', new Map([['o', 'p']])],
    ])) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['keep', 'new', 'last']);
    assert.deepEqual(out, { keep: shared, new: { in: 1, z: 2 }, last: [{ p: 3 }] });
    assert.equal(out['keep'], shared);
    assert.deepEqual(Object.keys(input), ['keep', 'old/1', 'last'], 'the input is not changed');
  });

  it('a "__proto__" member stays a member, never a prototype', () => {
    const input = JSON.parse('{"__proto__":{"polluted":1},"secret":2}') as Record<string, unknown>;
    const out = renameKeys(input, new Map([['', new Map([['secret', 'masked']])]])) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['__proto__', 'masked']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":1},"masked":2}');
  });
});

describe('JsonStreamRewriter with keys', () => {
  async function run(doc: string, onString: (c: StringChunk) => ChunkDecision, size = 3): Promise<string> {
    const r = new JsonStreamRewriter({ keys: true, onString });
    const bytes = Buffer.from(doc);
    const out: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) out.push(await r.push(bytes.subarray(i, i + size)));
    out.push(await r.end());
    return Buffer.concat(out).toString('utf8');
  }

  it('hands out each key whole, once, before its value, as "<object>/~key"; unchanged keys come out as they were', async () => {
    const doc = '{"a":{"k\\u00e9y":"v","é":1},"b":[{"":"x"}]}';
    for (const size of [1, 2, 5, 100]) {
      const seen: Array<[string, string, boolean, boolean]> = [];
      const out = await run(doc, (c) => void seen.push([c.pointer, c.text, c.isKey, c.end]), size);
      assert.equal(out, JSON.stringify(JSON.parse(doc)));
      assert.deepEqual(seen, [
        ['/~key', 'a', true, true],
        ['/a/~key', 'kéy', true, true],
        ['/a/kéy', 'v', false, true],
        ['/a/~key', 'é', true, true],
        ['/~key', 'b', true, true],
        ['/b/0/~key', '', true, true],
        ['/b/0/', 'x', false, true],
      ]);
    }
    const plain = '{"jsonrpc":"2.0","result":{"a~b/c":[1,{"d":"e"}]}}';
    assert.equal(await run(plain, () => undefined, 4), plain);
    // Without the option, keys stay out of onString (the default for other callers).
    const values: boolean[] = [];
    const r = new JsonStreamRewriter({ onString: (c) => void values.push(c.isKey) });
    await r.push(Buffer.from('{"k":"v"}'));
    await r.end();
    assert.deepEqual(values, [false]);
  });

  it('a replaced key renames the member (sync or async), and values below it are named by the new name', async () => {
    for (const wrap of [(s: string) => s, (s: string) => Promise.resolve(s)]) {
      const pointers: string[] = [];
      const out = await run('{"secret-1":{"x":"v"},"ok":"w"}', (c) => {
        pointers.push(c.pointer);
        return c.isKey && c.text.startsWith('secret') ? wrap('[MASK]') : undefined;
      });
      assert.equal(out, '{"[MASK]":{"x":"v"},"ok":"w"}');
      assert.deepEqual(pointers, ['/~key', '/[MASK]/~key', '/[MASK]/x', '/~key', '/ok']);
    }
  });

  it('replaced keys that would collide get " #2", " #3"…, per object', async () => {
    const out = await run('{"s1":1,"s2":2,"o":{"s3":3},"s4":4}', (c) => (c.isKey && c.text.startsWith('s') ? 'm' : undefined));
    assert.equal(out, '{"m":1,"m #2":2,"o":{"m":3},"m #3":4}');
  });
});

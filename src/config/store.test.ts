import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from './issues.ts';
import { parseConfig } from './load.ts';
import type { Config } from './schema.ts';
import { ConfigStore } from './store.ts';

const yaml = (port: number, extra = '') => `server:
  port: ${port}
routes:
  - name: default
    path: /mcp
    upstream:
      url: http://127.0.0.1:3000/mcp
${extra}`;

type StoreEvent = ['reload', Config] | ['error', Error];

/** The store's next event, whichever kind. */
function nextEvent(store: ConfigStore): Promise<StoreEvent> {
  return new Promise((resolve) => {
    const onReload = (cfg: Config) => {
      off();
      resolve(['reload', cfg]);
    };
    const onError = (err: Error) => {
      off();
      resolve(['error', err]);
    };
    const off = () => {
      store.off('reload', onReload);
      store.off('error', onError);
    };
    store.on('reload', onReload);
    store.on('error', onError);
  });
}

/** Saves the way editors do: write a sibling temp file, rename it over the original. */
async function save(file: string, text: string): Promise<void> {
  const tmp = join(file, '..', `.${Date.now()}-${Math.random()}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

describe('ConfigStore', { timeout: 10_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portcullis-store-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hot-reloads a good edit, keeps the old config on a bad edit and reports it, then takes the next good edit', async () => {
    const file = join(dir, 'reload.yaml');
    await writeFile(file, yaml(8001));
    const store = await ConfigStore.open(file, { debounceMs: 30, env: {} });
    try {
      const first = store.current;
      assert.equal(first.version, 1);
      assert.equal(first.config.server.port, 8001);

      let event = nextEvent(store);
      await save(file, yaml(8002));
      const [kind, cfg] = await event;
      assert.equal(kind, 'reload');
      assert.equal((cfg as Config).server.port, 8002);
      assert.equal(store.version, 2);
      assert.notEqual(store.hash, first.hash);
      // The old snapshot is untouched: readers holding it see a whole, consistent old config.
      assert.equal(first.config.server.port, 8001);

      const good = store.current;
      event = nextEvent(store);
      await save(file, yaml(8003, '    bogus: 1\n'));
      const [kind2, err] = await event;
      assert.equal(kind2, 'error');
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${file}:8:5 routes[0].bogus: unknown key`);
      assert.equal(store.current, good, 'the last good snapshot stays current');
      assert.equal(store.lastError, err);

      event = nextEvent(store);
      await save(file, yaml(8004));
      const [kind3, cfg3] = await event;
      assert.equal(kind3, 'reload');
      assert.equal((cfg3 as Config).server.port, 8004);
      assert.equal(store.version, 3);
      assert.equal(store.lastError, undefined);
    } finally {
      store.close();
    }
  });

  it('publishes deep-frozen snapshots', async () => {
    const store = new ConfigStore(parseConfig(yaml(8010), 'x.yaml', {}), 'x.yaml');
    const snap = store.current;
    assert.ok(Object.isFrozen(snap) && Object.isFrozen(snap.config.routes[0]?.upstream));
    assert.throws(() => {
      (snap.config.server as { port: number }).port = 1;
    }, TypeError);
    assert.equal(store.config.server.port, 8010);
  });

  it('does not count unchanged content or an equivalent config as a new version', async () => {
    const file = join(dir, 'same.yaml');
    await writeFile(file, yaml(8020));
    // Explicit reload() calls only: a debounce longer than the test keeps the watcher out of it.
    const store = await ConfigStore.open(file, { debounceMs: 60_000, env: {} });
    try {
      const snap = store.current;
      await writeFile(file, yaml(8020));
      assert.equal(await store.reload(), false);
      // Different text, same meaning (a comment, a default spelled out): same hash, same version.
      await writeFile(file, `# tuned\n${yaml(8020, '    inspectorTimeoutMs: 2000\n')}`);
      assert.equal(await store.reload(), false);
      assert.equal(store.current, snap);
      await writeFile(file, yaml(8021));
      assert.equal(await store.reload(), true);
      assert.equal(store.version, 2);
    } finally {
      store.close();
    }
  });

  it('never throws or emits an unhandled error without an error listener', async () => {
    const file = join(dir, 'quiet.yaml');
    await writeFile(file, yaml(8030));
    // Explicit reload() calls only: a debounce longer than the test keeps the watcher out of it.
    const store = await ConfigStore.open(file, { debounceMs: 60_000, env: {} });
    try {
      await writeFile(file, 'routes: [');
      assert.equal(await store.reload(), false);
      assert.ok(store.lastError instanceof ConfigError);
      assert.match(store.lastError.message, /^.*quiet\.yaml:1:\d+: YAML: /);
      await rm(file);
      assert.equal(await store.reload(), false);
      assert.match(store.lastError?.message ?? '', /cannot read the file \(ENOENT\)/);
      assert.equal(store.config.server.port, 8030);
    } finally {
      store.close();
    }
  });

  it('open() rejects a bad initial file with the ConfigError', async () => {
    const file = join(dir, 'bad-initial.yaml');
    await writeFile(file, 'routes: []\n');
    await assert.rejects(ConfigStore.open(file, { env: {} }), (err: unknown) => err instanceof ConfigError && /bad-initial\.yaml:1:1 routes: at least one route is required$/.test(err.message));
  });

  it('watch() on an empty store loads the file right away', async () => {
    const file = join(dir, 'lazy.yaml');
    await writeFile(file, yaml(8040));
    const store = new ConfigStore();
    assert.equal(store.version, 0);
    assert.throws(() => store.current, /no config loaded/);
    const event = nextEvent(store);
    store.watch(file, { env: {} });
    try {
      const [kind] = await event;
      assert.equal(kind, 'reload');
      assert.equal(store.config.server.port, 8040);
    } finally {
      store.close();
    }
  });

  it('follows a Kubernetes ConfigMap-style symlink swap', async () => {
    const mount = join(dir, 'configmap');
    await mkdir(join(mount, '..v1'), { recursive: true });
    await writeFile(join(mount, '..v1', 'gateway.yaml'), yaml(8050));
    await symlink('..v1', join(mount, '..data'));
    await symlink(join('..data', 'gateway.yaml'), join(mount, 'gateway.yaml'));
    const store = await ConfigStore.open(join(mount, 'gateway.yaml'), { debounceMs: 30, env: {} });
    try {
      const event = nextEvent(store);
      await mkdir(join(mount, '..v2'));
      await writeFile(join(mount, '..v2', 'gateway.yaml'), yaml(8051));
      await symlink('..v2', join(mount, '..data_tmp'));
      await rename(join(mount, '..data_tmp'), join(mount, '..data'));
      const [kind, cfg] = await event;
      assert.equal(kind, 'reload');
      assert.equal((cfg as Config).server.port, 8051);
    } finally {
      store.close();
    }
  });
});

/**
 * Summarises a V8 `.cpuprofile` (what `node --cpu-prof` writes): self time per function and per
 * source file/package, plus inclusive time of the gateway's own functions (src/…), so the
 * hottest spots can be named without opening DevTools.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  name: string;
  where: string;
  ms: number;
  /** Share of busy (non-idle) time, %. */
  pct: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  topSelf: HotSpot[];
  byGroup: HotSpot[];
  /** Inclusive time of gateway source functions (src/…). */
  topSrcInclusive: HotSpot[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  const bench = url.indexOf('/bench/');
  if (bench >= 0) return url.slice(bench + 1);
  return url.replace(/^file:\/\//, '');
}

/** Coarse owner of a frame: a gateway file, a package, a Node internal area, or V8 itself. */
function groupOf(cf: CallFrame): string {
  if (SPECIAL.has(cf.functionName) && cf.url === '') return cf.functionName;
  const u = shortUrl(cf.url);
  if (u === '') return '(native / V8 builtins)';
  if (u.startsWith('src/') || u.startsWith('bench/')) return u;
  if (u.startsWith('node:')) {
    const parts = u.split('/');
    return parts.length > 2 ? parts.slice(0, 3).join('/') : u;
  }
  const pkg = u.startsWith('@') ? u.split('/').slice(0, 2).join('/') : u.split('/')[0]!;
  return `pkg:${pkg}`;
}

function keyOf(cf: CallFrame): { name: string; where: string } {
  const name = cf.functionName || '(anonymous)';
  const u = shortUrl(cf.url);
  return { name, where: u ? `${u}:${cf.lineNumber + 1}` : '' };
}

/**
 * `window` (µs on the monotonic clock, i.e. `process.hrtime.bigint() / 1000n` in any process of
 * this machine: V8 stamps samples with the same CLOCK_MONOTONIC) keeps only the samples of the
 * measured interval, so start-up compilation and warm-up do not pollute the picture.
 */
export function summariseProfile(path: string, top = 15, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, { name: string; where: string; us: number }>();
  const groups = new Map<string, number>();
  const inclusive = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  let busyUs = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    // timeDeltas[i] is the gap before sample i; attribute the next gap to this sample.
    const us = p.timeDeltas[i + 1] ?? 0;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const k = keyOf(cf);
    const id = `${k.name}@${k.where}`;
    const e = self.get(id) ?? { ...k, us: 0 };
    e.us += us;
    self.set(id, e);
    const g = groupOf(cf);
    groups.set(g, (groups.get(g) ?? 0) + us);
    // Inclusive: every distinct gateway function on this sample's stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = node.id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!f.url.includes('/src/')) continue;
      const fk = keyOf(f);
      const fid = `${fk.name}@${fk.where}`;
      if (seen.has(fid)) continue;
      seen.add(fid);
      const ie = inclusive.get(fid) ?? { ...fk, us: 0 };
      ie.us += us;
      inclusive.set(fid, ie);
    }
  }
  const toSpot = (name: string, where: string, us: number): HotSpot => ({ name, where, ms: us / 1000, pct: (100 * us) / busyUs });
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    topSelf: [...self.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => toSpot(e.name, e.where, e.us)),
    byGroup: [...groups.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([g, us]) => toSpot(g, '', us)),
    topSrcInclusive: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => toSpot(e.name, e.where, e.us)),
  };
}

/**
 * Benign text for false-positive measurement, taken deterministically from the installed
 * dependencies (real-world code, documentation and JSON that is not ours): every finding in it
 * counts against precision. Files are chosen in sorted order up to a byte budget per kind.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface BenignDoc {
  readonly kind: 'code' | 'prose' | 'json';
  readonly path: string;
  readonly text: string;
}

const ROOT = join(import.meta.dirname, '..', 'node_modules');

function walk(dir: string, accept: (name: string) => boolean, out: string[], depth = 0): void {
  if (depth > 8) return;
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const e of entries) {
    if (e === '.bin' || e === 'node' || e === 'typescript' || e === '@typescript') continue;
    const p = join(dir, e);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(p, accept, out, depth + 1);
    else if (accept(e) && st.size > 200 && st.size < 150_000) out.push(p);
  }
}

function take(kind: BenignDoc['kind'], files: string[], budget: number): BenignDoc[] {
  const docs: BenignDoc[] = [];
  let used = 0;
  for (const f of files) {
    if (used >= budget) break;
    const text = readFileSync(f, 'utf8');
    // Minified bundles and embedded binaries are not text a tool result carries.
    if (/\n/.test(text) === false || text.split('\n').some((l) => l.length > 2000)) continue;
    docs.push({ kind, path: relative(ROOT, f), text });
    used += text.length;
  }
  return docs;
}

export function benignCorpus(budgetPerKind = 1_500_000): BenignDoc[] {
  const code: string[] = [];
  const prose: string[] = [];
  const json: string[] = [];
  walk(ROOT, (n) => /\.(?:js|mjs|cjs|ts)$/.test(n) && !/\.(?:min|d)\.[cm]?[jt]s$/.test(n), code);
  walk(ROOT, (n) => /\.md$/i.test(n), prose);
  walk(ROOT, (n) => n === 'package.json', json);
  // Interleave packages so the budget is not spent on the first few alphabetically.
  const spread = (xs: string[]): string[] => {
    const byPkg = new Map<string, string[]>();
    for (const x of xs) {
      const rel = relative(ROOT, x).split('/');
      const pkg = rel[0]!.startsWith('@') ? `${rel[0]}/${rel[1]}` : rel[0]!;
      byPkg.set(pkg, [...(byPkg.get(pkg) ?? []), x]);
    }
    const lists = [...byPkg.values()];
    const out: string[] = [];
    for (let i = 0; out.length < xs.length; i++) for (const l of lists) if (l[i] !== undefined) out.push(l[i]!);
    return out;
  };
  return [...take('code', spread(code), budgetPerKind), ...take('prose', spread(prose), budgetPerKind), ...take('json', spread(json), budgetPerKind / 3)];
}

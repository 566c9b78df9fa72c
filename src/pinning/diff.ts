/**
 * A unified line diff (the `diff -u` shape: `@@ -a,b +c,d @@` hunks with context lines), for
 * showing an operator how a tool definition changed before they approve it.
 *
 * Longest common subsequence over the lines that differ after trimming the common prefix and
 * suffix. The table is quadratic, so past MAX_CELLS the middle is shown as removed-then-added
 * instead: a definition large enough to hit that is already suspicious, and the output is still
 * correct, only less minimal.
 */

const MAX_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string };

export function unifiedDiff(oldLines: readonly string[], newLines: readonly string[], context = 3): string[] {
  const ops = diffOps(oldLines, newLines);
  const changed: number[] = [];
  ops.forEach((o, k) => {
    if (o.kind !== ' ') changed.push(k);
  });
  if (changed.length === 0) return [];
  // 1-based line number on each side at every op, for the hunk headers.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let a = 1;
  let b = 1;
  for (const o of ops) {
    oldAt.push(a);
    newAt.push(b);
    if (o.kind !== '+') a++;
    if (o.kind !== '-') b++;
  }
  // Changes separated by at most 2*context unchanged lines share a hunk, as in diff -u.
  const groups: Array<[number, number]> = [];
  for (const k of changed) {
    const last = groups.at(-1);
    if (last && k - last[1] - 1 <= 2 * context) last[1] = k;
    else groups.push([k, k]);
  }
  const out: string[] = [];
  for (const [first, last] of groups) {
    const start = Math.max(0, first - context);
    const stop = Math.min(ops.length, last + context + 1);
    const hunk = ops.slice(start, stop);
    const oldCount = hunk.filter((o) => o.kind !== '+').length;
    const newCount = hunk.filter((o) => o.kind !== '-').length;
    // An empty side is numbered by the line before it (diff -u convention).
    out.push(`@@ -${oldAt[start]! - (oldCount === 0 ? 1 : 0)},${oldCount} +${newAt[start]! - (newCount === 0 ? 1 : 0)},${newCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
  }
  return out;
}

function diffOps(x: readonly string[], y: readonly string[]): Op[] {
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xm = x.slice(pre, x.length - suf);
  const ym = y.slice(pre, y.length - suf);
  const middle =
    xm.length * ym.length <= MAX_CELLS
      ? lcsOps(xm, ym)
      : [...xm.map((line): Op => ({ kind: '-', line })), ...ym.map((line): Op => ({ kind: '+', line }))];
  return [
    ...x.slice(0, pre).map((line): Op => ({ kind: ' ', line })),
    ...middle,
    ...x.slice(x.length - suf).map((line): Op => ({ kind: ' ', line })),
  ];
}

/** Classic LCS table (suffix lengths), then a forward walk preferring removals before additions. */
function lcsOps(x: readonly string[], y: readonly string[]): Op[] {
  const n = x.length;
  const m = y.length;
  const w = m + 1;
  const t = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      t[i * w + j] = x[i] === y[j] ? t[(i + 1) * w + j + 1]! + 1 : Math.max(t[(i + 1) * w + j]!, t[i * w + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      ops.push({ kind: ' ', line: x[i]! });
      i++;
      j++;
    } else if (t[(i + 1) * w + j]! >= t[i * w + j + 1]!) ops.push({ kind: '-', line: x[i++]! });
    else ops.push({ kind: '+', line: y[j++]! });
  }
  while (i < n) ops.push({ kind: '-', line: x[i++]! });
  while (j < m) ops.push({ kind: '+', line: y[j++]! });
  return ops;
}

/**
 * Child processes of the benchmark: the demo upstream and the gateway (bench/lib/child.ts, run by
 * the pinned Node 24 through a shell that first raises `ulimit -n` to the hard limit), and CPU
 * accounting from /proc so each row can say which process was busy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Usage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

/** An SSE event the upstream wrote: `key` names it (see sseKey), `us` is when (monotonic µs). */
export type SentEvent = [key: string, us: number];

export type ChildRequest =
  | { cmd: 'usage'; seq: number; gc: boolean }
  /** Upstream only: start (or keep) recording SSE writes, and return + clear what was recorded. */
  | { cmd: 'trace'; seq: number; on: boolean }
  | { cmd: 'exit' };
export type ChildReply =
  | { kind: 'ready'; url: string; pid: number }
  | { kind: 'usage'; seq: number; usage: Usage }
  | { kind: 'trace'; seq: number; events: SentEvent[] };

/**
 * Names one JSON-RPC message of a countdown stream the same way on both ends: a progress
 * notification by token and step, anything else by id.
 */
export function sseKey(data: string): string | undefined {
  try {
    const m = JSON.parse(data) as { id?: unknown; method?: unknown; params?: { progressToken?: unknown; progress?: unknown } };
    if (m.method === 'notifications/progress') return `${String(m.params?.progressToken)}#${String(m.params?.progress)}`;
    if (m.id !== undefined) return `id:${String(m.id)}`;
  } catch {
    // not JSON
  }
  return undefined;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = `${ROOT}node_modules/.bin/node`;
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly url: string;
  readonly pid: number;
  private seq = 0;
  private readonly waiters = new Map<number, (u: Usage) => void>();
  private readonly traceWaiters = new Map<number, (e: SentEvent[]) => void>();
  private readonly exited: Promise<void>;

  private constructor(name: string, proc: ChildProcess, url: string, pid: number, exited: Promise<void>) {
    this.name = name;
    this.proc = proc;
    this.url = url;
    this.pid = pid;
    this.exited = exited;
    proc.on('message', (raw) => {
      const m = raw as ChildReply;
      if (m.kind === 'usage') {
        this.waiters.get(m.seq)?.(m.usage);
        this.waiters.delete(m.seq);
      } else if (m.kind === 'trace') {
        this.traceWaiters.get(m.seq)?.(m.events);
        this.traceWaiters.delete(m.seq);
      }
    });
  }

  /**
   * Starts `child.ts <role> <json>`. `nodeFlags` go to Node (e.g. `--cpu-prof`). The shell raises
   * the soft fd limit to the hard one, then execs Node (same pid, IPC fd inherited).
   */
  static async start(name: string, role: 'upstream' | 'gateway' | 'floor', args: object, nodeFlags: string[] = []): Promise<Child> {
    const cmd = [NODE, '--expose-gc', ...nodeFlags, CHILD, role, JSON.stringify(args)].map(shellQuote).join(' ');
    const proc = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" && exec ${cmd}`], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      const onMsg = (raw: unknown) => {
        const m = raw as ChildReply;
        if (m.kind === 'ready') {
          proc.off('message', onMsg);
          resolve({ url: m.url, pid: m.pid });
        }
      };
      proc.on('message', onMsg);
      proc.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    });
    return new Child(name, proc, ready.url, ready.pid, exited);
  }

  usage(gc = false): Promise<Usage> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiters.set(seq, resolve);
      this.proc.send({ cmd: 'usage', seq, gc } satisfies ChildRequest);
    });
  }

  /** Upstream: switch SSE write tracing on/off; returns (and clears) the events recorded so far. */
  trace(on: boolean): Promise<SentEvent[]> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.traceWaiters.set(seq, resolve);
      this.proc.send({ cmd: 'trace', seq, on } satisfies ChildRequest);
    });
  }

  /** Graceful stop (lets --cpu-prof write its file); SIGKILL after `ms`. */
  async stop(ms = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      this.proc.send({ cmd: 'exit' } satisfies ChildRequest);
    } catch {
      // channel already gone
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

/** CPU time (user + system, µs) of a process from /proc/<pid>/stat; 0 if it is gone. */
export function procCpuUs(pid: number, thread?: number): number {
  try {
    // /proc/PID/stat sums every thread; /proc/PID/task/TID/stat is one thread (the main one: TID = PID).
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return (ticks * 1e6) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** USER_HZ is 100 on every Linux that matters (getconf CLK_TCK); not exposed to Node. */
const CLOCK_TICKS = 100;

/** Direct children of a process (nginx master → workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function procRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function fdHardLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const parts = line?.trim().split(/\s{2,}/) ?? [];
    const hard = Number(parts[2]);
    return Number.isFinite(hard) ? hard : 1024;
  } catch {
    return 1024;
  }
}

/** CPU time (µs) of every user-space process on the machine except `exclude`, by pid, with its name. */
export function foreignCpu(exclude: ReadonlySet<number>): Map<number, { us: number; name: string }> {
  const out = new Map<number, { us: number; name: string }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    const pid = Number(d);
    if (exclude.has(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Kernel threads (children of kthreadd) do our own loopback/softirq work too: not foreign.
      if (pid === 2 || rest[1] === '2') continue;
      const us = ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLOCK_TICKS;
      out.set(pid, { us, name });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU used by other processes between two snapshots (new pids count in full), busiest first. */
export function foreignDelta(
  a: Map<number, { us: number; name: string }>,
  b: Map<number, { us: number; name: string }>,
): { us: number; top: Array<{ name: string; us: number }> } {
  const byName = new Map<string, number>();
  let us = 0;
  for (const [pid, e] of b) {
    const d = e.us - (a.get(pid)?.us ?? 0);
    if (d <= 0) continue;
    us += d;
    byName.set(e.name, (byName.get(e.name) ?? 0) + d);
  }
  return { us, top: [...byName.entries()].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([name, v]) => ({ name, us: v })) };
}

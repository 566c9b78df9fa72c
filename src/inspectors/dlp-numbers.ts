/**
 * DLP on JSON numbers. They are content too: `structuredContent` (MCP 2025-06-18, Tools:
 * Structured Content) and tool arguments carry card numbers, national ids and phone numbers as
 * numbers as readily as strings. A number is scanned as it reads in a JSON text, after the name
 * it is filed under, so a detector that wants context before a match (a bare nine-digit SSN) has
 * it; findings in the name alone are the key scan's (dlp-keys.ts). On the chunk path (a message
 * over the buffer limit) the streaming rewriter hands over each number token whole (bounded by
 * its maxNumberBytes) when `mayHoldIdentifier` says it may be one, and the same scan applies.
 */
import { pointerSegments } from '../codec/json-pointer.ts';
import { scanText, type Finding } from '../detectors/index.ts';
import type { Frame } from '../pipeline/types.ts';

/**
 * Only integers of 6+ digits can be any such identifier. Integers past 2^53 are not scanned:
 * JSON.parse has already rounded them, so their digits are not the ones on the wire.
 */
export function mayHoldIdentifier(n: number): boolean {
  return Number.isSafeInteger(n) && Math.abs(n) >= 100_000;
}

export interface NumberLeaf {
  pointer: string;
  value: number;
  /** Its member name, or array index. */
  key: string;
}

const TASK_TIMES = new Set(['ttl', 'ttlMs', 'pollInterval', 'pollIntervalMs']);
/** The answers that are a Task (MCP tasks: GetTaskResult, CancelTaskResult, the 2026 extension's update). `tasks/result` is not: it is the task's content. */
const TASK_ANSWERS = new Set(['tasks/get', 'tasks/cancel', 'tasks/update']);

/**
 * The protocol's own numbers, where the protocol puts them: progress in notifications/progress,
 * a task's lifetime and poll interval in a request creating it, in a CreateTaskResult, in a Task
 * answer (tasks/get, tasks/cancel, tasks/update), in a tasks/list and in
 * notifications/tasks/status, an error's code. Masking one would break the
 * message, and none is content. The same path in any other message is content: a tool result
 * cannot file a card number under `/result/ttl` to get it through.
 */
export function isProtocolNumber(frame: Pick<Frame, 'kind' | 'method'>, pointer: string, value: number): boolean {
  // No time, progress count or error code the protocol sends runs to 13 digits; a card number does.
  if (Math.abs(value) >= 1e12) return false;
  const segs = pointerSegments(pointer);
  const [top, a, b, c] = segs;
  // tasks/list: each listed task's times.
  if (segs.length === 4 && top === 'result' && a === 'tasks') return frame.kind === 'result' && frame.method === 'tasks/list' && /^\d+$/.test(b!) && TASK_TIMES.has(c!);
  if (segs.length === 2 && top === 'error') return frame.kind === 'error' && a === 'code';
  if (segs.length === 2 && top === 'params') {
    if (frame.kind !== 'notification') return false;
    if (frame.method === 'notifications/progress') return a === 'progress' || a === 'total';
    return frame.method === 'notifications/tasks/status' && TASK_TIMES.has(a!);
  }
  if (segs.length === 3 && top === 'params') return frame.kind === 'request' && a === 'task' && TASK_TIMES.has(b!);
  if (segs.length === 3 && top === 'result') return frame.kind === 'result' && a === 'task' && TASK_TIMES.has(b!);
  if (segs.length === 2 && top === 'result') return frame.kind === 'result' && TASK_ANSWERS.has(frame.method) && TASK_TIMES.has(a!);
  return false;
}

/**
 * The name a number is filed under, as words: an array element's is its array's (`"ssn": [n]`),
 * and `social_security_number` / `cardNumber` read as the words they join, as the detectors'
 * context phrases are written.
 */
function contextName(n: NumberLeaf): string {
  let name = n.key;
  if (/^\d+$/.test(name)) name = pointerSegments(n.pointer).findLast((s) => !/^\d+$/.test(s)) ?? '';
  return name
    .slice(-64)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ');
}

/** Findings in a number's decimal text, offsets in that text. */
export function scanNumber(n: NumberLeaf, scan: Parameters<typeof scanText>[1]): Finding[] {
  const digits = String(n.value);
  const prefix = `"${contextName(n)}": `;
  const out: Finding[] = [];
  for (const f of scanText(prefix + digits, scan)) {
    const start = Math.max(0, f.start - prefix.length);
    const end = f.end - prefix.length;
    if (end > 0) out.push({ ...f, start, end });
  }
  return out;
}

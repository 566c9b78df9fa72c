/**
 * The JSON text of a chained record, made once. The chain hashes this exact text (chain.ts) and
 * every sink and the spool store it, so a record is serialized once on its way through the
 * gateway instead of once per hash and once per sink. Records read back from a store or the
 * spool do not carry it: `JSON.stringify` gives them the same text (chain.ts says why).
 *
 * Held in a non-enumerable symbol-keyed property, so it is not part of the record it describes:
 * JSON.stringify, Object.keys, spreads, structured clone and deepStrictEqual all skip it, and a
 * copy of a record (which might then be changed) does not inherit it. Not a WeakMap, as before:
 * an entry cost ~1 µs to add against ~0.2 µs for the property (records churning as the audit
 * thread's do), and the ephemerons weigh on every collection: ~3 µs per record less in the audit
 * probe (alternating runs). Records are never mutated after linking.
 */
import type { AuditRecord } from './record.ts';

const TEXT = Symbol('portcullis.audit.recordText');

export function rememberRecordText(record: AuditRecord, text: string): void {
  Object.defineProperty(record, TEXT, { value: text, configurable: true, writable: true });
}

export function recordText(record: AuditRecord): string {
  return ((record as unknown as Record<symbol, string | undefined>)[TEXT]) ?? JSON.stringify(record);
}

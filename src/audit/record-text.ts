/**
 * The JSON text of a chained record, made once. The chain hashes this exact text (chain.ts) and
 * every sink and the spool store it, so a record is serialized once on its way through the
 * gateway instead of once per hash and once per sink. Records read back from a store or the
 * spool are not in the cache: `JSON.stringify` gives them the same text (chain.ts says why).
 *
 * A WeakMap, not a property: the text must not become part of the record it describes, and a
 * record dropped by every lane frees its text with it. Records are never mutated after linking.
 */
import type { AuditRecord } from './record.ts';

const texts = new WeakMap<AuditRecord, string>();

export function rememberRecordText(record: AuditRecord, text: string): void {
  texts.set(record, text);
}

export function recordText(record: AuditRecord): string {
  return texts.get(record) ?? JSON.stringify(record);
}

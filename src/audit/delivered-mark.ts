/**
 * The delivery discipline the remote sinks (syslog, Splunk HEC, webhook) share: one write at a
 * time, records at or below the last acknowledged seq skipped (a re-delivered batch is a no-op on
 * a receiver that cannot de-duplicate), and the mark persisted after each acknowledged batch.
 * Each sink only says how to send the fresh records and how to shut down.
 */
import type { AuditRecord } from './record.ts';
import { Serial, SinkClosedError } from './sink.ts';
import type { SeqState } from './state-file.ts';

export class DeliveredMark {
  readonly #name: string;
  readonly #state: SeqState;
  readonly #serial = new Serial();
  #closed = false;

  constructor(name: string, state: SeqState) {
    this.#name = name;
    this.#state = state;
  }

  write(batch: readonly AuditRecord[], send: (fresh: readonly AuditRecord[]) => Promise<void>): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) throw new SinkClosedError(this.#name);
      const last = this.#state.seq;
      const fresh = batch.filter((r) => last === undefined || r.seq > last);
      if (fresh.length === 0) return;
      await send(fresh);
      await this.#state.set(fresh[fresh.length - 1]!.seq);
    });
  }

  async lastSeq(): Promise<number | undefined> {
    if (this.#closed) throw new SinkClosedError(this.#name);
    return this.#state.seq;
  }

  /** Closes once, after the write in progress; `shutdown` releases the sink's connection. */
  close(shutdown: () => Promise<void>): Promise<void> {
    return this.#serial.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await shutdown();
    });
  }
}

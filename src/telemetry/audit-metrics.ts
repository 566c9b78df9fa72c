/**
 * The audit trail's health as Prometheus series, read from the trail's own counters at scrape
 * time (the audit thread reports them; at most ~100 ms old). What an operator alerts on: calls
 * refused because the trail cannot keep up (`accepting` 0), a sink failing and its spool growing,
 * records shed under the shed posture (each behind a signed gap record in the trail itself).
 */
import { Gauge, type Registry } from 'prom-client';
import type { AuditMetrics } from '../audit/pipeline.ts';

export function registerAuditMetrics(registry: Registry, source: () => AuditMetrics): void {
  const registers = [registry];
  new Gauge({
    name: 'portcullis_audit_accepting',
    help: '1 while the audit trail accepts new calls; 0 when calls are refused (fail-closed posture).',
    registers,
    collect() {
      this.set(source().accepting ? 1 : 0);
    },
  });
  new Gauge({
    name: 'portcullis_audit_records',
    help: 'Audit records since start: appended to the chain, delivered to every sink, shed (spool full, shed posture).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const m = source();
      this.set({ state: 'appended' }, m.appended);
      this.set({ state: 'delivered' }, m.delivered);
      this.set({ state: 'shed' }, m.dropped);
    },
  });
  // Sink names come from the configuration: bounded.
  new Gauge({
    name: 'portcullis_audit_sink_spool_bytes',
    help: 'Bytes spooled on disk for a sink that is slow or down.',
    labelNames: ['sink'] as const,
    registers,
    collect() {
      for (const s of source().sinks) this.set({ sink: s.name }, s.spoolBytes);
    },
  });
  new Gauge({
    name: 'portcullis_audit_sink_healthy',
    help: '1 while the sink accepts deliveries, 0 while it fails (records spool meanwhile).',
    labelNames: ['sink'] as const,
    registers,
    collect() {
      for (const s of source().sinks) this.set({ sink: s.name }, s.healthy ? 1 : 0);
    },
  });
}

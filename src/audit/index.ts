/**
 * The audit module's public surface: import from here.
 *
 * Wiring (the integrator):
 *
 *   const audit = await openAudit(config.audit, { hooks, productVersion });   // undefined if disabled
 *   audit.log.append(audit.records.lifecycle({ time, activity: 'start', policyVersion, controls }));
 *
 * Per call, on the data path (all synchronous, none blocks):
 * 1. Before admitting a call: `if (!audit.log.accepting())` refuse it with a clear error
 *    (`audit.log.refusal()` says why). Only 'fail-closed' ever refuses.
 * 2. After authentication: `append(records.auth({...}))` for failures (and successes if wanted).
 * 3. Build one `ExchangeContext` per exchange (principal, client, route, upstream, era, protocol
 *    version, session, method, target, policy version) and reuse it for all its records.
 * 4. When the decision is final (blocked, approval decided, or the response completed):
 *    `append(records.exchange({ ...ctx, time, endTime, verdict, reasons, inspectors, arguments,
 *    result, bytes, ... }))`.
 * 5. For each DLP finding set on a message: `append(records.findings({ context: ctx, ... }))`.
 * 6. Streams: `phase: 'opened'` when the first event goes out; `'segment'` as events pass (one
 *    per event or batched with `count`); `'closed'` exactly once however it ends: 'completed',
 *    'cancelled' (client went away: the partial record, with `sent` = what reached it), 'cut'
 *    (the gateway ended it: policy, credential expiry, limits) or 'failed' (upstream broke).
 *    Then the exchange record as in 4.
 * 7. On config reload and shutdown: lifecycle records; then `await audit.close()`.
 */
export { openAudit, openSink, type Audit, type OpenAuditOptions } from './open.ts';
export { AuditSchema, sinkNameOf, type AuditConfig, type AuditSinkConfig } from './config.ts';
export { AuditLog, type AuditLogOptions, type AuditMetrics, type AuditHooks } from './pipeline.ts';
export type { LaneMetrics } from './lane.ts';
export { RecordBuilder, inspectorFacts, OCSF_VERSION, type AuditEvent, type AuditRecord, type BuilderOptions, type RecordKind } from './record.ts';
export type * from './facts.ts';
export { Digester } from './digest.ts';
export { runAuditCli, type AuditCliIo } from './cli.ts';
export { verifyRecords, verifyStream, ChainVerifier, type VerifyResult, type VerifyOptions, type ChainBreak, type BreakKind, type KnownGap } from './verify.ts';
export type { AuditSink, AuditQuery, PruneResult } from './sink.ts';
export { verifyWebhook, webhookSignature } from './webhook-sink.ts';
export { loadAuditKeys, loadPublicKeys, type AuditKeys } from './keys.ts';

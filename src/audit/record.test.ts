import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Digester } from './digest.ts';
import { RecordBuilder, inspectorFacts, type ExchangeContext } from './record.ts';
import { Chain, recordHash } from './chain.ts';
import { recordText } from './record-text.ts';
import type { InspectorOutcome } from '../pipeline/pipeline.ts';

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.secret-token-body.sig';
const key = Buffer.alloc(32, 9);
const none = new RecordBuilder({ digester: new Digester(key), includeContent: 'none' });
const redacted = new RecordBuilder({ digester: new Digester(key), includeContent: 'redacted' });

const ctx: ExchangeContext = {
  exchangeId: 'ex-1',
  principal: { subject: 'alice', method: 'jwt', issuer: 'https://idp.example', clientId: 'cli-app', scopes: ['files:read'], claims: { token: TOKEN }, credentialId: 'cred-1' },
  client: { name: 'claude-code', version: '1.2.3', address: '::ffff:10.0.0.7', userAgent: 'ua/1' },
  route: 'mcp',
  upstream: { name: 'files', url: 'https://user:pw@files.internal:8443/mcp?k=v' },
  era: 'legacy',
  protocolVersion: '2025-06-18',
  sessionId: 'session-abc',
  method: 'tools/call',
  rpcId: 7,
  target: { type: 'tool', name: 'read_file' },
  policyVersion: 'p-3',
};

describe('RecordBuilder: exchange (OCSF API Activity 6003)', () => {
  it('maps the decision, principal, route and upstream onto OCSF attributes', () => {
    const e = none.exchange({ ...ctx, time: 1000, endTime: 1250, verdict: 'block', reasons: ['policy/tool-denied'], errorCode: 'policy_denied', inspectors: [{ name: 'policy', verdict: 'block', reasons: ['policy/tool-denied'], durationMs: 0.42 }], bytes: { request: 120, response: Number.NaN } });
    assert.equal(e.class_uid, 6003);
    assert.equal(e.category_uid, 6);
    assert.equal(e.type_uid, 600399);
    assert.equal(e.activity_name, 'Other');
    assert.deepEqual([e['action_id'], e['disposition_id'], e['status_id'], e['status_code']], [2, 2, 2, 'policy_denied']);
    assert.deepEqual(e['actor'], {
      user: { uid: 'alice', type: 'User', credential_uid: 'cred-1', auth_method: 'jwt' },
      app_uid: 'cli-app',
      app_name: 'claude-code',
      idp: { name: 'https://idp.example' },
      session: { uid: new Digester(key).digestText('session-abc') },
    });
    assert.deepEqual(e['api'], { operation: 'tools/call', request: { uid: '7' }, response: { error: 'policy_denied' }, service: { name: 'files', version: '2025-06-18' }, version: '2025-06-18' });
    assert.deepEqual(e['dst_endpoint'], { svc_name: 'files', hostname: 'files.internal', port: 8443 });
    assert.deepEqual(e['src_endpoint'], { ip: '10.0.0.7', name: 'claude-code', agent_list: [{ name: 'claude-code', version: '1.2.3' }] });
    assert.deepEqual(e['resources'], [{ type: 'tool', name: 'read_file' }]);
    assert.deepEqual(e['policy'], { name: 'portcullis', version: 'p-3' });
    assert.deepEqual([e['start_time'], e['end_time'], e['duration']], [1000, 1250, 250]);
    assert.equal(e.metadata.correlation_uid, 'ex-1');
    assert.deepEqual(e.unmapped['inspectors'], [{ name: 'policy', verdict: 'block', reasons: ['policy/tool-denied'], duration_ms: 0.42 }]);
    assert.deepEqual(e.unmapped['bytes'], { request: 120 }, 'non-finite numbers are dropped, not chained');
    assert.equal(e.unmapped['verdict'], 'block');
  });

  it("takes the pipeline's inspector outcomes as they are", () => {
    const inspectors = inspectorFacts([
      { inspector: 'policy', verdict: 'allow', reasons: [], ms: 0.1 },
      { inspector: 'dlp', verdict: 'block', reasons: ['gateway/inspector-timeout'], ms: 2000, failed: true },
    ]);
    const e = none.exchange({ ...ctx, time: 1, verdict: 'block', inspectors, inspectorsDropped: 3 });
    assert.deepEqual(e.unmapped['inspectors'], [
      { name: 'policy', verdict: 'allow', duration_ms: 0.1 },
      { name: 'dlp', verdict: 'block', reasons: ['gateway/inspector-timeout'], duration_ms: 2000, failed: true },
    ]);
    assert.equal(e.unmapped['inspectors_dropped'], 3);
    // Type-level: Exchange.outcomes goes in unchanged (tsc checks this line).
    const fromPipeline: InspectorOutcome[] = [{ inspector: 'x', verdict: 'pass', reasons: ['dlp/none'], ms: 1 }];
    assert.equal(inspectorFacts(fromPipeline)[0]!.verdict, 'pass');
  });

  it('maps each verdict to a Security Control action and disposition', () => {
    const map = Object.fromEntries(
      (['allow', 'redact', 'rewrite', 'block', 'require-approval'] as const).map((v) => {
        const e = none.exchange({ ...ctx, time: 1, verdict: v });
        return [v, [e['action'], e['disposition']]];
      }),
    );
    assert.deepEqual(map, {
      allow: ['Allowed', 'Allowed'],
      redact: ['Modified', 'Corrected'],
      rewrite: ['Modified', 'Corrected'],
      block: ['Denied', 'Blocked'],
      'require-approval': ['Denied', 'Delayed'],
    });
    assert.equal(none.exchange({ ...ctx, method: 'tools/list', time: 1, verdict: 'allow' }).activity_name, 'Read');
  });

  it('records keyed digests of arguments and results, never the values, nor tokens, claims or URL credentials', () => {
    const args = { path: '/etc/passwd', key: SECRET };
    const e = none.exchange({ ...ctx, time: 1, verdict: 'allow', arguments: args, result: { text: SECRET } });
    const json = JSON.stringify(e);
    for (const s of [SECRET, TOKEN, '/etc/passwd', 'session-abc', 'user:pw', 'k=v']) assert.ok(!json.includes(s), `record contains ${s}`);
    const d = e.unmapped['digests'] as { arguments: string; result: string; key_id: string };
    assert.match(d.arguments, /^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    assert.equal(d.arguments, new Digester(key).digest({ key: SECRET, path: '/etc/passwd' }), 'key order does not matter');
    assert.notEqual(d.arguments, new Digester(Buffer.alloc(32, 8)).digest(args), 'another key gives another digest');
    assert.equal(d.key_id, new Digester(key).keyId);
  });

  it("includes redacted content only when includeContent is 'redacted', bounded in size", () => {
    const facts = { ...ctx, time: 1, verdict: 'redact' as const, redacted: { arguments: { q: '[REDACTED:aws]' }, result: { text: 'x'.repeat(200_000) } } };
    const off = none.exchange(facts);
    assert.equal((off['api'] as { request: { data?: unknown } }).request.data, undefined);
    const on = redacted.exchange(facts);
    const api = on['api'] as { request: { data: unknown }; response: { data: unknown } };
    assert.deepEqual(api.request.data, { q: '[REDACTED:aws]' });
    assert.deepEqual(api.response.data, { truncated: true, limit_bytes: 65536 });
  });

  it('survives hostile content: lone surrogates, cycles, __proto__ keys, deep nesting; the result chains', () => {
    const cyc: Record<string, unknown> = { a: 1 };
    cyc['self'] = cyc;
    let deep: unknown = 'bottom';
    for (let i = 0; i < 500; i++) deep = [deep];
    const notes = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    notes['cyc'] = cyc;
    notes['deep'] = deep;
    const e = redacted.exchange({ ...ctx, target: { type: 'tool', name: 'bad\ud800name' }, time: 1, verdict: 'allow', notes, arguments: cyc, redacted: { arguments: deep } });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.deepEqual(Object.keys(e.unmapped['notes'] as object), ['__proto__', 'cyc', 'deep']);
    assert.match((e.unmapped['digests'] as { arguments: string }).arguments, /^hmac-sha256:/);
    const rec = new Chain().link(e);
    // Lone surrogates are made well-formed where the record is chained (its text is made there).
    assert.deepEqual(rec['resources'], [{ type: 'tool', name: 'bad\ufffdname' }]);
    assert.ok(!recordText(rec).includes('\\ud800'));
    assert.equal(recordHash(JSON.parse(JSON.stringify(rec))), rec.hash, 'survives a JSON round trip unchanged');
  });
});

describe('RecordBuilder: streams', () => {
  it('records opened, segments as they pass, and a client disconnect as partial with what was sent', () => {
    const opened = none.stream({ context: ctx, time: 10, streamId: 's1', phase: 'opened', transport: 'sse' });
    assert.deepEqual(opened.unmapped['stream'], { id: 's1', phase: 'opened', transport: 'sse' });
    const seg = none.stream({ context: ctx, time: 11, streamId: 's1', phase: 'segment', firstIndex: 0, count: 3, lastEventId: 'e3', eventKinds: ['notification', 'notification', 'result'], eventMethods: ['notifications/progress', 'notifications/progress'], bytes: 900, messages: [{ secret: SECRET }] });
    const s = seg.unmapped['stream'] as Record<string, unknown>;
    assert.deepEqual({ ...s, digest: typeof s['digest'] }, { id: 's1', phase: 'segment', first_index: 0, count: 3, last_event_id: 'e3', event_kinds: ['notification', 'notification', 'result'], event_methods: ['notifications/progress'], bytes: 900, digest: 'string' });
    assert.ok(!JSON.stringify(seg).includes(SECRET));
    const closed = none.stream({ context: ctx, time: 20, streamId: 's1', phase: 'closed', end: 'cancelled', cause: 'client-disconnect', sent: { events: 3, bytes: 900, lastEventId: 'e3' }, received: { events: 5, bytes: 1500 }, durationMs: 10 });
    assert.deepEqual(closed.unmapped['stream'], { id: 's1', phase: 'closed', end: 'cancelled', partial: true, cause: 'client-disconnect', sent: { events: 3, bytes: 900, last_event_id: 'e3' }, received: { events: 5, bytes: 1500 } });
    assert.deepEqual([closed['status_id'], closed['status'], closed['status_detail'], closed['duration']], [99, 'Cancelled', 'client-disconnect', 10]);
    const done = none.stream({ context: ctx, time: 20, streamId: 's2', phase: 'closed', end: 'completed' });
    assert.deepEqual([done['status'], (done.unmapped['stream'] as { partial: boolean }).partial], ['Success', false]);
    const cut = none.stream({ context: ctx, time: 20, streamId: 's3', phase: 'closed', end: 'cut', cause: 'credential_expired' });
    assert.deepEqual([cut['status'], cut.severity], ['Failure', 'Medium']);
  });
});

describe('RecordBuilder: findings, auth, lifecycle', () => {
  it('an edge refusal is HTTP Activity (4002), denied and blocked, with what the request claimed', () => {
    const e = none.refusal({ time: 9, code: 'origin_forbidden', status: 403, httpMethod: 'POST', path: '/mcp', origin: 'https://evil.example', host: 'gw.internal:8080', client: { address: '10.0.0.7', userAgent: 'Mozilla/5.0' } });
    assert.deepEqual([e.class_uid, e['type_uid'], e['activity_name'], e['disposition'], e['action'], e['status_code']], [4002, 400206, 'Post', 'Blocked', 'Denied', 'origin_forbidden']);
    assert.deepEqual(e['http_request'], { http_method: 'POST', url: { path: '/mcp', hostname: 'gw.internal', port: 8080 }, user_agent: 'Mozilla/5.0' });
    assert.deepEqual(e['http_response'], { code: 403 });
    assert.deepEqual(e.unmapped, { kind: 'refusal', reason: 'origin_forbidden', origin: 'https://evil.example', host: 'gw.internal:8080' });
    const odd = none.refusal({ time: 9, code: 'host_forbidden', status: 403, httpMethod: 'PATCH', path: '/', host: '[::1]:3000' });
    assert.equal(odd['activity_name'], 'Other');
    assert.deepEqual((odd['http_request'] as { url: unknown }).url, { path: '/', hostname: '[::1]', port: 3000 });
  });

  it('one Data Security Finding (2006) per type, with locations and never the matched text', () => {
    const fs = none.findings({ context: ctx, time: 5, inspector: 'redact', direction: 's2c', action: 'redacted', findings: [
      { type: 'aws-access-key', pointer: '/result/content/0/text', start: 10, end: 30 },
      { type: 'email', pointer: '/result/content/1/text', start: 0, end: 17 },
      { type: 'aws-access-key', pointer: '/result/content/2/text', start: 4, end: 24 },
    ] });
    assert.equal(fs.length, 2);
    const aws = fs[0]!;
    assert.deepEqual([aws.class_uid, aws.category_uid, aws.type_uid, aws['count'], aws['action'], aws['disposition']], [2006, 2, 200601, 2, 'Modified', 'Corrected']);
    assert.deepEqual(aws['data_security'], { detection_pattern: 'aws-access-key', detection_system_id: 2, detection_system: 'DLP Gateway', data_lifecycle_state_id: 2, data_lifecycle_state: 'Data in-Transit' });
    assert.deepEqual((aws['finding_info'] as { types: string[] }).types, ['aws-access-key']);
    assert.deepEqual(aws.unmapped['locations'], [{ pointer: '/result/content/0/text', start: 10, end: 30 }, { pointer: '/result/content/2/text', start: 4, end: 24 }]);
    assert.equal('pattern_match' in (aws['data_security'] as object), false);
  });

  it('Authentication (3002): success and failure, protocol mapped, no token or claims', () => {
    const ok = none.auth({ time: 1, outcome: 'success', method: 'jwt', principal: ctx.principal, route: 'mcp', client: { address: '10.0.0.1' } });
    assert.deepEqual([ok.class_uid, ok.type_uid, ok['auth_protocol'], ok['status']], [3002, 300201, 'OAUTH 2.0', 'Success']);
    assert.equal((ok['user'] as { uid: string }).uid, 'alice');
    assert.deepEqual(ok.unmapped['scopes'], ['files:read']);
    assert.ok(!JSON.stringify(ok).includes(TOKEN));
    const bad = none.auth({ time: 1, outcome: 'failure', method: 'api-key', reason: 'invalid_token', route: 'mcp' });
    assert.deepEqual([bad['status'], bad['status_detail'], bad['auth_protocol_id'], bad.severity], ['Failure', 'invalid_token', 99, 'Medium']);
  });

  it('Application Lifecycle (6002): start, stop, reload with the controls in force', () => {
    const start = none.lifecycle({ time: 1, activity: 'start', policyVersion: 'p-3', controls: [{ name: 'posture', detail: 'fail-closed' }] });
    assert.deepEqual([start.class_uid, start.activity_id, start.type_uid], [6002, 3, 600203]);
    assert.deepEqual(start.unmapped['controls'], [{ name: 'posture', detail: 'fail-closed' }]);
    assert.equal(none.lifecycle({ time: 1, activity: 'stop' }).activity_name, 'Stop');
    assert.deepEqual([none.lifecycle({ time: 1, activity: 'reload' }).activity_id, none.lifecycle({ time: 1, activity: 'reload' }).activity_name], [99, 'Reload Configuration']);
  });

  it('refuses a digest key shorter than 16 bytes', () => {
    assert.throws(() => new Digester(Buffer.alloc(8)), /at least 16 bytes/);
  });
});

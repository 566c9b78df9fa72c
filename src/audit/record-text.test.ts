import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chain, recordHash } from './chain.ts';
import { Digester } from './digest.ts';
import { RecordBuilder, type ExchangeContext } from './record.ts';
import { recordText } from './record-text.ts';

/**
 * The exact JSON text of records as the builders and chain wrote them before they were tuned for
 * speed (record.ts builds attribute by attribute, digest.ts computes HMAC from one-shot hashes,
 * chain.ts hashes in one shot): the same facts must still give these bytes, or trails written
 * before and after would differ for the same facts.
 */
const GOLDEN = [
  "{\"class_uid\":6003,\"class_name\":\"API Activity\",\"category_uid\":6,\"category_name\":\"Application Activity\",\"activity_id\":99,\"activity_name\":\"Other\",\"type_uid\":600399,\"type_name\":\"API Activity: Other\",\"severity_id\":3,\"severity\":\"Medium\",\"time\":1000,\"metadata\":{\"version\":\"1.5.0\",\"product\":{\"name\":\"Portcullis\",\"vendor_name\":\"Portcullis\",\"version\":\"0.1.0\"},\"uid\":\"uid-1\",\"correlation_uid\":\"ex-1\",\"log_name\":\"audit\",\"profiles\":[\"security_control\"],\"event_code\":\"tools/call\",\"sequence\":1},\"unmapped\":{\"kind\":\"exchange\",\"era\":\"legacy\",\"route\":\"mcp\",\"verdict\":\"block\",\"reasons\":[\"policy/tool-denied\",\"x\"],\"inspectors\":[{\"name\":\"policy\",\"verdict\":\"block\",\"reasons\":[\"policy/tool-denied\"],\"duration_ms\":0.424,\"direction\":\"c2s\"},{\"name\":\"dlp\",\"verdict\":\"allow\",\"duration_ms\":1,\"failed\":true}],\"inspectors_dropped\":2,\"approval\":{\"outcome\":\"denied\",\"channel\":\"queue\",\"by\":\"op\"},\"finding_types\":[\"aws\",\"email\"],\"digests\":{\"key_id\":\"8c0cc17a04942cc4\",\"arguments\":\"hmac-sha256:Z1sJYRACTgJt3SeHbdKSp24-5Ny5SDFIzKgQQTNSR4Y\",\"result\":\"hmac-sha256:4CUagL-gOfRDQk0L2pDDLVhUuk8ZIb-U1t04hfz8r7g\",\"result_bytes\":\"hmac-sha256-bytes:pd5i0w1_lkt39OY4P2bFR5xVUOdKzt84RwaoAvuk_M8\"},\"bytes\":{\"request\":120},\"partial\":true,\"cause\":\"shutdown\",\"batch\":{\"size\":3,\"elements\":2,\"ids\":[7,\"b\"],\"unrecorded\":1},\"notes\":{\"n\":1}},\"actor\":{\"user\":{\"uid\":\"alice\",\"type\":\"User\",\"credential_uid\":\"cred-1\",\"auth_method\":\"jwt\"},\"app_uid\":\"cli-app\",\"app_name\":\"claude-code\",\"idp\":{\"name\":\"https://idp.example\"},\"session\":{\"uid\":\"hmac-sha256:Z_V8PH01NHO1B8GUpjQbluiRrAq1oDNsd4cXPZZIIFE\"}},\"api\":{\"operation\":\"tools/call\",\"request\":{\"uid\":\"7\",\"data\":{\"q\":\"[REDACTED]\"}},\"service\":{\"name\":\"files\",\"version\":\"2025-06-18\"},\"version\":\"2025-06-18\",\"response\":{\"error\":\"policy_denied\",\"code\":502,\"data\":\"r\"}},\"src_endpoint\":{\"ip\":\"10.0.0.7\",\"name\":\"claude-code\",\"agent_list\":[{\"name\":\"claude-code\",\"version\":\"1.2.3\"}]},\"dst_endpoint\":{\"svc_name\":\"files\",\"hostname\":\"files.internal\",\"port\":8443},\"http_request\":{\"user_agent\":\"ua/1\"},\"resources\":[{\"type\":\"tool\",\"name\":\"read_file\"}],\"policy\":{\"name\":\"portcullis\",\"version\":\"p-3\"},\"status_id\":2,\"status\":\"Failure\",\"status_code\":\"policy_denied\",\"status_detail\":\"policy/tool-denied x\",\"start_time\":1000,\"end_time\":1250,\"duration\":250,\"action_id\":2,\"action\":\"Denied\",\"disposition_id\":2,\"disposition\":\"Blocked\",\"is_alert\":true,\"seq\":1,\"prev_hash\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"hash\":\"5d6f34e4e37996b200d26352d3ba2a902fc8baec649797628767b34fd5229264\"}",
  "{\"class_uid\":6003,\"class_name\":\"API Activity\",\"category_uid\":6,\"category_name\":\"Application Activity\",\"activity_id\":99,\"activity_name\":\"Other\",\"type_uid\":600399,\"type_name\":\"API Activity: Other\",\"severity_id\":1,\"severity\":\"Informational\",\"time\":2000,\"metadata\":{\"version\":\"1.5.0\",\"product\":{\"name\":\"Portcullis\",\"vendor_name\":\"Portcullis\",\"version\":\"0.1.0\"},\"uid\":\"uid-2\",\"correlation_uid\":\"ex-2\",\"log_name\":\"audit\",\"profiles\":[\"security_control\"],\"event_code\":\"tools/call\",\"sequence\":2},\"unmapped\":{\"kind\":\"exchange\",\"era\":\"modern\",\"route\":\"default\",\"verdict\":\"allow\",\"digests\":{\"key_id\":\"8c0cc17a04942cc4\",\"arguments\":\"hmac-sha256:Y38MUhR6V-A31JV3oUeIG_8JEIjUPLQCcd5k1pQuyXQ\",\"result_bytes\":\"hmac-sha256-bytes:DCUImZsLHWIcjP5sRWQ2pLrnzvH9thSazeN-DsYgeIU\"},\"bytes\":{\"request\":300,\"response\":296}},\"actor\":{\"user\":{\"uid\":\"anonymous\",\"type\":\"Unknown\",\"auth_method\":\"none\"}},\"api\":{\"operation\":\"tools/call\",\"request\":{\"uid\":\"1\"},\"service\":{\"name\":\"default\",\"version\":\"2026-07-28\"},\"version\":\"2026-07-28\",\"response\":{\"code\":200}},\"src_endpoint\":{\"ip\":\"127.0.0.1\"},\"dst_endpoint\":{\"svc_name\":\"default\",\"hostname\":\"127.0.0.1\",\"port\":1},\"http_request\":{\"user_agent\":\"undici\"},\"resources\":[{\"type\":\"tool\",\"name\":\"echo\"}],\"status_id\":1,\"status\":\"Success\",\"start_time\":2000,\"end_time\":2003,\"duration\":3,\"action_id\":1,\"action\":\"Allowed\",\"disposition_id\":1,\"disposition\":\"Allowed\",\"seq\":2,\"prev_hash\":\"5d6f34e4e37996b200d26352d3ba2a902fc8baec649797628767b34fd5229264\",\"hash\":\"e047d65d1a5395cd4d7dca4b16a912a136c93fd30b85a81520c666719ed21b07\"}",
  "{\"class_uid\":6003,\"class_name\":\"API Activity\",\"category_uid\":6,\"category_name\":\"Application Activity\",\"activity_id\":99,\"activity_name\":\"Other\",\"type_uid\":600399,\"type_name\":\"API Activity: Other\",\"severity_id\":2,\"severity\":\"Low\",\"time\":3000,\"metadata\":{\"version\":\"1.5.0\",\"product\":{\"name\":\"Portcullis\",\"vendor_name\":\"Portcullis\",\"version\":\"0.1.0\"},\"uid\":\"uid-3\",\"correlation_uid\":\"ex-3\",\"log_name\":\"audit\",\"profiles\":[\"security_control\"],\"event_code\":\"ping\",\"sequence\":3},\"unmapped\":{\"kind\":\"exchange\",\"era\":\"unknown\",\"route\":\"r\",\"verdict\":\"error\",\"digests\":{\"key_id\":\"8c0cc17a04942cc4\"},\"partial\":true,\"cause\":\"client-disconnect\"},\"actor\":{\"user\":{\"uid\":\"bob\",\"type\":\"User\",\"auth_method\":\"api-key\"}},\"api\":{\"operation\":\"ping\",\"request\":{},\"service\":{\"name\":\"r\"}},\"src_endpoint\":{},\"status_id\":99,\"status\":\"Cancelled\",\"status_detail\":\"client-disconnect\",\"action_id\":2,\"action\":\"Denied\",\"disposition_id\":25,\"disposition\":\"Rejected\",\"is_alert\":false,\"seq\":3,\"prev_hash\":\"e047d65d1a5395cd4d7dca4b16a912a136c93fd30b85a81520c666719ed21b07\",\"hash\":\"add60e913b7e75edeee41c4098abb43dd48d0e3dab42f72345e1265fbe5d9c55\"}",
  "{\"class_uid\":6003,\"class_name\":\"API Activity\",\"category_uid\":6,\"category_name\":\"Application Activity\",\"activity_id\":99,\"activity_name\":\"Other\",\"type_uid\":600399,\"type_name\":\"API Activity: Other\",\"severity_id\":2,\"severity\":\"Low\",\"time\":11,\"metadata\":{\"version\":\"1.5.0\",\"product\":{\"name\":\"Portcullis\",\"vendor_name\":\"Portcullis\",\"version\":\"0.1.0\"},\"uid\":\"uid-4\",\"correlation_uid\":\"ex-1\",\"log_name\":\"audit\",\"event_code\":\"tools/call\",\"profiles\":[\"security_control\"],\"sequence\":4},\"unmapped\":{\"kind\":\"stream\",\"era\":\"legacy\",\"route\":\"mcp\",\"verdict\":\"redact\",\"stream\":{\"id\":\"s1\",\"phase\":\"segment\",\"first_index\":0,\"count\":3,\"digest\":\"hmac-sha256:S6HhX7y4arr8hU2U5gJ1GYDOsa7dnS4O2FPxewQH39M\"}},\"actor\":{\"user\":{\"uid\":\"alice\",\"type\":\"User\",\"credential_uid\":\"cred-1\",\"auth_method\":\"jwt\"},\"app_uid\":\"cli-app\",\"app_name\":\"claude-code\",\"idp\":{\"name\":\"https://idp.example\"},\"session\":{\"uid\":\"hmac-sha256:Z_V8PH01NHO1B8GUpjQbluiRrAq1oDNsd4cXPZZIIFE\"}},\"api\":{\"operation\":\"tools/call\",\"request\":{\"uid\":\"7\"},\"service\":{\"name\":\"files\",\"version\":\"2025-06-18\"},\"version\":\"2025-06-18\"},\"src_endpoint\":{\"ip\":\"10.0.0.7\",\"name\":\"claude-code\",\"agent_list\":[{\"name\":\"claude-code\",\"version\":\"1.2.3\"}]},\"dst_endpoint\":{\"svc_name\":\"files\",\"hostname\":\"files.internal\",\"port\":8443},\"http_request\":{\"user_agent\":\"ua/1\"},\"resources\":[{\"type\":\"tool\",\"name\":\"read_file\"}],\"policy\":{\"name\":\"portcullis\",\"version\":\"p-3\"},\"action_id\":4,\"action\":\"Modified\",\"disposition_id\":11,\"disposition\":\"Corrected\",\"seq\":4,\"prev_hash\":\"add60e913b7e75edeee41c4098abb43dd48d0e3dab42f72345e1265fbe5d9c55\",\"hash\":\"d3d5ea2141ddb2194de30a6888e3e9f04701c0a4fdb50d770f1efa318b814a7b\"}",
];

function build(): string[] {
  let n = 0;
  const b = new RecordBuilder({ digester: new Digester(Buffer.alloc(32, 9)), includeContent: 'redacted', newId: () => `uid-${++n}` });
  const ctx: ExchangeContext = {
    exchangeId: 'ex-1',
    principal: { subject: 'alice', method: 'jwt', issuer: 'https://idp.example', clientId: 'cli-app', scopes: ['files:read'], credentialId: 'cred-1' },
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
  const chain = new Chain();
  return [
    b.exchange({
      ...ctx,
      time: 1000.5,
      endTime: 1250,
      verdict: 'block',
      reasons: ['policy/tool-denied', 'x'],
      errorCode: 'policy_denied',
      inspectors: [
        { name: 'policy', verdict: 'block', reasons: ['policy/tool-denied'], durationMs: 0.4242, direction: 'c2s' },
        { name: 'dlp', verdict: 'allow', durationMs: 1, failed: true },
      ],
      inspectorsDropped: 2,
      approval: { outcome: 'denied', channel: 'queue', by: 'op' },
      findingTypes: ['aws', 'email', 'aws'],
      arguments: { b: 1, a: '\u00e9\ud800' },
      result: { ok: true },
      resultBytes: [new TextEncoder().encode('{"jsonrpc":"2.0"}')],
      redacted: { arguments: { q: '[REDACTED]' }, result: 'r' },
      bytes: { request: 120, response: Number.NaN },
      upstreamStatus: 502,
      partial: true,
      cause: 'shutdown',
      batch: { size: 3, elements: 2, ids: [7, 'b'], unrecorded: 1 },
      notes: { n: 1 },
    }),
    b.exchange({
      exchangeId: 'ex-2',
      principal: { subject: 'anonymous', method: 'none' },
      client: { address: '127.0.0.1', userAgent: 'undici' },
      route: 'default',
      upstream: { name: 'default', url: 'http://127.0.0.1:1/mcp' },
      era: 'modern',
      protocolVersion: '2026-07-28',
      method: 'tools/call',
      rpcId: 1,
      target: { type: 'tool', name: 'echo' },
      time: 2000,
      endTime: 2003,
      verdict: 'allow',
      bytes: { request: 300, response: 296 },
      upstreamStatus: 200,
      arguments: { text: 'hi' },
      resultBytes: [new TextEncoder().encode('{"result":{}}')],
    }),
    b.exchange({ exchangeId: 'ex-3', principal: { subject: 'bob', method: 'api-key' }, route: 'r', era: 'unknown', method: 'ping', time: 3000, verdict: 'error', partial: true, cause: 'client-disconnect' }),
    b.stream({ context: ctx, time: 11, streamId: 's1', phase: 'segment', firstIndex: 0, count: 3, verdict: 'redact', messages: [{ a: 1 }] }),
  ].map((e) => recordText(chain.link(e)));
}

describe('record text', () => {
  it('is byte for byte what earlier versions wrote for the same facts', () => {
    const texts = build();
    assert.equal(texts.length, GOLDEN.length);
    texts.forEach((t, i) => assert.equal(t, GOLDEN[i], `record ${i + 1}`));
    for (const t of texts) assert.equal(recordHash(JSON.parse(t)), (JSON.parse(t) as { hash: string }).hash);
  });

  it('travels with the record only: not in its JSON, keys or copies', () => {
    const rec = new Chain().link(new RecordBuilder({ digester: new Digester(Buffer.alloc(32, 1)), includeContent: 'none' }).lifecycle({ time: 1, activity: 'start' }));
    const text = recordText(rec);
    assert.equal(text, JSON.stringify(rec));
    assert.deepEqual(Object.keys(rec), Object.keys(JSON.parse(text) as object));
    assert.deepEqual(rec, JSON.parse(text), 'a record read back equals the one written');
    const copy = { ...rec, time: 2 };
    assert.equal(recordText(copy), JSON.stringify(copy), 'a changed copy gets its own text');
  });
});

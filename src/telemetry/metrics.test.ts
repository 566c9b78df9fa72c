import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayMetrics, foldMethod, statusClass } from './metrics.ts';

/** Sample lines of a Prometheus text exposition, `name{labels}` → value. */
async function samples(m: GatewayMetrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await m.metricsText()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

describe('GatewayMetrics', () => {
  it('exposes every named metric with its labels after observations', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    m.observeRequest('main', 'tools/call', 'modern', 200, 0.003);
    m.observeUpstream('main', 0.002);
    m.streamOpened('main', 'post-sse');
    m.sseEvent('main', 's2c', 3);
    m.countVerdict('policy', { kind: 'block', reasons: ['policy/tool-denied', 'policy/other-rule'] });
    m.observeInspector('policy', 0.0001);
    m.countError('upstream_timeout');
    m.setSessions('legacy', 4);
    m.configReload('ok');
    const s = await samples(m);

    assert.equal(s.get('portcullis_requests_total{route="main",method="tools/call",era="modern",status="2xx"}'), 1);
    assert.equal(s.get('portcullis_request_duration_seconds_count{route="main",method="tools/call",era="modern"}'), 1);
    assert.equal(s.get('portcullis_request_duration_seconds_bucket{le="0.005",route="main",method="tools/call",era="modern"}'), 1);
    assert.equal(s.get('portcullis_request_duration_seconds_bucket{le="0.0005",route="main",method="tools/call",era="modern"}'), 0);
    assert.equal(s.get('portcullis_request_duration_seconds_bucket{le="300",route="main",method="tools/call",era="modern"}'), 1);
    assert.equal(s.get('portcullis_upstream_duration_seconds_count{route="main"}'), 1);
    assert.equal(s.get('portcullis_open_streams{route="main",kind="post-sse"}'), 1);
    assert.equal(s.get('portcullis_sse_events_total{route="main",direction="s2c"}'), 3);
    // One count per verdict, under its first reason.
    assert.equal(s.get('portcullis_verdicts_total{inspector="policy",verdict="block",reason="policy/tool-denied"}'), 1);
    assert.equal(s.get('portcullis_verdicts_total{inspector="policy",verdict="block",reason="policy/other-rule"}'), undefined);
    assert.equal(s.get('portcullis_inspector_duration_seconds_count{inspector="policy"}'), 1);
    assert.equal(s.get('portcullis_errors_total{code="upstream_timeout"}'), 1);
    assert.equal(s.get('portcullis_sessions{era="legacy"}'), 4);
    assert.equal(s.get('portcullis_sessions{era="modern"}'), 0);
    assert.equal(s.get('portcullis_config_reloads_total{result="ok"}'), 1);
  });

  it('folds unknown MCP methods, including made-up notifications, to "other"', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    m.observeRequest('main', 'tools/call', 'legacy', 200, 0.01);
    m.observeRequest('main', 'notifications/initialized', 'legacy', 202, 0.01);
    m.observeRequest('main', 'x-evil/' + 'a'.repeat(40), 'legacy', 200, 0.01);
    m.observeRequest('main', 'notifications/made-up-1', 'legacy', 200, 0.01);
    m.observeRequest('main', 'tasks/made-up-2', 'legacy', 200, 0.01);
    const s = await samples(m);
    const methods = [...s.keys()]
      .filter((k) => k.startsWith('portcullis_requests_total{'))
      .map((k) => /method="([^"]*)"/.exec(k)?.[1]);
    assert.deepEqual(methods.sort(), ['notifications/initialized', 'other', 'tools/call']);
    assert.equal(s.get('portcullis_requests_total{route="main",method="other",era="legacy",status="2xx"}'), 3);
  });

  it('folds methods and statuses through a closed list', () => {
    for (const known of ['initialize', 'server/discover', 'subscriptions/listen', 'resources/templates/list', 'tasks/get']) {
      assert.equal(foldMethod(known), known);
    }
    assert.equal(foldMethod('TOOLS/CALL'), 'other');
    assert.equal(foldMethod(''), 'other');
    assert.equal(foldMethod(undefined), 'other');
    assert.equal(statusClass(200), '2xx');
    assert.equal(statusClass(404), '4xx');
    assert.equal(statusClass(599), '5xx');
    assert.equal(statusClass(42), 'other');
    assert.equal(statusClass(600), 'other');
    assert.equal(statusClass(200.5), 'other');
  });

  it('caps configuration-derived label values and folds closed labels given wire values', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false, maxLabelValues: 2 });
    m.observeRequest('a', 'ping', 'modern', 200, 0.001);
    m.observeRequest('b', 'ping', 'modern', 200, 0.001);
    m.observeRequest('c', 'ping', 'modern', 200, 0.001);
    m.observeRequest('a', 'ping', 'modern', 200, 0.001);
    m.observeRequest('a', 'ping', 'bogus' as never, 200, 0.001);
    m.countError('no_such_code');
    m.countVerdict('x', { kind: 'maybe' as never });
    const s = await samples(m);
    assert.equal(s.get('portcullis_requests_total{route="a",method="ping",era="modern",status="2xx"}'), 2);
    assert.equal(s.get('portcullis_requests_total{route="other",method="ping",era="modern",status="2xx"}'), 1);
    assert.equal(s.get('portcullis_requests_total{route="a",method="ping",era="other",status="2xx"}'), 1);
    assert.equal(s.get('portcullis_errors_total{code="other"}'), 1);
    assert.equal(s.get('portcullis_verdicts_total{inspector="x",verdict="other",reason="none"}'), 1);
  });

  it('closes a stream or session exactly once however often the closer is called', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    const closeA = m.streamOpened('main', 'get-sse');
    m.streamOpened('main', 'get-sse');
    closeA();
    closeA();
    closeA();
    const endSession = m.sessionOpened('legacy');
    endSession();
    endSession();
    const s = await samples(m);
    assert.equal(s.get('portcullis_open_streams{route="main",kind="get-sse"}'), 1);
    assert.equal(s.get('portcullis_sessions{era="legacy"}'), 0);
  });

  it('counts a request even when its duration is not a valid number, without throwing', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    m.observeRequest('main', 'ping', 'modern', 200, Number.NaN);
    m.observeRequest('main', 'ping', 'modern', 200, -1);
    m.observeUpstream('main', Number.POSITIVE_INFINITY);
    m.sseEvent('main', 'c2s', -5);
    m.setSessions('modern', -1);
    const s = await samples(m);
    assert.equal(s.get('portcullis_requests_total{route="main",method="ping",era="modern",status="2xx"}'), 2);
    assert.equal(s.get('portcullis_request_duration_seconds_count{route="main",method="ping",era="modern"}'), undefined);
    assert.equal(s.get('portcullis_sse_events_total{route="main",direction="c2s"}'), undefined);
    assert.equal(s.get('portcullis_sessions{era="modern"}'), 0);
  });

  it('keeps instances independent, each with its own process metrics', async () => {
    const a = new GatewayMetrics();
    const b = new GatewayMetrics();
    a.configReload('error');
    const textA = await a.metricsText();
    const textB = await b.metricsText();
    assert.match(textA, /^portcullis_config_reloads_total\{result="error"\} 1$/m);
    assert.doesNotMatch(textB, /portcullis_config_reloads_total\{/);
    assert.match(textB, /^portcullis_process_cpu_user_seconds_total /m);
    assert.match(a.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it('rejects a nonsensical label cap with a clear error', () => {
    assert.throws(() => new GatewayMetrics({ defaultMetrics: false, maxLabelValues: 0 }), /maxLabelValues/);
  });
});

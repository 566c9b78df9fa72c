/**
 * Server → client input through the gateway, in both eras.
 *
 * 2025-11-25: the upstream tool sends a real `elicitation/create` / `sampling/createMessage`
 * JSON-RPC request inside the SSE stream of the client's `tools/call` POST; the v1 client's
 * handler answers with a POST of its own (a JSON-RPC response, which the gateway must route to
 * the upstream session), and the tool result carries the answer.
 *
 * 2026-07-28: no server→client requests exist; the tool answers `resultType: "input_required"`
 * with an embedded elicitation and opaque `requestState`; the v2 client fulfils it through its
 * `elicitation/create` handler and retries with `inputResponses` and the echoed state on a new
 * request id (basic/patterns/mrtr). The gateway must pass `resultType`, `inputRequests` and
 * `requestState` through untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { startTestGateway, POLICY_INSPECTORS } from './support/sdk-gateway.ts';
import { startV1Upstream } from './support/sdk-v1-upstream.ts';
import { startV2Upstream } from './support/sdk-v2-upstream.ts';

const textOf = (r: object): string => {
  const first = ((r as { content?: unknown }).content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
};

for (const withInspectors of [false, true]) {
  const label = withInspectors ? 'with inspectors' : 'no inspectors';

  describe(`2025-11-25 server→client requests on the POST's SSE stream (${label})`, () => {
    it('round-trips elicitation/create and sampling/createMessage through the client handlers', async () => {
      const upstream = await startV1Upstream({ jsonResponse: false });
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V1Client({ name: 'sdk-server-requests', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
      const asked: string[] = [];
      const prompts: string[] = [];
      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(req.params.message);
        return { action: 'accept', content: { answer: 'Lovelace' } };
      });
      client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
        const c = req.params.messages[0]?.content as { type: string; text?: string };
        prompts.push(c.text ?? '');
        return { role: 'assistant', content: { type: 'text', text: 'Hi there' }, model: 'fake-model', stopReason: 'endTurn' };
      });
      try {
        await client.connect(new V1Transport(gw.mcpUrl));

        const e = await client.callTool({ name: 'ask_user', arguments: { question: 'Surname?' } });
        assert.deepEqual(asked, ['Surname?'], 'the elicitation reached the client handler once');
        assert.equal(textOf(e), 'user said: Lovelace');

        const s = await client.callTool({ name: 'sample', arguments: { prompt: 'Say hi' } });
        assert.deepEqual(prompts, ['Say hi']);
        assert.equal(textOf(s), 'model fake-model said: Hi there');

        assert.deepEqual(upstream.probe.serverRequests, ['elicitation/create', 'sampling/createMessage']);
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });
  });

  describe(`2026-07-28 input_required / requestState round trip (${label})`, () => {
    it('fulfils an embedded elicitation and retries with the echoed requestState', async () => {
      const upstream = await startV2Upstream();
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V2Client(
        { name: 'sdk-server-requests', version: '2.0.0' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { form: {} } } },
      );
      const asked: string[] = [];
      client.setRequestHandler('elicitation/create', async (req) => {
        asked.push(req.params.message);
        return { action: 'accept', content: { reason: 'it is Friday' } };
      });
      try {
        await client.connect(new V2Transport(gw.mcpUrl));
        const r = await client.callTool({ name: 'confirm', arguments: { action: 'deploy' } });
        assert.deepEqual(asked, ['Why do you want to deploy?'], 'the embedded request reached the elicitation handler');
        assert.equal(textOf(r), 'deploy confirmed because it is Friday (state round1:deploy)');
        assert.equal(upstream.probe.confirmRounds, 2, 'one input_required round, one retry');
        assert.deepEqual(upstream.probe.requestStates, ['round1:deploy'], 'requestState came back byte-exact');
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });

    it('hands the raw input_required result to a manual-mode caller', async () => {
      const upstream = await startV2Upstream();
      const gw = await startTestGateway(upstream.url, withInspectors ? POLICY_INSPECTORS : []);
      const client = new V2Client(
        { name: 'sdk-server-requests', version: '2.0.0' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { form: {} } }, inputRequired: { autoFulfill: false } },
      );
      try {
        await client.connect(new V2Transport(gw.mcpUrl));
        const r = (await client.callTool({ name: 'confirm', arguments: { action: 'drop' } }, { allowInputRequired: true })) as unknown as {
          resultType: string;
          inputRequests: Record<string, { method: string; params: { message: string } }>;
          requestState: string;
        };
        assert.equal(r.resultType, 'input_required');
        assert.equal(r.requestState, 'round1:drop');
        assert.equal(r.inputRequests['why']?.method, 'elicitation/create');
        assert.equal(r.inputRequests['why']?.params.message, 'Why do you want to drop?');
      } finally {
        await client.close();
        await gw.close();
        await upstream.close();
      }
    });
  });
}

/**
 * A real MCP client (the official TypeScript SDK 1.x, a devDependency) against the demo upstream:
 * proves the hand-written server is acceptable to an independent implementation, in both
 * response modes, including live progress and a server→client elicitation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startDemoServer } from './server.ts';

describe('demo server with the MCP SDK 1.x client', () => {
  for (const responseMode of ['json', 'sse'] as const) {
    it(`initializes and calls echo, add and countdown (${responseMode} mode)`, async () => {
      const srv = await startDemoServer({ responseMode });
      const client = new Client({ name: 'sdk-test', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(srv.url));
      try {
        await client.connect(transport);
        assert.equal(client.getServerVersion()?.name, 'portcullis-demo');
        assert.ok(transport.sessionId, 'session id adopted by the client');

        const echo = await client.callTool({ name: 'echo', arguments: { text: 'via sdk' } });
        assert.deepEqual(echo.content, [{ type: 'text', text: 'via sdk' }]);

        // listTools first so the client validates structuredContent against add's outputSchema.
        const { tools } = await client.listTools();
        assert.ok(tools.some((t) => t.name === 'countdown'));
        const add = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
        assert.deepEqual(add.structuredContent, { sum: 3 });

        const progress: number[] = [];
        const done = await client.callTool({ name: 'countdown', arguments: { from: 3, intervalMs: 20 } }, undefined, {
          onprogress: (p) => progress.push(p.progress),
        });
        assert.deepEqual(progress, [1, 2, 3]);
        assert.deepEqual(done.content, [{ type: 'text', text: 'Countdown from 3 finished' }]);

        await transport.terminateSession();
        assert.equal(srv.stats().sessions, 0, 'DELETE ended the session');
      } finally {
        await client.close();
        await srv.close();
      }
    });
  }

  it('answers ask_user and sample through the client\'s elicitation and sampling handlers', async () => {
    const srv = await startDemoServer({});
    const client = new Client({ name: 'sdk-test', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { answer: 'Lovelace' } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: 'assistant', content: { type: 'text', text: 'Hi there' }, model: 'fake-model', stopReason: 'endTurn',
    }));
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
      const r = await client.callTool({ name: 'ask_user', arguments: { question: 'Surname?' } });
      assert.deepEqual(asked, ['Surname?']);
      assert.deepEqual(r.content, [{ type: 'text', text: 'The user said: Lovelace' }]);
      const s = await client.callTool({ name: 'sample', arguments: { prompt: 'Say hi' } });
      assert.deepEqual(s.content, [{ type: 'text', text: 'The model (fake-model) said: Hi there' }]);
    } finally {
      await client.close();
      await srv.close();
    }
  });
});

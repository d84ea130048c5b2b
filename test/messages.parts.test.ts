/**
 * The Messages API's pure parts: reading a request into koubou's conversation, writing a
 * stream that makes up what no delta brought, and the config's Claude model names.
 */
import { describe, expect, it } from 'vitest';
import { claudeModelMap } from '../actors/gateway/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { ConfigError } from '../src/core/errors.ts';
import { messagesConversation, messagesMessage, MessagesStreamWriter } from '../src/llm/anthropicCompat/index.ts';

const usage = { promptTokens: 100, cachedPromptTokens: 60, completionTokens: 7, reasoningTokens: 0 };
const events = (sse: string) => sse.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n')[1]!.slice('data: '.length)) as { type: string; [k: string]: unknown });

describe('messagesConversation', () => {
  it('reads system blocks, a system turn, tool_use as tool calls and tool_result as tool messages before the turn\'s text', () => {
    const c = messagesConversation({
      system: [{ type: 'text', text: 'be ' }, { type: 'text', text: 'brief' }],
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'cwd: /w' }] },
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'text', text: 'let me see' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Kyoto' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'rain' }], is_error: true }, { type: 'text', text: 'and now?' }] },
      ],
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }, { type: 'web_search_20250305', name: 'web_search' }],
      thinking: { type: 'enabled', budget_tokens: 2000 },
    });
    expect(c.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'system', content: 'cwd: /w' },
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: 'let me see', toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Kyoto"}' }] },
      { role: 'tool', content: '(the tool failed) rain', toolCallId: 'toolu_1' },
      { role: 'user', content: 'and now?' },
    ]);
    expect(c.tools).toEqual([{ name: 'get_weather', parameters: { type: 'object' } }]);
    expect(c.reasoningEffort).toBe('low');
  });

  it('narrows the tools by tool_choice, and names what is wrong', () => {
    const tools = [{ name: 'a', input_schema: {} }, { name: 'b', input_schema: {} }];
    const messages = [{ role: 'user', content: 'hi' }];
    expect(messagesConversation({ messages, tools, tool_choice: { type: 'tool', name: 'b' } }).tools.map((t) => t.name)).toEqual(['b']);
    expect(messagesConversation({ messages, tools, tool_choice: { type: 'none' } }).tools).toEqual([]);
    expect(() => messagesConversation({ messages, tools, tool_choice: { type: 'tool', name: 'c' } })).toThrow(/tool_choice\.name.*"c"/);
    expect(() => messagesConversation({ messages: [] })).toThrow(/'messages' must be a non-empty array/);
    expect(() => messagesConversation({ messages: [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 'x' }] }] })).toThrow(/messages\[0\]\.content\[0\].*not allowed in a assistant message/);
  });
});

describe('the Messages answer', () => {
  it('is a Message: text then tool_use blocks, cache reads apart from input_tokens', () => {
    const m = messagesMessage({ id: 'x', model: 'claude-sonnet-4-5', createdAt: 0, text: 'ok', toolCalls: [{ id: 'c1', name: 'f', arguments: '{"a":1}' }], usage });
    expect(m.content).toEqual([{ type: 'text', text: 'ok', citations: null }, { type: 'tool_use', id: 'c1', name: 'f', input: { a: 1 } }]);
    expect(m.stop_reason).toBe('tool_use');
    expect(m.usage).toMatchObject({ input_tokens: 40, cache_read_input_tokens: 60, output_tokens: 7 });
  });

  it('streams blocks one after another and makes up from the whole answer what no delta brought', () => {
    const w = new MessagesStreamWriter({ id: 'x', model: 'm' });
    const sse = w.start() + w.text('Hel') + w.toolCall({ index: 0, id: 'c1', name: 'f', arguments: '{"a"' })
      + w.finish({ id: 'x', model: 'm', createdAt: 0, text: 'Hello', toolCalls: [{ id: 'c1', name: 'f', arguments: '{"a":1}' }, { id: 'c2', name: 'g', arguments: '{}' }], usage });
    const e = events(sse);
    expect(e.map((x) => x.type)).toEqual([
      'message_start',
      'content_block_start', 'content_block_delta', // "Hel"
      'content_block_stop', 'content_block_start', 'content_block_delta', // the call, its first piece
      'content_block_delta', // the rest of its arguments, while its block is open
      'content_block_stop', 'content_block_start', 'content_block_delta', // the rest of the text, in a block of its own
      'content_block_stop', 'content_block_start', 'content_block_delta', // the call no delta brought
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const pieces = e.filter((x) => x.type === 'content_block_delta').map((x) => x.delta as { text?: string; partial_json?: string });
    expect(pieces.map((d) => d.text ?? d.partial_json)).toEqual(['Hel', '{"a"', ':1}', 'lo', '{}']);
    expect(e.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 40, cache_read_input_tokens: 60, output_tokens: 7 } });
  });
});

describe('Claude model names', () => {
  const config = loadConfig({ env: {} });
  const map = claudeModelMap(config.claude_models, config.routing.difficulty_tiers);

  it('routes claude-* and the aliases, pins haiku to the tier low-difficulty work starts on, passes koubou\'s own names', () => {
    expect(map('claude-sonnet-4-5-20250929')).toBe('koubou');
    expect(map('claude-opus-5-5')).toBe('koubou');
    expect(map('claude-haiku-4-5-20251001')).toBe(`koubou/${config.routing.difficulty_tiers.low}`);
    expect(map('claude-3-5-haiku-latest')).toBe('koubou/local');
    expect(map('sonnet')).toBe('koubou');
    expect(map('koubou/gpt5_high')).toBe('koubou/gpt5_high');
    expect(map('gpt-4o')).toBe('gpt-4o');
  });

  it('takes an exact name over a pattern, a longer pattern over a shorter', () => {
    const m = claudeModelMap({ 'claude-*': 'koubou', 'claude-opus-*': 'koubou/gpt5_high', 'claude-opus-4-1': 'medium' }, config.routing.difficulty_tiers);
    expect(m('claude-opus-5-5')).toBe('koubou/gpt5_high');
    expect(m('claude-opus-4-1')).toBe('koubou/gpt5_medium');
    expect(m('claude-sonnet-4')).toBe('koubou');
  });

  it('refuses a mapping to a tier the config does not have, naming it', () => {
    let err: unknown;
    try { loadConfig({ env: {}, overrides: { claude_models: { 'claude-*': 'koubou/gpt9' } } }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/claude_models.*koubou\/gpt9|koubou\/gpt9.*claude_models/s);
  });
});

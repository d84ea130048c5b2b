/**
 * One decision of what runs a task (executorOf) and what its attempt reserves (reservationFor),
 * and the worker's own check that a paid call is covered by that reservation (PaidCallGuard).
 */
import { describe, expect, it } from 'vitest';
import { PaidCallGuard } from '../actors/worker/PaidCallGuard.ts';
import type { WorkItem } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { buildPrompt, sentPromptTokens } from '../src/context/index.ts';
import type { TaskInput } from '../src/core/types.ts';
import { estimateWorstCase } from '../src/policy/index.ts';
import { executorOf, priceTable, reservationFor } from '../src/routing/index.ts';

const config = loadConfig({ env: {} });
const prices = priceTable(config);
const high = config.tiers.gpt5_high!;
const gpt5 = prices['gpt-5']!;
const ws = { object: 'ws-1', commit: 'a'.repeat(40), files: 1, bytes: 10, keptOut: 0 };
const task = (t: Partial<TaskInput> = {}): TaskInput & { prompt: string } => ({ taskId: 't', type: 'general', priority: 5, prompt: 'refactor this module', files: [], ...t });
const reserve = (t: TaskInput, tier = high) => reservationFor(t, tier, gpt5, 'refuse');

describe('executorOf', () => {
  it('is the submission\'s executor when it names one, else agent with a workspace and single_call without', () => {
    expect(executorOf({})).toBe('single_call');
    expect(executorOf({ workspace: ws })).toBe('agent');
    expect(executorOf({ workspace: ws, executor: 'single_call' })).toBe('single_call');
    expect(executorOf({ executor: 'agent' })).toBe('agent');
  });
});

describe('reservationFor', () => {
  it('reserves a single call with a workspace as a single call: the worst case of the prompt its worker sends', () => {
    const sent = buildPrompt({ task: task(), tier: high }).promptTokens;
    const one = estimateWorstCase(sent, high.max_output_tokens, gpt5);
    expect(reserve(task({ workspace: ws, executor: 'single_call' }))).toEqual({ executor: 'single_call', paidCalls: 1, promptTokens: sent, amountUsd: one });
    expect(reserve(task())).toEqual(reserve(task({ workspace: ws, executor: 'single_call' })));
  });

  it('reserves nothing for an agent: each of its model requests is a gateway task reserved on its own', () => {
    expect(reserve(task({ workspace: ws }))).toMatchObject({ executor: 'agent', paidCalls: 0, amountUsd: 0 });
  });

  it('counts a conversation and its tools, not the prompt, for a conversation task', () => {
    const conversation = {
      messages: [{ role: 'user' as const, content: 'long history '.repeat(2000) }, { role: 'assistant' as const, content: '', toolCalls: [{ id: 'c1', name: 'read', arguments: '{"path":"a.ts"}' }] }, { role: 'tool' as const, content: 'x', toolCallId: 'c1' }],
      tools: [{ name: 'read', description: 'reads a file '.repeat(50), parameters: { type: 'object' } }],
    };
    const r = reserve(task({ prompt: 'hi', conversation }));
    expect(r.promptTokens).toBe(sentPromptTokens(conversation.messages, conversation.tools));
    expect(r.promptTokens).toBeGreaterThan(sentPromptTokens(conversation.messages, []) + 100);
    expect(r.promptTokens).toBeGreaterThan(sentPromptTokens([{ role: 'user', content: 'hi' }]) + 4000);
  });

  it('reserves max_calls_per_attempt calls on a cloud tier, nothing on a free one', () => {
    expect(reserve(task(), { ...high, max_calls_per_attempt: 3 }).amountUsd).toBeCloseTo(3 * reserve(task()).amountUsd, 12);
    expect(reserve(task(), config.tiers.local!)).toMatchObject({ paidCalls: 0, amountUsd: 0 });
  });

  it('reserves a prompt too large for the window at the whole window', () => {
    const tiny = { ...high, context_window: 200, max_output_tokens: 100 };
    expect(reserve(task({ prompt: 'word '.repeat(500) }), tiny).promptTokens).toBe(200);
  });
});

describe('PaidCallGuard', () => {
  const item = (w: Partial<WorkItem> = {}): WorkItem => ({
    taskId: 't', attempt: 1, tier: 'gpt5_high', type: 'general', priority: 5, prompt: 'p', files: [], reservationId: 't:gpt5_high:1', dispatchedAt: new Date().toISOString(), ...w,
  });
  const messages = [{ role: 'user' as const, content: 'refactor this module' }];
  const worst = estimateWorstCase(sentPromptTokens(messages), high.max_output_tokens, gpt5);

  it('refuses a paid call with no reservation, naming the task and tier', () => {
    expect(() => new PaidCallGuard(item({ reservationId: null }), high, prices).admit({ messages, maxOutputTokens: 10 }))
      .toThrow(expect.objectContaining({ code: 'UNRESERVED_CALL', message: expect.stringMatching(/task t attempt 1: no budget reservation for a paid call on gpt5_high/) }));
  });

  it('admits a call whose worst case fits what is left of the reservation, and refuses the next that would pass it', () => {
    const guard = new PaidCallGuard(item({ reservedUsd: worst * 1.5 }), high, prices);
    expect(guard.admit({ messages, maxOutputTokens: high.max_output_tokens })).toBe(high.max_output_tokens);
    guard.spent(worst);
    expect(() => guard.admit({ messages, maxOutputTokens: high.max_output_tokens })).toThrow(expect.objectContaining({ code: 'RESERVATION_EXCEEDED' }));
  });

  it('caps the output at the tier\'s max_output_tokens, the cap the reservation was made for', () => {
    const guard = new PaidCallGuard(item({ reservedUsd: worst }), high, prices);
    expect(guard.admit({ messages, maxOutputTokens: high.max_output_tokens * 4 })).toBe(high.max_output_tokens);
  });

  it('checks nothing on a free tier', () => {
    const guard = new PaidCallGuard(item({ tier: 'local', reservationId: null }), config.tiers.local!, prices);
    expect(guard.admit({ messages, maxOutputTokens: 100 })).toBe(100);
  });
});

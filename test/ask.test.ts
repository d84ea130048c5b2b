/**
 * The ask of a task: which text difficulty, type and summary are judged on. Conversations here
 * are written the way the clients write them (data/clients holds what they really sent;
 * test/routing.clients.test.ts routes those).
 */
import { describe, expect, it } from 'vitest';
import type { TaskEventMessage } from '../src/bus/index.ts';
import { formatEvent } from '../src/cli/followTask.ts';
import type { Conversation, ConversationMessage } from '../src/core/types.ts';
import { askOf, askSummary, askType, conversationType, evaluateDifficulty, judgeDifficulty, unwrapUserMessage } from '../src/policy/index.ts';

const BOILERPLATE = 'You are a coding agent. You handle concurrent, parallel and distributed work, architectural refactoring and algorithm optimization.';
const conv = (...messages: ConversationMessage[]): Conversation => ({ messages, tools: [] });
const task = (conversation: Conversation) => ({ type: 'general' as const, prompt: conversation.messages.map((m) => m.content).join('\n'), files: [], conversation });

describe('unwrapUserMessage', () => {
  it('takes out Codex\'s AGENTS.md and environment blocks', () => {
    const u = unwrapUserMessage('# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nRefactor for concurrency.\n</INSTRUCTIONS><environment_context>\n  <cwd>/repo</cwd>\n</environment_context>\nfix a typo');
    expect(u).toEqual({ text: 'fix a typo', wrappers: ['Codex AGENTS.md instructions', 'Codex <environment_context>'] });
  });

  it('takes out system reminders and IDE context, keeps the words of an ask tag, drops opencode\'s quotes', () => {
    expect(unwrapUserMessage('<system-reminder>skills: parallel batch</system-reminder>rename x').text).toBe('rename x');
    expect(unwrapUserMessage('<ide_selection>distributed()</ide_selection> explain this').text).toBe('explain this');
    expect(unwrapUserMessage('<task>\nadd a test\n</task>\n<environment_details>files…</environment_details>')).toEqual({ text: 'add a test', wrappers: ['Cline <environment_details>', '<task>'] });
    expect(unwrapUserMessage('"fix a typo in README.md"').text).toBe('fix a typo in README.md');
  });

  it('leaves plain words alone, angle brackets included', () => {
    expect(unwrapUserMessage('make List<T> generic')).toEqual({ text: 'make List<T> generic', wrappers: [] });
  });
});

describe('askOf', () => {
  it('a plain task\'s ask is its prompt', () => {
    expect(askOf({ prompt: 'Design a distributed cache' })).toMatchObject({ text: 'Design a distributed cache', judged: 'the prompt', side: null });
  });

  it('judges the first and the latest user message, never system, assistant or tool text', () => {
    const ask = askOf(task(conv(
      { role: 'system', content: BOILERPLATE },
      { role: 'user', content: '<environment_context><cwd>/r</cwd></environment_context>' },
      { role: 'user', content: 'fix a typo in README.md' },
      { role: 'assistant', content: 'Reading the concurrent scheduler…', toolCalls: [{ id: 'c', name: 'shell', arguments: '{"cmd":"cat sched.go"}' }] },
      { role: 'tool', content: '// lock-free parallel scheduler', toolCallId: 'c' },
      { role: 'user', content: 'also rename the heading' },
    )));
    expect(ask.statement).toBe('fix a typo in README.md');
    expect(ask.latest).toBe('also rename the heading');
    expect(ask.text).toBe('fix a typo in README.md\n\nalso rename the heading');
    expect(ask.judged).toBe('the task statement and the latest user message; taken out: Codex <environment_context>');
    expect(askSummary(ask)).toBe('also rename the heading');
  });

  it('says so when a conversation has no user words at all', () => {
    expect(askOf(task(conv({ role: 'system', content: BOILERPLATE }))).judged).toBe('no user message (nothing to judge)');
  });
});

describe('side requests', () => {
  it.each([
    ['opencode\'s title generator', conv({ role: 'system', content: 'You are a title generator. You output ONLY a thread title.' }, { role: 'user', content: 'Design a lock-free concurrent queue' }), 'title'],
    ['Qwen Code\'s compression', conv({ role: 'system', content: 'You are the component that summarizes a conversation when its context window is about to overflow.' }, { role: 'user', content: 'parallel distributed work' }), 'summary'],
    ['a commit message request', conv({ role: 'user', content: 'Please write a concise commit message for this diff:\n+ concurrent scheduler' }), 'commit_message'],
    ['a new-topic check', conv({ role: 'system', content: 'Analyze if this message indicates a new conversation topic.' }, { role: 'user', content: 'architect the cluster' }), 'check'],
  ] as const)('%s is low whatever it carries', (_name, conversation, kind) => {
    const t = task(conversation);
    expect(askOf(t).side?.kind).toBe(kind);
    const d = judgeDifficulty(t);
    expect(d.level).toBe('low');
    expect(d.reasons.at(-1)).toMatch(/^side request: /);
    expect(askSummary(askOf(t))).toMatch(/^\[/);
  });

  it('a main turn that mentions a commit message deep in its ask is not one', () => {
    const t = task(conv({ role: 'user', content: 'Design a distributed lock service for the cluster and, once done, write a commit message for it' }));
    expect(askOf(t).side).toBeNull();
    expect(judgeDifficulty(t).level).toBe('high');
  });
});

describe('judgeDifficulty', () => {
  it('a client\'s long system prompt no longer raises a trivial ask (the whole transcript would)', () => {
    const t = task(conv({ role: 'system', content: BOILERPLATE }, { role: 'user', content: 'fix a typo in README.md' }));
    expect(evaluateDifficulty({ type: 'general', prompt: t.prompt }).level).toBe('high');
    const d = judgeDifficulty(t);
    expect(d.level).toBe('low');
    expect(d.judged).toBe('the task statement (first user message)');
    expect(d.reasons[0]).toBe('judged: the task statement (first user message)');
  });

  it('keeps counting the whole task\'s tokens (what the call costs), but weighs size on the ask', () => {
    const big = 'lorem ipsum dolor sit amet '.repeat(3_000);
    const t = task(conv({ role: 'system', content: big }, { role: 'user', content: 'rename the helper' }));
    const d = judgeDifficulty(t);
    expect(d.tokens).toBeGreaterThan(8_000);
    expect(d.level).toBe('low');
    expect(d.reasons.some((r) => r.startsWith('size'))).toBe(false);
  });

  it('reads the prose of an ask, not the code pasted in it', () => {
    const d = judgeDifficulty({ type: 'general', prompt: 'add a docstring:\n```go\n// parallel distributed lock-free\nfunc f() {}\n```', files: [] });
    expect(d.level).toBe('low');
  });

  it('a plain task gains no "judged" reason: its prompt is its ask', () => {
    expect(judgeDifficulty({ type: 'general', prompt: 'refactor the parser', files: [] }).reasons[0]).toBe('type general: +1');
  });
});

describe('askType', () => {
  it.each([
    ['Add unit tests for the parser', 'testing'],
    ['review my diff', 'code_review'],
    ['update the README', 'documentation'],
    ['refactor the billing module', 'refactoring'],
    ['implement a cache', 'code_generation'],
    ['why is this slow?', 'general'],
    ['design a scalable algorithm for routing', 'general'],
  ] as const)('%j → %s', (ask, type) => expect(askType(ask)).toBe(type));

  it('a conversation\'s type comes from its ask, not its system prompt', () => {
    expect(conversationType(conv({ role: 'system', content: 'Always write tests and review your code.' }, { role: 'user', content: 'why is this slow?' }))).toBe('general');
  });
});

describe('koubou watch', () => {
  it('says what was asked on a task\'s first line, and only there', () => {
    const event = {
      taskId: 'gw-1', seq: 1, at: '2026-12-07T15:00:00.000Z', status: 'pending', state: 'ReceiveTask', reason: 'received documentation task, priority 5',
      tier: null, attempt: 0, type: 'documentation', priority: 5, sensitivity: null, difficulty: null, promptSummary: 'fix a typo in README.md',
      workerId: null, reservationId: null, error: null,
    } as const;
    expect(formatEvent(event as unknown as TaskEventMessage)).toBe('15:00:00.000 pending     ReceiveTask        received documentation task, priority 5: fix a typo in README.md');
    expect(formatEvent({ ...event, seq: 2, state: 'AnalyzeSensitivity', status: 'routing', reason: 'public' } as unknown as TaskEventMessage)).not.toContain('README');
  });
});

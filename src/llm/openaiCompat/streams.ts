/**
 * Streamed answers, written as the model's output arrives: Chat Completions chunks and
 * Responses API events. A writer takes deltas (text, pieces of tool calls) and, at the end,
 * the whole answer, from which it makes up whatever no delta brought (deltas travel on core
 * NATS, best effort). Pure: each method returns the SSE text to write.
 */
import type { ToolCall } from '../../core/types.ts';
import {
  chatUsage, functionCallItem, messageItem, outputItems, responseObject, responsesUsage, type Answer,
} from './responses.ts';

/** A piece of the index-th tool call. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

export interface StreamWriter {
  /** The stream's opening (sent once the task is on a tier). */
  start(): string;
  text(delta: string): string;
  toolCall(delta: ToolCallDelta): string;
  /** The rest of the answer and the stream's end, usage included. */
  finish(a: Answer): string;
  /** Ends the stream with an error the client's SDK raises. */
  fail(message: string, code: string): string;
}

/** What was streamed so far, to make up the rest from the whole answer. */
class Streamed {
  text = '';
  calls: ToolCall[] = [];
  call(d: ToolCallDelta): ToolCall {
    const c = (this.calls[d.index] ??= { id: '', name: '', arguments: '' });
    if (d.id) c.id = d.id;
    if (d.name) c.name += d.name;
    if (d.arguments) c.arguments += d.arguments;
    return c;
  }
  /** What the whole answer has that no delta brought: the rest of its text, and of each tool call. */
  rest(a: Answer): { text: string; calls: ToolCallDelta[] } {
    const after = (full: string, have: string) => (full.startsWith(have) ? full.slice(have.length) : '');
    const calls = a.toolCalls.flatMap((c, index): ToolCallDelta[] => {
      const have = this.calls[index];
      if (!have) return [{ index, id: c.id, name: c.name, arguments: c.arguments }];
      const more = after(c.arguments, have.arguments);
      return more ? [{ index, arguments: more }] : [];
    });
    return { text: after(a.text, this.text), calls };
  }
}

/** `chat.completion.chunk` events, `[DONE]` last. */
export class ChatStreamWriter implements StreamWriter {
  private readonly sent = new Streamed();
  constructor(private readonly head: Pick<Answer, 'id' | 'model' | 'createdAt'>, private readonly includeUsage: boolean) {}

  private chunk(choices: unknown[], usage?: unknown): string {
    const { id, model, createdAt } = this.head;
    return `data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: createdAt, model, choices, ...(this.includeUsage ? { usage: usage ?? null } : {}) })}\n\n`;
  }
  private delta(d: Record<string, unknown>, finish: string | null = null): string {
    return this.chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);
  }

  start(): string {
    return this.delta({ role: 'assistant', content: '' });
  }
  text(delta: string): string {
    this.sent.text += delta;
    return delta ? this.delta({ content: delta }) : '';
  }
  toolCall(d: ToolCallDelta): string {
    const before = this.sent.calls[d.index];
    this.sent.call(d);
    const first = before === undefined;
    return this.delta({ tool_calls: [{ index: d.index, ...(first ? { id: d.id ?? '', type: 'function' } : {}), function: { ...(first || d.name ? { name: d.name ?? '' } : {}), arguments: d.arguments ?? '' } }] });
  }
  finish(a: Answer): string {
    const rest = this.sent.rest(a);
    let out = this.text(rest.text) + rest.calls.map((d) => this.toolCall(d)).join('');
    out += this.delta({}, a.toolCalls.length ? 'tool_calls' : 'stop');
    if (this.includeUsage) out += this.chunk([], chatUsage(a.usage));
    return `${out}data: [DONE]\n\n`;
  }
  fail(message: string, code: string): string {
    return `data: ${JSON.stringify({ error: { message, type: 'server_error', code } })}\n\n`;
  }
}

/** Responses API events: created … output_item.added … deltas … output_item.done … completed. */
export class ResponsesStreamWriter implements StreamWriter {
  private readonly sent = new Streamed();
  private sequence = 0;
  /** Output index of the message item and of each tool call, in the order they were opened. */
  private messageIndex: number | null = null;
  private readonly callIndex = new Map<number, number>();
  private opened = 0;

  constructor(private readonly head: Pick<Answer, 'id' | 'model' | 'createdAt'>) {}

  private event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...fields })}\n\n`;
  }
  private textAt() {
    return { item_id: `msg_${this.head.id}`, output_index: this.messageIndex!, content_index: 0 };
  }

  start(): string {
    const started = responseObject(this.head, 'in_progress', [], null);
    return this.event('response.created', { response: started }) + this.event('response.in_progress', { response: started });
  }
  /** The message item, opened at its first text. */
  private openMessage(): string {
    if (this.messageIndex !== null) return '';
    this.messageIndex = this.opened++;
    return this.event('response.output_item.added', { output_index: this.messageIndex, item: messageItem(this.head.id, '', 'in_progress') })
      + this.event('response.content_part.added', { ...this.textAt(), part: { type: 'output_text', text: '', annotations: [] } });
  }
  text(delta: string): string {
    if (!delta) return '';
    const out = this.openMessage();
    this.sent.text += delta;
    return out + this.event('response.output_text.delta', { ...this.textAt(), delta });
  }
  toolCall(d: ToolCallDelta): string {
    let out = '';
    const c = this.sent.call(d);
    let index = this.callIndex.get(d.index);
    if (index === undefined) {
      index = this.opened++;
      this.callIndex.set(d.index, index);
      out += this.event('response.output_item.added', { output_index: index, item: functionCallItem(`${this.head.id}_${d.index}`, c, 'in_progress') });
    }
    if (d.arguments) out += this.event('response.function_call_arguments.delta', { item_id: `fc_${this.head.id}_${d.index}`, output_index: index, delta: d.arguments });
    return out;
  }
  finish(a: Answer): string {
    const rest = this.sent.rest(a);
    let out = this.text(rest.text) + rest.calls.map((d) => this.toolCall(d)).join('');
    // An empty answer is still a message.
    if (a.toolCalls.length === 0) out += this.openMessage();
    const done: { index: number; item: unknown; text?: string }[] = [];
    if (this.messageIndex !== null) done.push({ index: this.messageIndex, item: messageItem(a.id, a.text), text: a.text });
    a.toolCalls.forEach((c, i) => done.push({ index: this.callIndex.get(i)!, item: functionCallItem(`${a.id}_${i}`, c) }));
    done.sort((x, y) => x.index - y.index);
    for (const d of done) {
      if (d.text !== undefined) {
        out += this.event('response.output_text.done', { ...this.textAt(), text: d.text });
        out += this.event('response.content_part.done', { ...this.textAt(), part: { type: 'output_text', text: d.text, annotations: [] } });
      } else {
        const item = d.item as { id: string; arguments: string };
        out += this.event('response.function_call_arguments.done', { item_id: item.id, output_index: d.index, arguments: item.arguments });
      }
      out += this.event('response.output_item.done', { output_index: d.index, item: d.item });
    }
    const output = done.map((d) => d.item);
    return out + this.event('response.completed', { response: responseObject(a, 'completed', output.length ? output : outputItems(a), responsesUsage(a.usage)) });
  }
  fail(message: string, code: string): string {
    return this.event('response.failed', { response: responseObject(this.head, 'failed', [], null, { code, message }) });
  }
}

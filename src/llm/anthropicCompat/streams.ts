/**
 * A streamed Messages API answer: `message_start`, then content blocks one after another
 * (`content_block_start`, `content_block_delta` with `text_delta` or `input_json_delta`,
 * `content_block_stop`), then `message_delta` with the stop reason and the usage, and
 * `message_stop`. Like the OpenAI writers, it makes up from the whole answer whatever no delta
 * brought. Pure: each method returns the SSE text to write.
 */
import type { Answer, StreamWriter, ToolCallDelta } from '../openaiCompat/index.ts';
import { messageHead, messagesError, messagesUsage, stopReason, textBlock, toolUseBlock } from './responses.ts';

const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** @example new MessagesStreamWriter({ id: 'abc', model: 'claude-sonnet-4-5' }).start(); // 'event: message_start\n…' */
export class MessagesStreamWriter implements StreamWriter {
  /** The block being written: its index, and which (text, or the index-th tool call). */
  private open: { index: number; kind: 'text' | number } | null = null;
  private blocks = 0;
  private text_ = '';
  /** The arguments streamed so far of each tool call (by its index), and whether its block was opened. */
  private readonly calls = new Map<number, { id: string; name: string; args: string; opened: boolean }>();

  constructor(private readonly head: Pick<Answer, 'id' | 'model'>) {}

  start(): string {
    const usage = { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0, server_tool_use: null, service_tier: 'standard' };
    return event('message_start', { message: { ...messageHead(this.head), content: [], stop_reason: null, usage } });
  }

  private close(): string {
    if (!this.open) return '';
    const out = event('content_block_stop', { index: this.open.index });
    this.open = null;
    return out;
  }

  private openBlock(kind: 'text' | number, block: unknown): string {
    const out = this.close();
    this.open = { index: this.blocks++, kind };
    return out + event('content_block_start', { index: this.open.index, content_block: block });
  }

  text(delta: string): string {
    if (!delta) return '';
    const out = this.open?.kind === 'text' ? '' : this.openBlock('text', textBlock(''));
    this.text_ += delta;
    return out + event('content_block_delta', { index: this.open!.index, delta: { type: 'text_delta', text: delta } });
  }

  /** A tool call's block opens once its id and name are known; its arguments follow as JSON pieces. */
  toolCall(d: ToolCallDelta): string {
    const c = this.calls.get(d.index) ?? { id: '', name: '', args: '', opened: false };
    this.calls.set(d.index, c);
    if (d.id) c.id = d.id;
    if (d.name) c.name += d.name;
    let out = '';
    if (!c.opened) {
      c.opened = true;
      out += this.openBlock(d.index, toolUseBlock(c, {}));
    } else if (this.open?.kind !== d.index) {
      // Pieces of a call whose block is closed cannot be sent; the outcome has the whole call.
      return '';
    }
    if (d.arguments) {
      c.args += d.arguments;
      out += event('content_block_delta', { index: this.open!.index, delta: { type: 'input_json_delta', partial_json: d.arguments } });
    }
    return out;
  }

  finish(a: Answer): string {
    // The open tool call's rest first (a closed block cannot take more), then the text's, then calls no delta opened.
    const open = this.open?.kind;
    const openCall = typeof open === 'number' ? a.toolCalls[open] : undefined;
    const have = typeof open === 'number' ? this.calls.get(open) : undefined;
    let out = openCall && have && openCall.arguments.startsWith(have.args) ? this.toolCall({ index: open as number, arguments: openCall.arguments.slice(have.args.length) }) : '';
    out += a.text.startsWith(this.text_) ? this.text(a.text.slice(this.text_.length)) : '';
    a.toolCalls.forEach((call, index) => {
      if (!this.calls.has(index)) out += this.toolCall({ index, id: call.id, name: call.name, arguments: call.arguments });
    });
    // An empty answer is still one text block.
    if (this.blocks === 0) out += this.openBlock('text', textBlock(''));
    out += this.close();
    out += event('message_delta', { delta: { stop_reason: stopReason(a), stop_sequence: null }, usage: messagesUsage(a.usage) });
    return out + event('message_stop', {});
  }

  fail(message: string): string {
    return event('error', { error: messagesError(500, message).error });
  }
}

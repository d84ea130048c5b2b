/**
 * Scripted tool calls (`koubou sim --call TOOL:JSON`), the same on every face of the simulator:
 * a request that offers a scripted function, whose conversation has not yet called it and given
 * back its output, gets a call of it with the scripted arguments instead of an answer. That is
 * one agent step: call a tool, read its output, answer.
 */

/** A call the simulator makes: the function and its arguments (a JSON text). */
export interface ScriptedCall {
  name: string;
  arguments: string;
}

/**
 * @param offered the functions the request offers
 * @param answered the functions the conversation has called and given the output of
 * @example
 * scriptedCall({ exec_command: '{"cmd":"ls"}' }, ['exec_command'], []); // { name: 'exec_command', arguments: '{"cmd":"ls"}' }
 */
export function scriptedCall(script: Record<string, string>, offered: readonly string[], answered: readonly string[]): ScriptedCall | null {
  for (const [name, args] of Object.entries(script)) {
    if (offered.includes(name) && !answered.includes(name)) return { name, arguments: args };
  }
  return null;
}

/**
 * An agent's turns, in order (`koubou sim --script FILE`): a conversation holding n tool outputs
 * gets the (n+1)-th call, if the request offers its function; past the last, an answer.
 *
 * @example
 * scriptedTurn([{ name: 'exec_command', arguments: '{"cmd":"ls"}' }], ['exec_command'], 0); // the call
 * scriptedTurn([{ name: 'exec_command', arguments: '{"cmd":"ls"}' }], ['exec_command'], 1); // null: answer
 */
export function scriptedTurn(turns: readonly ScriptedCall[], offered: readonly string[], outputs: number): ScriptedCall | null {
  const turn = turns[outputs];
  return turn && offered.includes(turn.name) ? turn : null;
}

/** Tool outputs in a Chat Completions or Ollama conversation (`tool` messages). */
export function toolOutputs(messages: unknown): number {
  return Array.isArray(messages) ? messages.filter((m) => isObj(m) && m.role === 'tool').length : 0;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Function names of Chat Completions' and Ollama's `tools` (`{ type: 'function', function: { name } }`). */
export function offeredFunctions(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.map((t) => (isObj(t) ? (isObj(t.function) ? t.function.name : t.name) : undefined)).filter((n): n is string => typeof n === 'string');
}

/**
 * Functions a Chat Completions or Ollama conversation has called and answered: an assistant's
 * `tool_calls` followed by a `tool` message (for its `tool_call_id` where the protocol has ids).
 */
export function answeredFunctions(messages: unknown): string[] {
  if (!Array.isArray(messages)) return [];
  const answered: string[] = [];
  messages.forEach((m, i) => {
    if (!isObj(m) || m.role !== 'assistant' || !Array.isArray(m.tool_calls)) return;
    const later = messages.slice(i + 1).filter((x): x is Obj => isObj(x) && x.role === 'tool');
    for (const c of m.tool_calls) {
      if (!isObj(c) || !isObj(c.function) || typeof c.function.name !== 'string') continue;
      const byId = typeof c.id === 'string' ? later.some((t) => t.tool_call_id === c.id) : later.length > 0;
      if (byId) answered.push(c.function.name);
    }
  });
  return answered;
}

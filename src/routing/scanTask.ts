import { taskPrompt } from '../core/taskPrompt.ts';
import type { SensitivityResult, TaskFile, TaskInput, ToolDefinition } from '../core/types.ts';
import type { SensitivityScanner } from '../policy/index.ts';

/** The source name a tool is scanned under, until the findings are named (`relabel`). */
const toolSource = (index: number) => `\u0000tool:${index}`;

/**
 * A tool's definition as the text the scanner reads: its name on line 1 (so a finding there
 * says the name itself holds a secret), then its description and its parameters' JSON Schema.
 */
export function toolText(tool: ToolDefinition): string {
  return [
    tool.name,
    ...(tool.description ? [tool.description] : []),
    ...(tool.parameters ? [JSON.stringify(tool.parameters, null, 2)] : []),
  ].join('\n');
}

/**
 * Scans everything of a task that may travel to a model: its prompt (a gateway conversation as
 * one text), any text of its conversation that the prompt does not hold (ids of tool calls too), an agent's test command, its files, `workspaceFiles` when it has a workspace, and its conversation's tool
 * definitions — names, descriptions, parameter schemas, which clients fill with whatever they
 * like. A finding in a tool is reported as found in `tool "<name>"`, or `tool #<n>` when the
 * name itself holds the secret: a reason names where, never what.
 *
 * @example
 * const r = await scanTask(scanner, { prompt: 'hi', files: [], conversation: { messages: [], tools: [{ name: 'deploy', description: `token ${secret}` }] } });
 * r.findings[0].source; // 'tool "deploy"'
 */
export async function scanTask(
  scanner: SensitivityScanner,
  task: Pick<TaskInput, 'prompt' | 'files' | 'conversation'> & Partial<Pick<TaskInput, 'agent'>>,
  workspaceFiles: TaskFile[] = [],
): Promise<SensitivityResult> {
  const tools = task.conversation?.tools ?? [];
  // A conversation without a prompt of its own (the gateway's) is scanned as one text, as its model reads it.
  const prompt = taskPrompt(task);
  const result = await scanner.scan({
    prompt,
    files: [...task.files, ...workspaceFiles, ...unflattened(prompt, task), ...(task.agent?.test ? [{ path: 'test command', content: task.agent.test }] : []), ...tools.map((t, i) => ({ path: toolSource(i), content: toolText(t) }))],
  });
  return tools.length ? relabel(result, tools) : result;
}

/**
 * The conversation's texts that its prompt does not already hold, one file per message. A worker
 * sends the conversation, not the prompt: a submission could carry a harmless prompt beside a
 * conversation that holds a secret, and every word that travels must be scanned. A task without a
 * prompt of its own (the gateway's) is scanned as its conversation's transcript, which holds every
 * message's text, tool names and arguments by construction: only the tool-call ids are left.
 */
function unflattened(prompt: string, task: Pick<TaskInput, 'prompt' | 'conversation'>): TaskFile[] {
  const transcript = task.prompt === undefined;
  const out: TaskFile[] = [];
  task.conversation?.messages.forEach((m, i) => {
    const ids = [m.toolCallId ?? '', ...(m.toolCalls ?? []).map((c) => c.id)];
    const texts = transcript ? ids : [m.content, ...ids, ...(m.toolCalls ?? []).flatMap((c) => [c.name, c.arguments])];
    const missing = texts.filter((text) => text && !prompt.includes(text));
    if (missing.length) out.push({ path: `message #${i + 1}`, content: missing.join('\n') });
  });
  return out;
}

function relabel(result: SensitivityResult, tools: readonly ToolDefinition[]): SensitivityResult {
  const names = tools.map((tool, i) => {
    const nameHolds = result.findings.some((f) => f.source === toolSource(i) && f.line === 1);
    return nameHolds ? `tool #${i + 1}` : `tool ${JSON.stringify(tool.name)}`;
  });
  const sources = new Map(names.map((name, i) => [toolSource(i), name]));
  return { ...result, findings: result.findings.map((f) => (sources.has(f.source) ? { ...f, source: sources.get(f.source)! } : f)) };
}

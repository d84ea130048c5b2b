/**
 * The markup coding clients wrap around their user's words: blocks of context a client adds to
 * a user message (its environment, the repository's AGENTS.md, IDE state, reminders), and tags
 * some put around the ask itself. Difficulty is judged on what is left once these are taken out.
 * Each wrapper is named by the client that sends it, for the routing reason.
 */

/** A block a client adds to a user message; none of it is the user's ask. */
interface ContextBlock {
  name: string;
  pattern: RegExp;
}

/** An XML-like block, its attributes and body included: `<tag ...> ... </tag>`. */
const block = (tag: string): RegExp => new RegExp(`<${tag}(?:\\s[^>]*)?>[\\s\\S]*?</${tag}>`, 'g');

const CONTEXT_BLOCKS: readonly ContextBlock[] = [
  // Codex CLI: the repository's AGENTS.md, then the sandbox and working directory.
  { name: 'Codex AGENTS.md instructions', pattern: /# AGENTS\.md instructions for [^\n]*\n+<INSTRUCTIONS>[\s\S]*?<\/INSTRUCTIONS>/g },
  { name: 'Codex <environment_context>', pattern: block('environment_context') },
  { name: '<user_instructions>', pattern: block('user_instructions') },
  { name: '<skills_instructions>', pattern: block('skills_instructions') },
  // Qwen Code (skills, tools, working directory, date) and Claude Code (reminders, IDE state).
  { name: '<system-reminder>', pattern: block('system-reminder') },
  { name: 'Qwen Code hook context', pattern: block('qwen:user-prompt-submit-context') },
  { name: 'IDE context', pattern: /<(ide_selection|ide_opened_file|ide_diagnostics)(?:\s[^>]*)?>[\s\S]*?<\/\1>/g },
  // Cline and Roo Code: the editor's open tabs, terminals and file tree after every message.
  { name: 'Cline <environment_details>', pattern: block('environment_details') },
];

/** Tags around the ask itself (Cline's `<task>`, Cursor's `<user_query>`): the words inside are kept. */
const ASK_TAGS = /<(task|user_query|user_request|user_message|feedback)>\s*([\s\S]*?)\s*<\/\1>/g;

/** A user message with its client's markup taken out. */
export interface Unwrapped {
  /** The user's own words; empty when the message was all context. */
  text: string;
  /** The wrappers found, by name. */
  wrappers: string[];
}

/**
 * Takes a client's markup out of one user message.
 *
 * @example
 * unwrapUserMessage('<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>fix a typo');
 * // { text: 'fix a typo', wrappers: ['Codex <environment_context>'] }
 */
export function unwrapUserMessage(content: string): Unwrapped {
  const wrappers: string[] = [];
  let text = content;
  for (const { name, pattern } of CONTEXT_BLOCKS) {
    const next = text.replace(pattern, '\n');
    if (next !== text) wrappers.push(name);
    text = next;
  }
  text = text.replace(ASK_TAGS, (_all, tag: string, inner: string) => {
    wrappers.push(`<${tag}>`);
    return inner;
  });
  text = text.trim();
  // opencode's `run` sends the ask in quotes.
  const quoted = /^"([^"]*)"$/.exec(text);
  if (quoted) text = quoted[1]!.trim();
  return { text, wrappers };
}

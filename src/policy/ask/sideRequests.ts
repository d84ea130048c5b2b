/**
 * Side requests: the small calls a coding client makes beside its main turn (a title for the
 * session, a summary when the context is compacted, the facts to remember of a session, a commit
 * message, a "new topic?" or "who speaks next?" check). They are low-difficulty work whatever the conversation they carry is
 * about, so routing recognises them by the clients' own markers and sends them low.
 */
import type { Conversation } from '../../core/types.ts';

export type SideRequestKind = 'title' | 'summary' | 'memory' | 'commit_message' | 'check';

/** A recognised side request: what kind, and the marker that gave it away. */
export interface SideRequest {
  kind: SideRequestKind;
  marker: string;
}

/** Markers any client may use; in a user message they count only as its opening words. */
const GENERIC = 'a client';
/** How far into a user message a generic marker may start ("Please, could you …"). */
const OPENING_CHARS = 40;

const matchAtStart = (pattern: RegExp, text: string, atStart: boolean): RegExpExecArray | null => {
  const m = pattern.exec(text);
  return m && (!atStart || m.index <= OPENING_CHARS) ? m : null;
};

interface Marker {
  kind: SideRequestKind;
  /** Who sends it, for the reason. */
  from: string;
  pattern: RegExp;
}

const MARKERS: readonly Marker[] = [
  { kind: 'title', from: 'opencode', pattern: /You are a title generator|Generate a title for this conversation/ },
  { kind: 'title', from: 'Qwen Code', pattern: /Generate the session title now/ },
  { kind: 'title', from: 'Codex', pattern: /Generate a concise, single-line task title/ },
  { kind: 'title', from: GENERIC, pattern: /\b(?:generate|write|create|suggest|give me) an? (?:(?:short|brief|concise|single-line) )?(?:\w+ )?title for (?:this|the|our) (?:conversation|chat|session|thread)/i },
  { kind: 'summary', from: 'opencode', pattern: /<prior-summary>|Construct a new summary that combines/ },
  { kind: 'summary', from: 'Qwen Code', pattern: /summarizes a conversation when its context window is about to overflow|specialized context summarizer|<state_snapshot>/ },
  { kind: 'summary', from: 'Codex', pattern: /CONTEXT CHECKPOINT COMPACTION/ },
  { kind: 'summary', from: GENERIC, pattern: /\b(?:summari[sz]e|write an? (?:detailed |brief |short )?summary of|compact) (?:this|the|our) (?:conversation|chat|session|thread)(?: so far)?\b/i },
  { kind: 'memory', from: 'Qwen Code', pattern: /managed memory extraction subagent/ },
  { kind: 'commit_message', from: GENERIC, pattern: /\b(?:generate|write|create|suggest|draft) an? (?:(?:concise|short|good|conventional) )?(?:git )?commit message\b/i },
  { kind: 'check', from: 'Claude Code', pattern: /indicates a new conversation topic|isNewTopic/ },
  { kind: 'check', from: 'Qwen Code', pattern: /determine who should logically speak next/ },
  { kind: 'check', from: GENERIC, pattern: /\bis this a new (?:topic|conversation)\b/i },
];

/** How much of a system message is its role statement; a side request's says what it is at once. */
const SYSTEM_HEAD_CHARS = 400;
/** A side request's own instruction is short; a long message is a main turn quoting one. */
const USER_MESSAGE_CHARS = 4_000;

/**
 * The side request a conversation is, or null for a main turn. Markers are looked for in the
 * head of each system message and in the last user message.
 *
 * @example
 * sideRequestOf({ messages: [{ role: 'system', content: 'You are a title generator. …' }, { role: 'user', content: 'fix the bug' }], tools: [] });
 * // { kind: 'title', marker: 'opencode: "You are a title generator"' }
 */
export function sideRequestOf(conversation: Conversation, lastUserText: string): SideRequest | null {
  const heads = conversation.messages.filter((m) => m.role === 'system').map((m) => m.content.slice(0, SYSTEM_HEAD_CHARS));
  const userText = lastUserText.length <= USER_MESSAGE_CHARS ? lastUserText : '';
  for (const { kind, from, pattern } of MARKERS) {
    const found = heads.map((h) => pattern.exec(h)).find((m) => m !== null)
      ?? matchAtStart(pattern, userText, from === GENERIC);
    if (found) return { kind, marker: `${from}: "${found[0]}"` };
  }
  return null;
}

/** A side request's kind in words, for reasons and summaries. */
export const SIDE_REQUEST_NAMES: Readonly<Record<SideRequestKind, string>> = {
  title: 'title generation',
  summary: 'conversation summary',
  memory: 'memory extraction',
  commit_message: 'commit message',
  check: 'conversation check',
};

/**
 * How deep JSON may nest at koubou's doors (the gateway's request bodies, every bus message).
 * JSON.parse takes any depth, but JSON.stringify and every walk of the value recurse: from a few
 * thousand levels on they overflow the stack, long after the message was accepted. No request or
 * message of koubou's nests anywhere near this deep; a tool's JSON Schema nests about ten.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The index of the character where the nesting of arrays and objects goes past `max` levels, or
 * -1. Strings are skipped; the text need not be valid JSON (JSON.parse judges that after).
 *
 * @example jsonDepthOver('[[1]]', 1) // 1
 */
export function jsonDepthOver(text: string, max = MAX_JSON_DEPTH): number {
  // Fewer characters than two per level cannot nest past it.
  if (text.length <= max * 2) return -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) { if (++depth > max) return i; }
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/**
 * How deep JSON may nest at koubou's doors (the gateway's request bodies, every bus message).
 * JSON.parse takes any depth, but JSON.stringify and every recursive walk of the value overflow
 * the stack from a few thousand levels on, long after the message was accepted. No request or
 * message of koubou's nests anywhere near this deep; a tool's JSON Schema nests about ten.
 */
export const MAX_JSON_DEPTH = 64;

interface Frame {
  value: object;
  depth: number;
  key: string;
  parent: Frame | null;
}

/**
 * Where a parsed JSON value nests arrays and objects deeper than `max` levels (the path of the
 * first container past it, its first levels only), or null. Walks the containers without
 * recursion, so it costs a few steps per array or object whatever the strings' length, and
 * cannot overflow itself.
 *
 * @example jsonTooDeepAt({ a: [[1]] }, 2) // 'a.0'
 */
export function jsonTooDeepAt(value: unknown, max = MAX_JSON_DEPTH): string | null {
  if (value === null || typeof value !== 'object') return null;
  const stack: Frame[] = [{ value, depth: 1, key: '', parent: null }];
  while (stack.length) {
    const frame = stack.pop()!;
    if (frame.depth > max) return pathOf(frame);
    const container = frame.value as Record<string, unknown>;
    // for…in, not Object.entries: no array of pairs per container (this runs on every bus message).
    for (const key in container) {
      const child = container[key];
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: frame.depth + 1, key, parent: frame });
    }
  }
  return null;
}

/** The first six keys of a frame's path, then `…`. */
function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | null = frame; f?.parent; f = f.parent) keys.push(f.key);
  keys.reverse();
  return keys.length > 6 ? `${keys.slice(0, 6).join('.')}.…` : keys.join('.');
}

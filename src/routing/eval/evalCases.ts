/**
 * The lines of a routing evaluation file (`koubou eval routing FILE.jsonl`): an ask with the
 * difficulty level it deserves, and optionally the client wrapper to send it in, or a whole
 * conversation instead of the ask.
 */
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { DIFFICULTY_LEVELS, TASK_TYPES, type Conversation, type DifficultyLevel, type TaskType } from '../../core/types.ts';

const messageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.string(),
}).strict();

const caseSchema = z.object({
  /** A name for the ask in the report; default its line number. */
  id: z.string().min(1).max(200).optional(),
  ask: z.string().min(1).optional(),
  expected: z.enum(DIFFICULTY_LEVELS),
  /** A task type, for an ask judged as a plain task; default `general`. */
  type: z.enum(TASK_TYPES).optional(),
  /** A client whose captured wrapper the ask is sent in (a folder of data/clients). */
  client: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/).optional(),
  /** A whole conversation, judged as the gateway judges one. */
  conversation: z.array(messageSchema).min(1).optional(),
  /** Free tags for the reader (task kind, phrasing, language); not used for routing. */
  tags: z.array(z.string()).optional(),
}).strict().refine((c) => (c.ask === undefined) !== (c.conversation === undefined), {
  message: 'give either "ask" or "conversation"',
});

/** One case of an evaluation file. */
export interface EvalCase {
  id: string;
  /** The line it came from, 1-based. */
  line: number;
  expected: DifficultyLevel;
  ask?: string;
  type?: TaskType;
  client?: string;
  conversation?: Conversation;
  tags: string[];
}

/**
 * Reads an evaluation file; a bad line is an {@link InputError} naming the file, the line and
 * what is wrong with it.
 *
 * @example
 * parseEvalCases('{"ask":"fix a typo","expected":"low"}\n', 'asks.jsonl'); // [{ id: 'line 1', line: 1, expected: 'low', ask: 'fix a typo', tags: [] }]
 */
export function parseEvalCases(text: string, source: string): EvalCase[] {
  const cases: EvalCase[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new InputError(`${source}:${line}: not JSON (${(e as Error).message})`);
    }
    const parsed = caseSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(`${source}:${line}: ${issue.path.length ? `"${issue.path.join('.')}": ` : ''}${issue.message}`);
    }
    const c = parsed.data;
    cases.push({
      id: c.id ?? `line ${line}`, line, expected: c.expected, tags: c.tags ?? [],
      ...(c.ask !== undefined ? { ask: c.ask } : {}),
      ...(c.type ? { type: c.type } : {}),
      ...(c.client ? { client: c.client } : {}),
      ...(c.conversation ? {
        conversation: {
          tools: [],
          messages: c.conversation.map((m) => ({ role: m.role === 'developer' ? 'system' as const : m.role, content: m.content })),
        },
      } : {}),
    });
  });
  if (cases.length === 0) throw new InputError(`${source}: no cases (one JSON object per line: {"ask": "...", "expected": "low|medium|high"})`);
  return cases;
}

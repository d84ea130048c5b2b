import { taskPrompt } from '../../core/taskPrompt.ts';
import type { DifficultyResult, TaskInput } from '../../core/types.ts';
import { evaluateDifficulty, type DifficultyOptions } from '../difficulty.ts';
import { countTaskTokens } from '../tokens.ts';
import { askOf } from './askOf.ts';
import { SIDE_REQUEST_NAMES } from './sideRequests.ts';

/** Fenced code blocks: code is full of `fix`, `parallel`, `update`; the words around it say what is asked. */
const FENCED_CODE = /```[\s\S]*?(?:```|$)/g;

/** What the difficulty step reads of a task. */
export type JudgedTask = Pick<TaskInput, 'type' | 'prompt' | 'files'> & { conversation?: TaskInput['conversation'] };

/**
 * A task's difficulty, judged on its ask ({@link askOf}): the indicator words are looked for in
 * the ask's prose (pasted code left out), the size bands weigh the ask and the files, and the
 * token count stays the whole task's, since that is what the call costs. A client's side
 * request (a title, a summary, a commit message, a check) is low whatever it carries.
 *
 * @example
 * judgeDifficulty({ type: 'general', prompt: 'Fix a typo in the README', files: [] }).level; // 'low'
 */
export function judgeDifficulty(task: JudgedTask, options: DifficultyOptions = {}): DifficultyResult {
  const ask = askOf(task);
  const tokens = countTaskTokens(taskPrompt(task), task.files);
  const prose = ask.text.replace(FENCED_CODE, ' ');
  // A plain task's ask is its prompt: its size is the task's, counted once.
  const sizeTokens = task.conversation ? countTaskTokens(ask.text, task.files) : tokens;
  const d = evaluateDifficulty({ type: task.type, prompt: prose, files: task.files, tokens, sizeTokens }, options);
  if (!task.conversation) return d;
  const judged = ask.side ? `${ask.judged}; a side request (${SIDE_REQUEST_NAMES[ask.side.kind]})` : ask.judged;
  const reasons = [`judged: ${ask.judged}`, ...d.reasons];
  if (!ask.side) return { ...d, reasons, judged };
  return {
    ...d, level: 'low', judged,
    reasons: [...reasons, `side request: ${SIDE_REQUEST_NAMES[ask.side.kind]} (${ask.side.marker}): low whatever the score`],
  };
}

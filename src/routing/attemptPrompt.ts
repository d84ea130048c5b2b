/**
 * The prompt of an attempt: the task's own, and, for an escalated attempt, what the failed one
 * did and what its tests said. Before it goes to a cloud tier the added text is scanned like the
 * task was (a test's output can print anything): a part that is not public is left out and the
 * prompt says so.
 */
import type { AttemptFeedback } from '../../machines/task.types.ts';
import type { SensitivityScanner } from '../policy/index.ts';

const fence = (text: string): string => {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}\n${text.trimEnd()}\n${f}`;
};

/**
 * @example
 * await attemptPrompt('make add() add', feedback, { cloud: true, scanner });
 * // 'make add() add\n\n---\nAn earlier attempt on local …'
 */
export async function attemptPrompt(
  prompt: string, feedback: AttemptFeedback | undefined, to: { cloud: boolean; scanner: SensitivityScanner },
): Promise<string> {
  if (!feedback) return prompt;
  const safe = async (text: string): Promise<boolean> =>
    !to.cloud || (await to.scanner.scan({ prompt: text, files: [] })).level === 'public';
  const withheld = (what: string) => `(${what} is withheld: it holds data that may not leave this machine.)`;
  const { diff, test } = feedback;
  const outcome = test.exitCode === null ? 'was killed' : `exited ${test.exitCode}`;
  return [
    prompt,
    '',
    '---',
    `An earlier attempt at this task (on ${feedback.tier}) made the change below, but the tests failed: \`${test.command}\` ${outcome}.`,
    'That change is not in your workspace: start from the code as it is, and make the tests pass.',
    '',
    'The earlier change:',
    diff.trim() === '' ? '(no change)' : await safe(diff) ? fence(diff) : withheld('the earlier change'),
    '',
    'The test output:',
    await safe(test.output) ? fence(test.output) : withheld('the test output'),
  ].join('\n');
}

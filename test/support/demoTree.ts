/**
 * What `koubou up --demo` must print about its master (both the demo test and the fresh-clone
 * test hold it to this): a real Codex session whose tool calls handed out three subtasks, the
 * secret on local, the hard one on gpt5_high, the trivial repo fix escalated local→gpt5_medium
 * with its tests passed, and the patch applied to the master's tree.
 */
import { expect } from 'vitest';

/** Checks the tree in the demo's output; returns the session's id. */
export function expectCodexMasterTree(output: string): string {
  const head = /^MASTER (demo-master-[a-z0-9]+): codex-cli \d+\.\d+\.\d+, a real codex exec session \(its model a scripted koubou sim\) through koubou mcp$/m.exec(output);
  expect(head, output).not.toBeNull();
  const session = head![1]!;
  // The calls as Codex's own JSON events report them.
  expect(output).toContain('  its tool calls: delegate ×3, wait, result ×3, apply\n');
  const child = (n: number) => `${session}-${n}`;
  expect(output).toMatch(new RegExp(`├─ ${child(1)}\\s+secret\\s+tier local\\s+fallbacks -\\s+escalations -\\s+tests -\\s+\\$0\\.0000\\s+completed\\n`));
  expect(output).toMatch(new RegExp(`├─ ${child(2)}\\s+hard\\s+tier gpt5_high\\s+fallbacks -\\s+escalations -\\s+tests -\\s+\\$0\\.\\d*[1-9]\\d*\\s+completed\\n`));
  expect(output).toMatch(new RegExp(`└─ ${child(3)}\\s+trivial\\s+tier gpt5_medium\\s+fallbacks -\\s+escalations local→gpt5_medium\\s+tests passed\\s+\\$0\\.\\d*[1-9]\\d*\\s+completed\\n`));
  expect(output).toMatch(/\n\s+escalated local→gpt5_medium: tests failed on local \(`node test\.js` exited 1\)\n/);
  expect(output).toMatch(/\n\s+add\.js \| 2 \+-\n/);
  expect(output).toMatch(/\n\s+applied to the master's tree \(\S+master-repo\): add\.js\n/);
  expect(output).toMatch(/\n {2}3 subtasks, \$0\.\d{4} with their craftsmen's model calls \(koubou costs --tree\)\n/);
  return session;
}

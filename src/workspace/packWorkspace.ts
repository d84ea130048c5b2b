/**
 * A repository's working tree as a git bundle: the files at the current commit plus uncommitted
 * changes (tracked, and untracked ones git does not ignore), as one parentless commit, so only
 * those files travel — never `.gitignore`d files, never history, never what `.koubouignore`
 * names. The commit is written into the repository's object store (like `git stash create`
 * does) and named by a temporary ref only while the bundle is made.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ignore from 'ignore';
import { InputError } from '../core/errors.ts';

/** Default largest workspace, bundle and files alike. */
export const DEFAULT_MAX_WORKSPACE_BYTES = 64 * 1024 * 1024;
export const KOUBOUIGNORE = '.koubouignore';

export interface PackedWorkspace {
  bundle: Buffer;
  /** The workspace commit (parentless; its tree is the working tree). */
  commit: string;
  /** Its tree, for applying the result later. */
  tree: string;
  /** The repository's HEAD when packed (null in a repository without commits). */
  head: string | null;
  /** Every path that travels. */
  files: string[];
  /** Paths `.koubouignore` kept out. */
  keptOut: string[];
  /** Sum of the files' sizes. */
  bytes: number;
}

const IDENTITY = { GIT_AUTHOR_NAME: 'koubou', GIT_AUTHOR_EMAIL: 'koubou@localhost', GIT_COMMITTER_NAME: 'koubou', GIT_COMMITTER_EMAIL: 'koubou@localhost' };

export function git(cwd: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): Buffer {
  try {
    return execFileSync('git', args, { cwd, input: opts.input, env: { ...process.env, ...opts.env }, maxBuffer: 1024 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`git ${args[0]} in ${cwd}: ${err.stderr?.toString().trim() || err.message}`);
  }
}

/** The top of the git repository holding `dir`; a clear error when there is none. */
export function repositoryRoot(dir: string): string {
  try {
    return git(dir, ['rev-parse', '--show-toplevel']).toString().trim();
  } catch {
    throw new InputError(`${dir} is not inside a git repository: --repo needs one (git init, or name another directory)`, { code: 'WORKSPACE_NOT_A_REPO' });
  }
}

/**
 * @example
 * const ws = packWorkspace('.', { maxBytes: 16 * 1024 * 1024 });
 * ws.files; // ['README.md', 'src/orders.ts', …]
 */
export function packWorkspace(dir: string, opts: { maxBytes?: number } = {}): PackedWorkspace {
  const root = repositoryRoot(dir);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_WORKSPACE_BYTES;
  const listed = git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']).toString().split('\0').filter(Boolean);
  // A tracked file deleted from the working tree is not in the workspace either.
  const present = [...new Set(listed)].filter((p) => existsSync(join(root, p)) || isLink(join(root, p)));
  const rules = existsSync(join(root, KOUBOUIGNORE)) ? ignore().add(readFileSync(join(root, KOUBOUIGNORE), 'utf8')) : null;
  const files = rules ? present.filter((p) => !rules.ignores(p)) : present;
  const keptOut = rules ? present.filter((p) => rules.ignores(p)) : [];
  const bytes = files.reduce((n, p) => n + lstatSync(join(root, p)).size, 0);
  if (bytes > maxBytes) {
    throw new InputError(`the workspace is ${mib(bytes)} (${files.length} files), over the limit of ${mib(maxBytes)}: keep large paths out with ${KOUBOUIGNORE} or .gitignore, or raise workspace.max_bytes`, { code: 'WORKSPACE_TOO_LARGE' });
  }
  const scratch = mkdtempSync(join(tmpdir(), 'koubou-pack-'));
  const ref = `refs/koubou/workspace-${process.pid}-${Date.now()}`;
  try {
    const env = { ...IDENTITY, GIT_INDEX_FILE: join(scratch, 'index') };
    git(root, ['update-index', '--add', '-z', '--stdin'], { input: files.join('\0'), env });
    const tree = git(root, ['write-tree'], { env }).toString().trim();
    const commit = git(root, ['commit-tree', tree, '-m', 'koubou workspace'], { env }).toString().trim();
    let head: string | null = null;
    try { head = git(root, ['rev-parse', '--verify', '-q', 'HEAD']).toString().trim(); } catch { /* no commits yet */ }
    git(root, ['update-ref', ref, commit]);
    const file = join(scratch, 'workspace.bundle');
    git(root, ['bundle', 'create', '-q', file, ref]);
    const bundle = readFileSync(file);
    if (bundle.length > maxBytes) {
      throw new InputError(`the workspace bundle is ${mib(bundle.length)}, over the limit of ${mib(maxBytes)}`, { code: 'WORKSPACE_TOO_LARGE' });
    }
    return { bundle, commit, tree, head, files, keptOut, bytes };
  } finally {
    try { git(root, ['update-ref', '-d', ref]); } catch { /* never made */ }
    rmSync(scratch, { recursive: true, force: true });
  }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const isLink = (p: string) => { try { return lstatSync(p).isSymbolicLink(); } catch { return false; } };

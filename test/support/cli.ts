import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const KOUBOU = fileURLToPath(new URL('../../bin/koubou.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `koubou` command as a child process. */
export function runKoubou(args: string[], opts: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number; prefix?: string[] } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // `prefix`: a command to run it under, e.g. `ip netns exec HOST` for a host of a test's own.
    const [command, ...rest] = [...(opts.prefix ?? []), process.execPath, KOUBOU, ...args];
    const child = spawn(command!, rest, {
      env: { ...process.env, KOUBOU_CONFIG: '', ...opts.env },
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(opts.input ?? '');
  });
}

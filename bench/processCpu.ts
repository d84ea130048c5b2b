/**
 * CPU time of a process tree, read from /proc: what each of `koubou up`'s processes (and this
 * one, the submitter) spent during a phase of a benchmark. Linux only; elsewhere it reads nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** CPU seconds (user + system) by process name. */
export type CpuTimes = Map<string, number>;

const TICKS_PER_SECOND = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

/** A child's name: its profile's name under `KOUBOU_CPU_PROF_DIR`, else its koubou command or its program. */
function nameOf(args: string[]): string {
  const prof = args.find((a) => a.startsWith('--cpu-prof-name='));
  if (prof) return prof.slice('--cpu-prof-name='.length).replace(/\.cpuprofile$/, '');
  const cli = args.findIndex((a) => a.endsWith('bin/koubou.js'));
  if (cli < 0) return basename(args[0] ?? 'unknown');
  for (let i = cli + 1; i < args.length; i++) {
    if (args[i] === '--config' || args[i] === '-c') i++;
    else if (!args[i]!.startsWith('-')) return `koubou ${args[i]}`;
  }
  return 'koubou';
}

/**
 * CPU seconds so far of `rootPid` and every process under it, by name, plus this process as
 * `submitter`.
 *
 * @example
 * const before = cpuTimes(up.pid!); … const spent = cpuSpent(before, cpuTimes(up.pid!));
 */
export function cpuTimes(rootPid: number): CpuTimes {
  const times: CpuTimes = new Map();
  const own = process.cpuUsage();
  times.set('submitter', (own.user + own.system) / 1e6);
  const visit = (pid: number) => {
    const base = `/proc/${pid}`;
    try {
      // Fields after the command's closing parenthesis: state is 3rd, utime 14th, stime 15th.
      const stat = readFileSync(`${base}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
      const name = nameOf(readFileSync(`${base}/cmdline`, 'utf8').split('\0').filter(Boolean));
      times.set(name, (times.get(name) ?? 0) + seconds);
      for (const child of readFileSync(`${base}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(child));
    } catch {
      // The process ended meanwhile (or there is no /proc).
    }
  };
  visit(rootPid);
  return times;
}

/** What each process spent between two readings, largest first. */
export function cpuSpent(before: CpuTimes, after: CpuTimes): [string, number][] {
  return [...after].map(([name, s]): [string, number] => [name, s - (before.get(name) ?? 0)]).sort((a, b) => b[1] - a[1]);
}

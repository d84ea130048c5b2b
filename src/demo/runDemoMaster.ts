/**
 * The demo's master: a real Codex CLI session (`codex exec`, koubou mcp in its config as
 * `[mcp_servers.koubou]`, its own model a `koubou sim` scripted to call mcp__koubou__delegate for
 * each of the workshop's subtasks, then wait, result for each, and apply) — or, where Codex is
 * not installed, the MCP SDK's client making the same calls, and saying so. Either way the
 * session's tree is built from the `result`s the master took back.
 */
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { LedgerClient } from '../bus/index.ts';
import type { CodexPresence } from '../cli/ensureCodex.ts';
import { startSimServer, type SimServer } from '../llm/sim/index.ts';
import { koubouMcpBlock, runCodexMaster, writeCodexMasterHome } from '../master/codexMaster.ts';
import { connectMcpMaster } from '../master/connectMcpMaster.ts';
import type { ApplyOutput, ResultOutput } from '../mcp/toolSchemas.ts';
import { formatMasterTree } from './masterTree.ts';
import { CRAFTSMEN_TURNS, makeWorkshopRepo, workshopSubtasks, type WorkshopSubtask } from './workshop.ts';

export interface DemoMasterOptions {
  /** The demo's NATS URL. */
  natsUrl: string;
  /** Where `koubou mcp` starts: the directory holding `.koubou/credentials.env`. */
  cwd: string;
  /** Where the master's working tree and Codex's home go. */
  stateDir: string;
  /** More environment for `koubou mcp` (the bus's CA when the demo's NATS has TLS). */
  env?: Record<string, string>;
  /** How to run `koubou` (default: this process's own entry point). */
  koubou?: { command: string; args: string[] };
  /** The Codex CLI, or why there is none: then the SDK's client is the master. */
  codex: CodexPresence;
  /** Agent workers are up for repo subtasks (they run Codex too). */
  craftsmen: boolean;
  /** The simulators the craftsmen's model requests reach, scripted for the repo subtask. */
  sims: { local: SimServer; gpt5_medium: SimServer };
  /** For the ledger's spend tree. */
  submitter: NatsConnection;
}

/** What the master did: its calls, the results it took back, the patch it applied. */
interface Session { master: string; calls: string[]; results: ResultOutput[]; applied: ApplyOutput | null }

const SIM_KEY_VAR = 'KOUBOU_MASTER_SIM_KEY';

/**
 * Runs the master's session and returns the lines of its tree.
 *
 * @example
 * for (const line of await runDemoMaster({ natsUrl, cwd: process.cwd(), stateDir, codex, craftsmen: true, sims, submitter })) console.log(line);
 */
export async function runDemoMaster(o: DemoMasterOptions): Promise<string[]> {
  const session = `demo-master-${Date.now().toString(36)}`;
  const repo = join(o.stateDir, 'master-repo');
  makeWorkshopRepo(repo);
  const all = workshopSubtasks(repo);
  const subtasks = o.craftsmen ? all : all.filter((s) => !s.args.repo);
  const notes = o.craftsmen ? [] : all.filter((s) => s.args.repo).map((s) => `${s.label}: not handed out: a repo subtask's craftsmen are Codex CLI agents, and there is no Codex CLI here`);
  const koubou = o.koubou ?? { command: process.execPath, args: [...process.execArgv, process.argv[1]!] };
  const mcp = {
    command: koubou.command, args: [...koubou.args, 'mcp', '--nats', o.natsUrl, '--session', session], cwd: o.cwd,
    env: { KOUBOU_CONFIG: process.env.KOUBOU_CONFIG ?? '', ...o.env },
  };
  o.sims.local.setOptions({ turns: CRAFTSMEN_TURNS.local });
  o.sims.gpt5_medium.setOptions({ turns: CRAFTSMEN_TURNS.gpt5_medium });
  try {
    const run = o.codex.ok
      ? await codexSession(o, session, repo, subtasks, mcp, o.codex.version)
      : await sdkSession(session, subtasks, mcp, o.codex.why);
    if (run.results.length !== subtasks.length) throw new Error(`the master took back ${run.results.length} results of ${subtasks.length} subtasks`);
    const totals = await spendOf(o.submitter, session, run.results);
    return formatMasterTree({
      session, master: run.master, calls: run.calls, applied: run.applied, notes,
      children: run.results.map((result, i) => ({ label: subtasks[i]!.label, result, totalUsd: totals.get(result.taskId) ?? result.costUsd })),
    });
  } finally {
    // The scripts were for these subtasks only: later agents on these tiers get plain answers.
    o.sims.local.setOptions({ turns: [] });
    o.sims.gpt5_medium.setOptions({ turns: [] });
  }
}

type McpCommand = { command: string; args: string[]; cwd: string; env: Record<string, string> };

/** The master's calls: delegate each subtask, wait for all, take back each result, apply the repo one. */
function script(session: string, subtasks: readonly WorkshopSubtask[]): { name: string; args: Record<string, unknown> }[] {
  const ids = subtasks.map((_, i) => `${session}-${i + 1}`);
  const repoChild = subtasks.findIndex((s) => s.args.repo);
  return [
    ...subtasks.map((s) => ({ name: 'delegate', args: s.args })),
    { name: 'wait', args: { taskIds: ids, timeoutSeconds: 300 } },
    ...ids.map((taskId) => ({ name: 'result', args: { taskId } })),
    ...(repoChild >= 0 ? [{ name: 'apply', args: { taskId: ids[repoChild] } }] : []),
  ];
}

async function codexSession(o: DemoMasterOptions, session: string, repo: string, subtasks: WorkshopSubtask[], mcp: McpCommand, version: string): Promise<Session> {
  const model = await startSimServer({ turns: script(session, subtasks).map((c) => ({ name: `mcp__koubou__${c.name}`, arguments: JSON.stringify(c.args) })) });
  try {
    const home = join(o.stateDir, 'codex-master');
    writeCodexMasterHome(home, koubouMcpBlock(mcp), { baseUrl: `${model.url}/v1`, keyVar: SIM_KEY_VAR });
    const run = await runCodexMaster({
      home, cwd: repo, env: { [SIM_KEY_VAR]: 'sim' }, timeoutMs: 300_000,
      prompt: 'Hand these to koubou\'s craftsmen: the login fix, the event pipeline design, and the typo in add.js (tests: node test.js). Wait for them, read their results, apply the fix.',
    });
    const failed = run.calls.find((c) => c.status !== 'completed');
    if (run.code !== 0 || failed) {
      const why = failed ? `${failed.tool} ${failed.status}${failed.error ? `: ${failed.error}` : ''}` : run.stderr.trim().split('\n').at(-1) ?? '';
      throw new Error(`codex exec exited ${run.code}: ${why}`);
    }
    return {
      master: `${version}, a real codex exec session (its model a scripted koubou sim) through koubou mcp`,
      calls: run.calls.map((c) => c.tool),
      results: run.calls.filter((c) => c.tool === 'result' && c.structured).map((c) => c.structured as ResultOutput),
      applied: (run.calls.find((c) => c.tool === 'apply')?.structured ?? null) as ApplyOutput | null,
    };
  } finally {
    await model.close();
  }
}

async function sdkSession(session: string, subtasks: WorkshopSubtask[], mcp: McpCommand, why: string): Promise<Session> {
  const client = await connectMcpMaster({ ...mcp, env: { ...process.env, ...mcp.env } as Record<string, string>, stderr: 'ignore', name: 'koubou-demo-master' });
  try {
    const out: Session = { master: `a scripted MCP client (the MCP SDK's), NOT Codex (${why})`, calls: [], results: [], applied: null };
    for (const call of script(session, subtasks)) {
      const r = await client.call(call.name, call.args);
      if (r.isError) throw new Error(`koubou mcp ${call.name}: ${JSON.stringify(r.content)}`);
      out.calls.push(call.name);
      if (call.name === 'result') out.results.push(r.structuredContent as ResultOutput);
      if (call.name === 'apply') out.applied = r.structuredContent as ApplyOutput;
    }
    return out;
  } finally {
    await client.close();
  }
}

/**
 * Each child's spend with its descendants', from the ledger's tree. Usage reaches the ledger on
 * its own stream a moment after a task's final event: asked again until it holds still.
 */
async function spendOf(nc: NatsConnection, session: string, results: ResultOutput[]): Promise<Map<string, number>> {
  const ledger = new LedgerClient(nc, { timeoutMs: 5000 });
  const read = async (): Promise<Map<string, number>> => {
    const { trees } = await ledger.tree(1);
    const root = trees.find((t) => t.taskId === session);
    return new Map((root?.children ?? []).map((c) => [c.taskId, c.totalUsd]));
  };
  let last = await read().catch(() => new Map<string, number>());
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const next = await read().catch(() => last);
    const covers = results.every((r) => (next.get(r.taskId) ?? -1) >= r.costUsd);
    if (covers && [...next].every(([k, v]) => last.get(k) === v) && next.size === last.size) return next;
    last = next;
  }
  return last;
}

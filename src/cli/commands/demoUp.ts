/**
 * `koubou up --demo`: the whole system on simulated backends; a master (a real Codex session)
 * handing three subtasks to the tiers through `koubou mcp`, and its tree; a tour of the routing
 * with sample tasks, a table of where each went and why; then the system stays up (for
 * `koubou submit`) until Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { busTlsFiles, DOOR_KEY_VAR, LedgerClient, loadOrCreateCredentials, serverConfFile, TLS_CA_VAR } from '../../bus/index.ts';
import { loadConfig, tierNames } from '../../config/index.ts';
import { Dashboard } from '../../../actors/dashboard/index.ts';
import { claudeModelMap, Gateway, keyDigest, ledgerKeyLookup, openInteractivePath } from '../../../actors/gateway/index.ts';
import { startDemoSystem } from '../../demo/DemoSystem.ts';
import { dollars, formatTable, type DemoRow } from '../../demo/report.ts';
import { runDemo } from '../../demo/runDemo.ts';
import { runDemoMaster } from '../../demo/runDemoMaster.ts';
import { demoPhases } from '../../demo/samples.ts';
import { ensureNatsServer } from '../ensureNatsServer.ts';
import { probeCodexSandbox } from '../../../actors/worker/executors/AgentExecutor.ts';
import { startDemoAgents } from '../../demo/demoAgents.ts';
import { ensureCodex, type CodexPresence } from '../ensureCodex.ts';
import { CREDENTIALS_FILE, STATE_DIR, UP_FILE, untilSignal } from '../natsContext.ts';


/**
 * @example
 * await runUpDemo(program, { port: -1 }); // returns after Ctrl-C, everything stopped
 */
export async function runUpDemo(program: Command, opts: { port: number; dashboardPort: number; gatewayPort: number; slots?: number; master?: boolean }): Promise<void> {
  const config = loadConfig({ file: program.opts().config });
  mkdirSync(STATE_DIR, { recursive: true });
  // TLS as `koubou up`'s when `koubou init` made certificates: other terminals' commands then expect it.
  const conf = serverConfFile('single', process.cwd());
  const credentials: Record<string, string> = { ...loadOrCreateCredentials(resolve(CREDENTIALS_FILE)), ...(conf.tls ? { [TLS_CA_VAR]: busTlsFiles(conf.projectDir).caCert } : {}) };
  const stateDir = resolve(STATE_DIR, 'demo');
  const logFile = resolve(stateDir, 'actors.log');
  const interrupted = new AbortController();
  const signal = untilSignal().then((s) => { interrupted.abort(); return s; });
  const say = (line: string) => console.log(line);

  say('koubou demo: every backend is simulated (koubou sim: OpenAI and Ollama protocols over HTTP): no API key, no GPU, nothing charged.');
  ensureNatsServer('the demo runs its own NATS server');
  // The master and its repo craftsmen are Codex CLI sessions (--no-agent: none of them).
  const codex: CodexPresence | null = opts.master === false ? null : ensureCodex('the demo\'s master and its repo craftsmen are Codex CLI sessions');
  if (codex && !codex.ok) say(`koubou: the demo goes on without the Codex CLI (${codex.why}): its master is the MCP SDK's scripted client, without the repo subtask`);
  const started = Date.now();
  const system = await startDemoSystem({
    config, stateDir, natsConf: conf.configFile, ...(conf.tls ? { natsTls: { projectDir: conf.projectDir } } : {}), credentials, port: opts.port, ...(opts.slots ? { slots: opts.slots } : {}),
    // Actors log a line per task: kept in a file so the table stays readable.
    log: (line) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`),
  });
  // The dashboard starts before the sample tasks, so they can be watched moving through the statechart.
  const dashboard = new Dashboard({ nc: await system.connect('dashboard'), port: opts.dashboardPort, log: (line) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`) });
  const dashboardUrl = await dashboard.start().then((d) => d.url, (e: Error) => `not started (${e.message})`);
  say(`dashboard: ${dashboardUrl}`);
  // The OpenAI API on the demo, with a key made for this run (it guards nothing real).
  const demoKey = `kb-demo-${randomBytes(12).toString('hex')}`;
  const gatewayNc = await system.connect('gateway');
  // As `koubou gateway` runs: requests routed in the gateway, the cloud tiers' simulators called from it.
  const { path: interactive } = await openInteractivePath({ nc: gatewayNc, config: system.config, doorKey: credentials[DOOR_KEY_VAR]!, workerId: 'gateway-demo' });
  const gateway = new Gateway({
    interactive, nc: gatewayNc, doorKey: credentials[DOOR_KEY_VAR]!, keyDigests: [keyDigest(demoKey)], lookupKey: ledgerKeyLookup(gatewayNc), tiers: tierNames(config), claudeModels: claudeModelMap(config.claude_models, config.routing.difficulty_tiers), port: opts.gatewayPort,
  });
  let gatewayReady: string | null = null;
  let stopAgents = async () => {};
  const agentIds: string[] = [];
  const gatewayUrl = await gateway.start().then((g) => { gatewayReady = `${g.url}/v1`; return `${g.url}/v1 (model koubou, key ${demoKey})`; }, (e: Error) => `not started (${e.message})`);
  try {
    // `koubou submit` in another terminal finds this demo's server through the up file.
    writeFileSync(resolve(UP_FILE), JSON.stringify({ natsUrl: system.natsUrl, pid: process.pid, startedAt: new Date().toISOString(), demo: true }, null, 2));
    say(`system up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const submitter = await system.connect('submitter');
    // The workshop first: the master's hard subtask finds gpt5_high's requests a minute unused (the burst below spends them).
    if (codex && !interrupted.signal.aborted) {
      const craftsmen = codex.ok && gatewayReady !== null;
      if (craftsmen) {
        // The repo subtask's craftsmen: Codex agents on the tiers it starts on and escalates to.
        const tiers = ['local', 'gpt5_medium'];
        stopAgents = (await startDemoAgents({ system, gatewayUrl: gatewayReady!, gatewayKey: demoKey, tiers, sandbox: probeCodexSandbox().ok })).stop;
        agentIds.push(...tiers.map((t) => `${t}-agent-demo`));
      }
      say(`- a master (${codex.ok ? codex.version : 'a scripted MCP client'}) hands subtasks to the tiers through koubou mcp: a secret, a hard design${craftsmen ? ', a trivial fix whose tests must pass' : ''}`);
      const tree = await runDemoMaster({
        natsUrl: system.natsUrl, cwd: process.cwd(), stateDir, codex, craftsmen, sims: system.sims, submitter,
        ...(conf.tls ? { env: { [TLS_CA_VAR]: credentials[TLS_CA_VAR]! } } : {}),
      }).catch((e: Error) => [`MASTER not run (${e.message})`]);
      say('');
      for (const line of tree) say(line);
      say('');
    }
    say('submitting sample tasks:');
    const calls = await ledgerCalls(submitter);
    const rows = await runDemo({ submitter, router: await system.connect('router'), phases: demoPhases(), print: say, signal: interrupted.signal });
    if (!interrupted.signal.aborted) {
      say('');
      say(formatTable(rows));
      say(await ledgerLine(submitter, rows, calls));
      say(`  (table after ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      say('');
      say([
        'koubou demo is up (simulated backends):',
        `  NATS        ${system.natsUrl} (nats-server pid ${system.natsPid}, data in ${STATE_DIR}/demo/nats)`,
        `  ledger      ${system.ledgerPath}`,
        ...Object.entries(system.simNotes).map(([t, note], i) => `  ${i === 0 ? 'sims' : '    '}        ${t.padEnd(11)} ${note}`),
        `  actors      ledger, router-demo, ${[...system.workerIds, ...agentIds].join(', ')} (in this process; their log: ${logFile})`,
        `  dashboard   ${dashboardUrl}`,
        `  gateway     ${gatewayUrl}`,
        '  try         koubou submit --wait "refactor this module to use dependency injection"',
        '  Ctrl-C stops everything.',
      ].join('\n'));
    }
    const sig = await signal;
    say(`koubou: ${sig}: stopping workers, router, ledger, simulators, nats-server...`);
  } finally {
    await stopAgents();
    await gateway.stop();
    await dashboard.stop();
    await system.stop();
  }
  say('koubou: stopped');
}

/** The provider calls the ledger has recorded in the last hour (before the tour: the master's). */
async function ledgerCalls(nc: NatsConnection): Promise<{ requests: number; totalUsd: number } | null> {
  try {
    return await new LedgerClient(nc, { timeoutMs: 2000 }).costs(1);
  } catch {
    return null;
  }
}

/**
 * What the ledger recorded for the tour's paid calls: those since `before`. Usage reaches the
 * ledger through its own stream, a moment after each task's final event: wait briefly.
 */
async function ledgerLine(nc: NatsConnection, rows: DemoRow[], before: { requests: number; totalUsd: number } | null): Promise<string> {
  // One usage per completed task (the local tier's at $0), none for a failed one.
  const calls = rows.filter((r) => r.status === 'completed').length;
  const base = before ?? { requests: 0, totalUsd: 0 };
  let last = base;
  for (let i = 0; i < 30; i++) {
    const now = await ledgerCalls(nc);
    if (!now) return '  LEDGER no answer from the ledger';
    last = now;
    if (last.requests - base.requests >= calls) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return `  LEDGER ${last.requests - base.requests} provider calls recorded, ${dollars(last.totalUsd - base.totalUsd)} (koubou costs)`;
}

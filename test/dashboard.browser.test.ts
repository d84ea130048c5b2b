/**
 * The dashboard page in a real headless Chromium, against the whole system (router, ledger,
 * workers) on a real nats-server. Screenshots of every view go to test-artifacts/.
 */
import { statSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import type { Page } from 'playwright-core';
import type { AnyStateNode } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dashboard } from '../actors/dashboard/index.ts';
import { usd } from '../actors/ledger/index.ts';
import { taskMachine } from '../machines/task.machine.ts';
import { encode, MSG_ID, SUBJECTS } from '../src/bus/index.ts';
import { currentYearMonth, getBudgetStatus, getTask, recordTestOutcome, spendTrees } from '../src/db/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { BROWSER_SETUP_TIMEOUT_MS, launchBrowser, screenshot, type TestBrowser } from './support/browser.ts';
import { startSystem, type TestSystem } from './support/system.ts';
import { uniqueId, until } from './support/util.ts';

let sys: TestSystem;
let dashboard: Dashboard;
let browser: TestBrowser;
let page: Page;
let url: string;
/** The task the inspector test follows; the detail test looks at it again. */
let liveTaskId = '';
const requests: string[] = [];

beforeAll(async () => {
  sys = await startSystem({
    // A low limit and threshold, so seeding a usage crosses the alert line (the budget test runs last).
    config: { budget: { monthly_usd: 20, alert_threshold_percent: 50 } },
    workers: [
      // The high tier fails every call: its tasks fall back to medium, which the feed must show.
      { tier: 'gpt5_high', provider: new InProcessSimProvider({ failWith: { code: 'PROVIDER_DOWN', message: 'simulated outage' } }) },
      { tier: 'gpt5_medium' },
      // Slow enough that a task visibly rests in InProgress before it completes.
      { tier: 'local', provider: new InProcessSimProvider({ latencyMs: 1500 }) },
    ],
  });
  dashboard = new Dashboard({ nc: await sys.nats.connect('dashboard'), port: 0, refreshMs: 500 });
  ({ url } = await dashboard.start());
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('request', (r) => requests.push(r.url()));
}, BROWSER_SETUP_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await sys?.stop();
});

/** The group row's cost once every turn's charge has reached the page: the sum of the turns' own costs. */
async function waitForGroupCost(row: string, turns: string[]): Promise<void> {
  await until(() => turns.every((id) => getTask(sys.db, id)?.actualCost !== null));
  const cost = turns.reduce((n, id) => n + getTask(sys.db, id)!.actualCost!, 0);
  await page.waitForFunction(([sel, text]) => document.querySelector(`${sel} .group-cost`)?.textContent === text, [row, usd(cost)] as const, { timeout: 15_000 });
}

const show = async (hash: string) => {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(`#view-${hash.split('/')[1]}:not([hidden])`);
};

/** Every state of the machine as a dotted path, walked here rather than taken from the dashboard's code. */
function machineStates(node: AnyStateNode = taskMachine.root): string[] {
  return (Object.values(node.states) as AnyStateNode[]).flatMap((c) => [c.path.join('.'), ...machineStates(c)]);
}

describe('dashboard page', () => {
  it('loads everything from the dashboard itself and nothing from any other host', async () => {
    const response = await page.goto(url);
    await page.waitForSelector('body[data-ready=true]');
    for (const view of ['workers', 'costs', 'budget', 'events', 'inspector', 'tasks']) await show(`#/${view}`);
    const origin = new URL(url).origin;
    const paths = requests.map((r) => new URL(r).pathname);
    expect(paths).toEqual(expect.arrayContaining(['/', '/app.js', '/app.css', '/events', '/api/statechart', '/api/status']));
    expect(requests.filter((r) => new URL(r).origin !== origin)).toEqual([]);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
  });

  it('draws every state of the task machine, from the machine definition', async () => {
    await show('#/inspector');
    const expected = machineStates();
    expect(expected).toContain('QueueOrFallback1.Waiting');
    const drawn = await page.$$eval('#chart svg .node', (gs) => gs.map((g) => ({ id: g.getAttribute('data-state'), text: g.querySelector('text')?.textContent })));
    expect(drawn.map((n) => n.id).sort()).toEqual([...expected].sort());
    for (const n of drawn) expect(n.id!.split('.').at(-1)).toBe(n.text);
    const targets = await page.$$eval('#chart svg .edge', (gs) => gs.map((g) => g.getAttribute('data-target')));
    expect(targets.length).toBeGreaterThan(expected.length);
    for (const t of targets) expect(expected).toContain(t);
  });

  it('moves the highlighted state live as a task progresses, then shows its timeline', async () => {
    const taskId = (liveTaskId = uniqueId('live'));
    await show(`#/inspector/${taskId}`);
    // Record every state the chart highlights, as it happens.
    await page.evaluate(() => {
      const svg = document.querySelector('#chart svg')!;
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => { if (seen.at(-1) !== svg.getAttribute('data-current')) seen.push(svg.getAttribute('data-current') ?? ''); })
        .observe(svg, { attributes: true, attributeFilter: ['data-current'] });
    });
    await sys.submit({ taskId, prompt: 'fix a typo in the README' });
    await page.waitForFunction(() => document.querySelector('#chart svg')?.getAttribute('data-current') === 'Completed', null, { timeout: 20_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    const working = seen.findIndex((s) => s === 'Assigned' || s === 'InProgress');
    expect(working).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('Completed')).toBeGreaterThan(working);
    expect(await page.getAttribute('#chart svg .node.current', 'data-state')).toBe('Completed');
    const timeline = await page.$$eval('#timeline li', (lis) => lis.map((li) => li.getAttribute('data-state')));
    expect(timeline).toEqual((await sys.events(taskId)).map((e) => e.state));
    await screenshot(page, 'dashboard-inspector');
  });

  it('shows the task list and a task\'s detail with its routing trace', async () => {
    const final = (await sys.events(liveTaskId)).at(-1)!;
    await show(`#/tasks/${final.taskId}`);
    await page.waitForSelector(`#task-list tr[data-task="${final.taskId}"]`);
    await page.waitForFunction((n) => document.querySelectorAll('#task-detail tbody tr').length === n, final.seq);
    expect(await page.textContent('#detail-summary')).toBe(final.promptSummary);
    await page.fill('#filters input[name=q]', 'no task has this text');
    expect(await page.$$('#task-list tbody tr')).toHaveLength(0);
    await page.fill('#filters input[name=q]', '');
    await screenshot(page, 'dashboard-tasks');
  });

  it('shows what an agent is doing in the selected task, step by step', async () => {
    // What an agent worker publishes as it runs commands (the agent tests run the real one).
    const worker = await sys.nats.connect('local_worker');
    const at = () => new Date().toISOString();
    for (const activity of ['running: npm test', 'ran (exit 0): npm test', 'changed: src/total.ts']) {
      worker.publish(SUBJECTS.progress(liveTaskId), encode({ taskId: liveTaskId, attempt: 1, workerId: 'local-agent-1', tokens: 0, tokensPerSecond: 0, activity, at: at() }));
    }
    await page.waitForFunction(() => document.querySelectorAll('#agent-activity li').length === 3);
    const lines = await page.$$eval('#agent-activity li', (li) => li.map((l) => l.textContent!));
    ['running: npm test', 'ran (exit 0): npm test', 'changed: src/total.ts'].forEach((a, i) => expect(lines[i]!.endsWith(` ${a}`)).toBe(true));
    await worker.close();
  });

  it('groups a session\'s tasks under one row, and shows a parent\'s tree of children', async () => {
    await show('#/tasks');
    // Through the gateway's front door, as it names a session and an agent task's requests name their parent.
    const session = `s-${uniqueId('browser')}`;
    const turns = [uniqueId('turn'), uniqueId('turn')];
    for (const taskId of turns) await sys.submitThroughGateway({ taskId, type: 'general', priority: 5, prompt: 'refactor this module to use dependency injection', files: [], session });
    const row = `#task-list tr.group[data-group="session:${session}"]`;
    await page.waitForFunction((sel) => document.querySelector(`${sel} .group-count`)?.textContent === '2 tasks', row, { timeout: 20_000 });
    expect(await page.textContent(`${row} .group-ask`)).toBe((await sys.finalEvent(turns[0]!)).promptSummary);
    // Its turns right under it, indented; folded away and back with its toggle.
    const under = () => page.$$eval(`${row} ~ tr`, (trs) => trs.slice(0, 2).map((tr) => `${tr.className}|${tr.getAttribute('data-task')}`));
    expect((await under()).sort()).toEqual(turns.map((t) => `member|${t}`).sort());
    await page.click(`${row} button.toggle`);
    expect(await page.$$(`#task-list tr.member[data-task="${turns[0]}"]`)).toHaveLength(0);
    await page.click(`${row} button.toggle`);
    await page.waitForSelector(`#task-list tr.member[data-task="${turns[0]}"]`);
    await waitForGroupCost(row, turns);

    const parent = uniqueId('agent-task');
    await sys.submit({ taskId: parent, prompt: 'add a total() helper to the cart' });
    await sys.finalEvent(parent);
    const children = [uniqueId('request'), uniqueId('request')];
    for (const taskId of children) await sys.submitThroughGateway({ taskId, type: 'general', priority: 5, prompt: 'fix a typo in the README', files: [], parentTaskId: parent });
    for (const id of children) await sys.finalEvent(id);
    await until(() => children.every((id) => getTask(sys.db, id)?.parentTaskId === parent && getTask(sys.db, id)?.actualCost !== null));
    await show(`#/tasks/${parent}`);
    for (const id of children) await page.waitForSelector(`#task-tree li[data-tree-task="${parent}"] li[data-tree-task="${id}"]`);
    const tree = spendTrees(sys.db, 24 * 7).find((t) => t.taskId === parent)!;
    expect(await page.textContent(`#task-tree li[data-tree-task="${parent}"] > .tree-cost`)).toBe(`${usd(tree.totalUsd)} in all`);
    for (const id of children) {
      const item = `#task-tree li[data-tree-task="${id}"]`;
      expect(await page.textContent(`${item} > .tree-tier`)).toBe(getTask(sys.db, id)!.tier);
      expect(await page.getAttribute(item, 'data-status')).toBe('completed');
    }
    await screenshot(page, 'dashboard-tree');
  });

  it('shows the ledger\'s test pass rates per tier and task type', async () => {
    await show('#/tasks');
    // As the ledger's event writer records Verify events (an agent run with a test command).
    for (const passed of [true, false, true, true]) recordTestOutcome(sys.db, { taskId: uniqueId('verified'), attempt: 1, tier: 'local', taskType: 'code_generation', passed });
    await page.waitForFunction(() => document.querySelector('#pass-rates tr[data-tier="local"][data-type="code_generation"] .rate')?.textContent === '75 %', null, { timeout: 15_000 });
    expect(await page.$$eval('#pass-rates tr[data-tier="local"] td', (tds) => tds.map((td) => td.textContent))).toEqual(['code_generation', '4', '3', '75 %']);
  });

  it('reports a fallback in the feed as it happens', async () => {
    const taskId = uniqueId('fb');
    await show('#/events');
    await sys.submit({ taskId, prompt: 'design a distributed architecture for our event pipeline' });
    expect(await sys.finalEvent(taskId)).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
    const row = await page.waitForSelector(`#feed tr.fallback:has(a[href$="${taskId}"])`);
    expect(await row.textContent()).toContain('gpt5_high → gpt5_medium (execution)');
    await screenshot(page, 'dashboard-events');
  });

  it('lists the workers with their tier and status', async () => {
    await show('#/workers');
    for (const w of sys.workers) await page.waitForSelector(`#workers tr[data-worker="${w.workerId}"]`);
    const tiers = await page.$$eval('#workers tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    expect(tiers.sort()).toEqual(['gpt5_high', 'gpt5_medium', 'local']);
    await screenshot(page, 'dashboard-workers');
  });

  it('shows the ledger\'s spend on the budget gauge, with the alert once past the threshold', async () => {
    await show('#/budget');
    const cloud = jetstream(await sys.nats.connect('cloud_worker'));
    const usageId = uniqueId('seed');
    const someTask = (await page.$eval('#task-list tbody tr[data-task]', (tr) => tr.getAttribute('data-task')))!;
    await cloud.publish(SUBJECTS.usage, encode({
      usageId, taskId: someTask, attempt: 1, workerId: 'seed', tier: 'gpt5_medium', model: 'gpt-5', promptTokens: 0,
      cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0, costUsd: 12.34, reservationId: null, at: new Date().toISOString(),
    }), { msgID: MSG_ID.usage(usageId) });
    let budget = getBudgetStatus(sys.db, currentYearMonth());
    for (let i = 0; i < 200 && (budget?.spentUsd ?? 0) < 12.34; i++) {
      await new Promise((r) => setTimeout(r, 50));
      budget = getBudgetStatus(sys.db, currentYearMonth());
    }
    expect(budget!.spentUsd).toBeGreaterThanOrEqual(12.34);
    const expected = `${usd(budget!.spentUsd)} of ${usd(budget!.limitUsd)}`;
    await page.waitForFunction((text) => document.querySelector('#gauge-text')?.textContent === text, expected, { timeout: 15_000 });
    expect(await page.isVisible('#alert')).toBe(true);
    expect(await page.textContent('#alert')).toContain(`past the ${budget!.alertThresholdPercent} % threshold`);
    // That usage named no reservation: the budget watch raises it too.
    expect(await page.isVisible('#unreserved-alert')).toBe(true);
    expect(await page.textContent('#unreserved-alert')).toBe(`Budget watch: ${usd(12.34)} of paid usage in 1 call not covered by a granted reservation (newest: ${usageId}, no_reservation).`);
    await screenshot(page, 'dashboard-budget');
  });

  it('charts the costs of the last 24 h from the ledger', async () => {
    await show('#/costs');
    const c = await (await fetch(`${url}api/costs`)).json() as { last24h: { totalUsd: number } };
    await page.waitForFunction((t) => document.querySelector('#costs-24h .total-usd')?.textContent === t, usd(c.last24h.totalUsd));
    expect(await page.$$('#cost-chart svg rect.bar')).not.toHaveLength(0);
    // A task that came through a gateway key shows under that key's name.
    const taskId = uniqueId('by-key');
    await sys.submitThroughGateway({ taskId, type: 'general', priority: 5, prompt: 'refactor this module to use dependency injection', files: [], clientKey: 'dash-key' });
    expect((await sys.finalEvent(taskId)).status).toBe('completed');
    await page.waitForSelector('#costs-by-key tr[data-key="dash-key"]', { timeout: 15_000 });
    expect(await page.$eval('#costs-by-key tr[data-key="dash-key"]', (tr) => tr.textContent)).toMatch(/^dash-key1\$\d+\.\d+$/);
    const path = await screenshot(page, 'dashboard-costs');
    expect(statSync(path).size).toBeGreaterThan(1000);
  });
});

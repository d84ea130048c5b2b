/**
 * Routing evaluation: each case judged as the router judges a task (the same difficulty step,
 * on the task the gateway or `koubou submit` would make of it), compared with its expected
 * level, and priced: the routed set against sending everything to the high or the medium tier.
 */
import { expectedOutputTokens, tierOf, type KoubouConfig } from '../../config/index.ts';
import { InputError } from '../../core/errors.ts';
import { taskPrompt } from '../../core/taskPrompt.ts';
import { DIFFICULTY_LEVELS, type DifficultyLevel, type TaskInput, type Tier } from '../../core/types.ts';
import { conversationPrompt } from '../../llm/openaiCompat/index.ts';
import { conversationType, costOf, judgeDifficulty, priceFor } from '../../policy/index.ts';
import { difficultyOptions, priceTable } from '../createRoutingSteps.ts';
import type { EvalCase } from './evalCases.ts';
import { wrapAsk, type ClientWrapper } from './clientWrapper.ts';

/** A case the judge got wrong, with the rules that fired. */
export interface EvalMiss {
  id: string;
  line: number;
  expected: DifficultyLevel;
  got: DifficultyLevel;
  ask: string;
  reasons: string[];
}

/** The results of one run: the cases, bare or each in one client's wrapper. */
export interface EvalRun {
  /** `bare` (the ask as a plain task, or the case's own conversation/client), else the client wrapping every ask. */
  wrapper: string;
  cases: number;
  agreed: number;
  /** expected → routed level → count. */
  confusion: Record<DifficultyLevel, Record<DifficultyLevel, number>>;
  /** High asks judged low: they would go to the local tier. */
  highToLow: number;
  /**
   * USD at the config's prices: prompt tokens plus each tier's expected output tokens. `asLabeled`:
   * every case on its expected level's tier (what a judge that never misses would cost), so a gap
   * to a cost goal that is not the judge's shows as such.
   */
  cost: { routed: number; alwaysHigh: number; alwaysMedium: number; asLabeled: number };
  misses: EvalMiss[];
}

const emptyConfusion = (): EvalRun['confusion'] =>
  Object.fromEntries(DIFFICULTY_LEVELS.map((e) => [e, Object.fromEntries(DIFFICULTY_LEVELS.map((g) => [g, 0]))])) as EvalRun['confusion'];

/** The task the case stands for: a plain task, or the conversation a client (or the case) sends. */
function taskOfCase(c: EvalCase, wrapper: ClientWrapper | null): TaskInput {
  const base = { taskId: `eval-${c.line}`, priority: 5, files: [] };
  const conversation = c.conversation ?? (wrapper ? wrapAsk(wrapper, c.ask!) : null);
  if (!conversation) return { ...base, type: c.type ?? 'general', prompt: c.ask! };
  return { ...base, type: conversationType(conversation), prompt: conversationPrompt(conversation), conversation };
}

/**
 * Judges every case, wrapped in `wrapper` (or as it stands when null; a case naming its own
 * client is looked up in `wrappers`).
 *
 * @example
 * const run = evaluateRouting(cases, config, null, new Map());
 * `${run.agreed}/${run.cases}`; // '187/200'
 */
export function evaluateRouting(
  cases: readonly EvalCase[], config: KoubouConfig, wrapper: ClientWrapper | null, wrappers: ReadonlyMap<string, ClientWrapper>,
): EvalRun {
  const options = difficultyOptions(config);
  const prices = priceTable(config);
  const tiers = config.routing.difficulty_tiers;
  const callCost = (tier: Tier, promptTokens: number): number => {
    const t = tierOf(config, tier);
    return costOf({ promptTokens, cachedPromptTokens: 0, completionTokens: expectedOutputTokens(t), reasoningTokens: 0 }, priceFor(t.model, prices));
  };
  const run: EvalRun = {
    wrapper: wrapper?.name ?? 'bare', cases: cases.length, agreed: 0, confusion: emptyConfusion(), highToLow: 0,
    cost: { routed: 0, alwaysHigh: 0, alwaysMedium: 0, asLabeled: 0 }, misses: [],
  };
  for (const c of cases) {
    const own = c.client ? wrappers.get(c.client) : undefined;
    if (c.client && !own) throw new InputError(`case ${c.id} (line ${c.line}): "client": no capture of "${c.client}" (known: ${[...wrappers.keys()].join(', ') || 'none'})`);
    const task = taskOfCase(c, wrapper ?? own ?? null);
    const d = judgeDifficulty(task, options);
    run.confusion[c.expected][d.level]++;
    run.cost.routed += callCost(tiers[d.level], d.tokens);
    run.cost.alwaysHigh += callCost(tiers.high, d.tokens);
    run.cost.alwaysMedium += callCost(tiers.medium, d.tokens);
    run.cost.asLabeled += callCost(tiers[c.expected], d.tokens);
    if (d.level === c.expected) run.agreed++;
    else {
      if (c.expected === 'high' && d.level === 'low') run.highToLow++;
      run.misses.push({ id: c.id, line: c.line, expected: c.expected, got: d.level, ask: c.ask ?? taskPrompt(task), reasons: d.reasons });
    }
  }
  return run;
}

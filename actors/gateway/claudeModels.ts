/**
 * Claude model names, as Claude Code asks for them, as koubou's (`koubou`, `koubou/<tier>`),
 * by the config's `claude_models`: an exact name wins, then the longest pattern that matches
 * (`*` stands for any text). koubou's own names pass as they are.
 */
import type { KoubouConfig } from '../../src/config/index.ts';
import { GATEWAY_MODEL } from './answerRequest.ts';

/** A model name to koubou's; names the config does not map come back as they were (and are refused later, naming the ones served). */
export type ModelNameMap = (model: unknown) => unknown;

const patternOf = (glob: string) => new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');

/**
 * @example
 * const map = claudeModelMap({ 'claude-*': 'koubou', 'claude-*haiku*': 'low' }, { low: 'local', medium: 'gpt5_medium', high: 'gpt5_high' });
 * map('claude-sonnet-4-5');        // 'koubou'
 * map('claude-haiku-4-5-20251001'); // 'koubou/local'
 * map('koubou/gpt5_high');         // 'koubou/gpt5_high'
 */
export function claudeModelMap(names: KoubouConfig['claude_models'], difficultyTiers: KoubouConfig['routing']['difficulty_tiers']): ModelNameMap {
  const target = (t: string) => (t === 'low' || t === 'medium' || t === 'high' ? `${GATEWAY_MODEL}/${difficultyTiers[t]}` : t);
  const patterns = Object.entries(names).filter(([k]) => k.includes('*'))
    .sort(([a], [b]) => b.length - a.length)
    .map(([k, t]) => ({ re: patternOf(k), to: target(t) }));
  return (model) => {
    if (typeof model !== 'string') return model;
    const exact = names[model];
    if (exact !== undefined) return target(exact);
    return patterns.find((p) => p.re.test(model))?.to ?? model;
  };
}

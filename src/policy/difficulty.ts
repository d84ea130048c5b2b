/**
 * Difficulty scoring: which tier a task deserves on merit, before sensitivity,
 * budget and rate limits have their say.
 *
 * score = type weight
 *       + indicator points (words in the prompt; see {@link DifficultyOptions.indicators})
 *       + size points (token count over each size band)
 *
 * level = `high` if score ≥ thresholds.high, else `medium` if score ≥ thresholds.medium,
 * else `low`. The defaults match `config/koubou.yaml` (`high: 3, medium: 1`), and
 * the `general` type weighs 1, so a neutral general prompt scores 1 and lands on
 * `medium` — the seed's default, and the safe guess: `local` would be a gamble on
 * quality, `gpt5_high` a waste of money.
 *
 * Three rules keep word counting honest:
 * - each indicator counts once, however often it appears;
 * - medium indicators together add at most {@link DifficultyOptions.mediumCap}:
 *   they say "ordinary coding", and more of them ("implement an API") does not make
 *   a task harder, it only makes it more certainly ordinary;
 * - low indicators are ignored when a high one is present: "fix" names the action,
 *   "race condition" names the subject, and fixing a race in a distributed lock is
 *   concurrency work however it is phrased.
 *
 * Only the prompt is searched, never file contents: code is full of `fix`, `api`,
 * `update`, and what the submitter asks for is what sets the difficulty. The router calls this
 * through `judgeDifficulty` (./ask), which hands it a task's ask: a plain task's prompt without
 * its pasted code, a client's conversation's user words without its system prompt and wrappers.
 */
import type { DifficultyLevel, DifficultyResult, TaskFile, TaskType } from '../core/types.ts';
import { countTaskTokens } from './tokens.ts';

/** Indicator lists by level. See {@link DifficultyOptions.indicators} for the syntax. */
export interface DifficultyIndicators {
  high: readonly string[];
  medium: readonly string[];
  low: readonly string[];
}

/** Tokens above `overTokens` add `points` to the score; bands are cumulative. */
export interface SizeBand {
  overTokens: number;
  points: number;
}

export interface DifficultyOptions {
  /**
   * Words and phrases by level. Each entry is a case-insensitive regular-expression
   * fragment matched at the start of a word and as a prefix, so `parallel` also
   * finds "parallelism", `optimi[sz]` finds "optimise" and "optimization", and
   * `add comment` finds "add comments". End an entry with `\b` to require the
   * whole word (`fix(?:e[sd]|ing)?\b` leaves "fixture" alone). A space matches any
   * run of whitespace. An entry that is not a valid fragment throws a `SyntaxError`
   * naming it.
   *
   * Each level given replaces that level's defaults; spread
   * {@link DEFAULT_INDICATORS} to extend them instead.
   * @default DEFAULT_INDICATORS
   */
  indicators?: Partial<DifficultyIndicators>;
  /**
   * Points per matched indicator, by level.
   * @default { high: 2, medium: 1, low: -1 }
   */
  indicatorPoints?: Partial<Record<DifficultyLevel, number>>;
  /**
   * Most that medium indicators may add together.
   * @default 1
   */
  mediumCap?: number;
  /**
   * Starting score by task type; given types override the defaults.
   * @default DEFAULT_TYPE_WEIGHTS
   */
  typeWeights?: Partial<Record<TaskType, number>>;
  /**
   * Minimum scores for `high` and `medium`; `high` must not be below `medium`.
   * @default { high: 3, medium: 1 }
   */
  thresholds?: { high: number; medium: number };
  /**
   * Size bands, cumulative: with the defaults 12k tokens add 1 and 40k add 2.
   * Big inputs deserve a stronger model: more to read and keep consistent, and the
   * local model's quality drops well before its context window is full.
   * @default DEFAULT_SIZE_BANDS
   */
  sizeBands?: readonly SizeBand[];
}

export interface DifficultyInput {
  type: TaskType;
  prompt: string;
  files?: readonly TaskFile[];
  /** Prompt + files in o200k tokens, when the caller has counted them already. */
  tokens?: number;
  /**
   * Tokens the size bands weigh, when they are not `tokens`: a conversation's size is weighed
   * on its ask, while `tokens` stays what the call will cost.
   */
  sizeTokens?: number;
}

/**
 * The seed's lists, with stems so inflections match, grown on the labeled set of coding asks
 * (data/routing/labeled-asks.jsonl, `koubou eval routing`): high adds concurrency,
 * distributed-data, performance and design words; medium adds the words of ordinary feature and
 * bug work (`endpoint`, `bug`, `why`, `tests for`, ...); low adds small edits (`bump`, `unused`,
 * `spelling`, ...) and quick questions (`what does`, `how do I`). Each list holds a few words in
 * French, Spanish, Portuguese, German, Japanese and Chinese. `unit test` left the low list: writing
 * tests for a class is ordinary work.
 */
export const DEFAULT_INDICATORS: DifficultyIndicators = Object.freeze({
  high: Object.freeze([
    'architect',
    'design pattern',
    'distributed',
    'optimi[sz]',
    'algorithm',
    'concurren',
    'parallel',
    'scalab',
    'consensus',
    'lock[-\\s]?free',
    'race condition',
    'microservice',
    'deadlock',
    'thread[-\\s]?safe',
    'memory model',
    'atomic',
    'actor runtime',
    'back[-\\s]?pressure',
    'shard',
    'replica',
    'partition',
    'leader election',
    'raft\\b',
    'paxos',
    'exactly[-\\s]once',
    'crdt',
    'coheren',
    'event[-\\s]sourcing',
    'multi[-\\s](?:region|tenant)',
    'data cent(?:er|re)',
    'globally consistent',
    'consistency',
    'latency',
    'p99\\b',
    'throughput',
    'bottleneck',
    'simd\\b',
    'vectori[sz]',
    'complexity',
    'O\\(n',
    'million',
    'scales? to',
    'under load',
    '\\d+k (?:users|requests|writes|orders|devices)',
    '(?:re)?design(?:ing)? (?:a|an|the|our|it)\\b',
    'threat model',
    'zero[-\\s]trust',
    'end[-\\s]to[-\\s]end encryption',
    'isolation',
    'sandbox',
    'garbage collector',
    'solver',
    'compiler',
    'arquitect',
    'arquitet',
    'architektur',
    'distribu[ií]d',
    'verteilt',
    'microsservi',
    'escalab',
    'latenc',
    'latenz',
    'otimiz',
    'optimiz',
    '並行',
    '並列',
    'ロックフリー',
    '分散',
    '分布式',
    '并发',
    '一致性',
    '架构',
    'アーキテクチャ',
    '最適化',
    '优化',
  ]),
  medium: Object.freeze([
    'refactor',
    'implement',
    'apis?\\b',
    'database',
    'integrat',
    'migrat',
    'endpoint',
    'bug\\b',
    'why\\b',
    'sometimes',
    'errors?\\b',
    'crash',
    'fails?\\b',
    'breaks?\\b',
    'leak',
    'duplicates',
    'tests? for',
    'write tests',
    'coverage',
    'end-to-end test',
    'integration tests?',
    'test(?:s)? (?:to|that) pass',
    'feature',
    'validat',
    'paginat',
    'webhook',
    'oauth',
    'login',
    'middleware',
    'schema',
    'dockerfile',
    'workflow that runs',
    'background job',
    'upload',
    'caching',
    'retr(?:y|ies)',
    'i18n',
    'flow\\b',
    'module',
    'implementa',
    'リファクタリング',
    '实现',
    'paginación',
    'unit-tests',
    'corregg',
    'integre',
  ]),
  low: Object.freeze([
    'fix(?:e[sd]|ing)?\\b',
    'update',
    'add (?:an? |some )?comment',
    'rename',
    'format(?:s|ted|ting)?\\b',
    'typo',
    'docstring',
    'spelling',
    'misspel',
    'bump',
    'unused',
    'commented[-\\s]out',
    'print statements?',
    'console\\.log',
    'prettier',
    'lint(?:er)?\\b',
    'indent',
    'trailing',
    'whitespace',
    'capitali[sz]e',
    'lowercase',
    'uppercase',
    'label',
    'badge',
    'gitignore',
    'license',
    'copyright',
    'changelog',
    'link\\b',
    'todo\\b',
    'quotes',
    'sort the imports',
    'page title',
    'constant',
    'from \\d\\S* to \\d',
    'deprecated',
    'log (?:level|message)',
    'usage example',
    'one[-\\s](?:line|paragraph)',
    'nothing else',
    "what(?:'s| is| does)\\b",
    'how (?:do|can) I\\b',
    'which command',
    'explain what',
    'quick (?:question|answer)',
    'difference between',
    'faute de frappe',
    'tippfehler',
    'タイポ',
    '拼写',
    'renombr',
    'renomm',
    'umbenenn',
    'corrige',
    'korrigier',
    'commentaire',
    'atualiz',
    'actualiz',
    'mensagem',
  ]),
});

/**
 * Starting score by type. `general` starts at the medium threshold; the types the
 * seed routes to gpt5_high (architecture, algorithms) start at the high threshold;
 * documentation starts below medium, so plain doc work goes local.
 */
export const DEFAULT_TYPE_WEIGHTS: Readonly<Record<TaskType, number>> = Object.freeze({
  architecture: 3,
  algorithm: 3,
  code_generation: 1,
  code_review: 1,
  refactoring: 1,
  testing: 1,
  general: 1,
  documentation: 0,
});

export const DEFAULT_SIZE_BANDS: readonly SizeBand[] = Object.freeze([
  Object.freeze({ overTokens: 8_000, points: 1 }),
  Object.freeze({ overTokens: 32_000, points: 1 }),
]);

const DEFAULT_POINTS: Readonly<Record<DifficultyLevel, number>> = { high: 2, medium: 1, low: -1 };
const DEFAULT_THRESHOLDS = { high: 3, medium: 1 } as const;

/**
 * Compiles one indicator to the regular expression it is matched with.
 *
 * @example
 * indicatorRegExp('optimi[sz]').test('Optimising the loop'); // true
 * indicatorRegExp('fix\\b').test('a test fixture');          // false
 */
export function indicatorRegExp(indicator: string): RegExp {
  const trimmed = indicator.trim();
  // \b knows only ASCII word characters: a word in another script ("並行", "ñ…") has no boundary to match.
  const boundary = /^[A-Za-z0-9_]/.test(trimmed) ? '\\b' : '';
  try {
    return new RegExp(`${boundary}(?:${trimmed.replace(/ +/g, '\\s+')})`, 'i');
  } catch (cause) {
    throw new SyntaxError(`difficulty indicator ${JSON.stringify(indicator)} is not a valid pattern`, { cause });
  }
}

const regExpCache = new Map<string, RegExp>();
function cachedRegExp(indicator: string): RegExp {
  let re = regExpCache.get(indicator);
  if (re === undefined) {
    re = indicatorRegExp(indicator);
    // Configured lists are small and fixed; the bound only guards against callers
    // generating indicators on the fly.
    if (regExpCache.size < 1_000) regExpCache.set(indicator, re);
  }
  return re;
}

const formatPoints = (n: number): string => (n < 0 ? `${n}` : `+${n}`);
const formatInt = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * Scores a task's difficulty and says why.
 *
 * @example
 * evaluateDifficulty({ type: 'general', prompt: 'Design a distributed architecture for our event pipeline' });
 * // { level: 'high', score: 7, tokens: 8, reasons: ['type general: +1',
 * //   'indicator "architecture" (high): +2', 'indicator "distributed" (high): +2', 'indicator "design a" (high): +2'] }
 */
export function evaluateDifficulty(input: DifficultyInput, options: DifficultyOptions = {}): DifficultyResult {
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  if (!(thresholds.high >= thresholds.medium)) {
    throw new RangeError(`difficulty thresholds: high (${thresholds.high}) must be ≥ medium (${thresholds.medium})`);
  }
  // Field by field rather than by spread, so that an explicit `undefined` keeps the default.
  const points = {
    high: options.indicatorPoints?.high ?? DEFAULT_POINTS.high,
    medium: options.indicatorPoints?.medium ?? DEFAULT_POINTS.medium,
    low: options.indicatorPoints?.low ?? DEFAULT_POINTS.low,
  };
  const indicators = {
    high: options.indicators?.high ?? DEFAULT_INDICATORS.high,
    medium: options.indicators?.medium ?? DEFAULT_INDICATORS.medium,
    low: options.indicators?.low ?? DEFAULT_INDICATORS.low,
  };
  const mediumCap = options.mediumCap ?? 1;

  const reasons: string[] = [];
  let score = 0;

  // hasOwn: a task type read from a message could be "constructor"; a type check alone is no guard.
  const typeWeight = Object.hasOwn(DEFAULT_TYPE_WEIGHTS, input.type)
    ? (options.typeWeights?.[input.type] ?? DEFAULT_TYPE_WEIGHTS[input.type])
    : undefined;
  if (typeof typeWeight !== 'number') throw new RangeError(`unknown task type ${JSON.stringify(input.type)}`);
  score += typeWeight;
  reasons.push(`type ${input.type}: ${formatPoints(typeWeight)}`);

  // Match every level first: whether low words count depends on whether a high one matched.
  const matches = (list: readonly string[]): string[] => {
    const found: string[] = [];
    for (const indicator of list) {
      const m = cachedRegExp(indicator).exec(input.prompt);
      if (m === null) continue;
      // Report the whole word a stem matched ("architecture", not "architect").
      const end = m.index + m[0].length;
      const rest = /^[\w-]*/.exec(input.prompt.slice(end, end + 40))?.[0] ?? '';
      found.push((m[0] + rest).toLowerCase().replace(/\s+/g, ' '));
    }
    return found;
  };
  const high = matches(indicators.high);
  const medium = matches(indicators.medium);
  const low = matches(indicators.low);

  for (const word of high) {
    score += points.high;
    reasons.push(`indicator "${word}" (high): ${formatPoints(points.high)}`);
  }
  let mediumSoFar = 0;
  for (const word of medium) {
    const add = Math.max(0, Math.min(points.medium, mediumCap - mediumSoFar));
    mediumSoFar += add;
    score += add;
    reasons.push(
      add === points.medium
        ? `indicator "${word}" (medium): ${formatPoints(add)}`
        : `indicator "${word}" (medium): ${formatPoints(add)} (medium indicators capped at ${formatPoints(mediumCap)})`,
    );
  }
  for (const word of low) {
    if (high.length > 0) {
      reasons.push(`indicator "${word}" (low): +0 (ignored: high indicators present)`);
    } else {
      score += points.low;
      reasons.push(`indicator "${word}" (low): ${formatPoints(points.low)}`);
    }
  }

  const tokens = input.tokens ?? countTaskTokens(input.prompt, input.files ?? []);
  const sizeTokens = input.sizeTokens ?? tokens;
  let sizePoints = 0;
  for (const band of options.sizeBands ?? DEFAULT_SIZE_BANDS) {
    if (sizeTokens > band.overTokens) sizePoints += band.points;
  }
  if (sizePoints !== 0) {
    score += sizePoints;
    reasons.push(`size ${formatInt(sizeTokens)} tokens: ${formatPoints(sizePoints)}`);
  }

  const level: DifficultyLevel =
    score >= thresholds.high ? 'high' : score >= thresholds.medium ? 'medium' : 'low';
  return { level, score, reasons, tokens };
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { repoPath } from '../core/repoPath.ts';
import { configSchema, type KoubouConfig } from './schema.ts';

/** The defaults shipped with koubou. */
export const DEFAULT_CONFIG_FILE = repoPath('config', 'koubou.yaml');

export interface LoadConfigOptions {
  /** A user file merged over the defaults. Default: `$KOUBOU_CONFIG`, else none. */
  file?: string | undefined;
  /** Environment to read overrides from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Values merged over everything else (tests, embedding). Default: none. */
  overrides?: Record<string, unknown>;
}

interface Source {
  file: string;
  data: unknown;
  lineOf: (path: (string | number)[]) => number | undefined;
}

/**
 * Loads the defaults, merges the user file over them (objects merge, arrays and
 * scalars replace) and then the environment, and validates the result.
 *
 * @throws ConfigError naming the file, key path, what was expected and what was found.
 * @example
 * const config = loadConfig({ file: 'my-koubou.yaml' });
 * config.tiers.gpt5_high.model; // 'gpt-5'
 */
export function loadConfig(options: LoadConfigOptions = {}): KoubouConfig {
  const env = options.env ?? process.env;
  const sources = [readYaml(DEFAULT_CONFIG_FILE)];
  const userFile = options.file ?? env.KOUBOU_CONFIG;
  if (userFile) sources.push(readYaml(resolve(userFile)));
  if (options.overrides) sources.push({ file: 'overrides', data: options.overrides, lineOf: () => undefined });
  let merged: unknown = {};
  for (const s of sources) merged = deepMerge(merged, s.data);
  const envSource = envOverrides(env, openaiTiers(merged));
  merged = deepMerge(merged, envSource.data);

  const parsed = configSchema.safeParse(merged, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw toConfigError(parsed.error.issues[0]!, [...sources, envSource]);
}

function readYaml(file: string): Source {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((e as Error).message);
    throw new ConfigError(`${file}: cannot read the config file (${why})`, {
      file, keyPath: '', expected: 'a readable YAML file', found: why,
    });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line;
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: not valid YAML: ${err.message.split('\n')[0]}`, {
      file, keyPath: '', expected: 'valid YAML', found: err.code, ...(line ? { line } : {}),
    });
  }
  const data = doc.toJS() ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${file}: the top level must be a mapping of keys`, {
      file, keyPath: '', expected: 'a mapping', found: Array.isArray(data) ? 'a list' : typeof data,
    });
  }
  return {
    file,
    data,
    lineOf: (path) => {
      const node = doc.getIn(path, true);
      return isNode(node) && node.range ? lineCounter.linePos(node.range[0]).line : undefined;
    },
  };
}

/** Environment variables that override config keys. Secrets are not among them: they never enter the config. */
export const ENV_OVERRIDES: Record<string, { path: string[]; parse: (v: string) => unknown }> = {
  NATS_URL: { path: ['nats', 'url'], parse: (v) => v },
  KOUBOU_NATS_REPLICAS: { path: ['nats', 'replicas'], parse: (v) => (v === 'auto' ? v : numberOrString(v)) },
  KOUBOU_DB: { path: ['ledger', 'path'], parse: (v) => v },
  KOUBOU_MONTHLY_BUDGET_USD: { path: ['budget', 'monthly_usd'], parse: numberOrString },
  /** Every tier whose provider is openai (gpt5_high's key path names the variable in errors). */
  OPENAI_BASE_URL: { path: ['tiers', 'gpt5_high', 'base_url'], parse: (v) => v },
  OLLAMA_HOST: { path: ['tiers', 'local', 'base_url'], parse: (v) => v },
};

/** The tiers whose provider is OpenAI, in the files merged so far: OPENAI_BASE_URL applies to all of them. */
function openaiTiers(merged: unknown): string[] {
  const tiers = (merged as { tiers?: Record<string, { provider?: unknown }> }).tiers ?? {};
  return Object.entries(tiers).filter(([, t]) => t?.provider === 'openai').map(([name]) => name);
}

function envOverrides(env: NodeJS.ProcessEnv, openai: string[]): Source {
  const data: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  for (const [name, { path, parse }] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setIn(data, path, parse(value));
    origin.set(path.join('.'), name);
    // One OpenAI-compatible endpoint serves every tier whose provider is openai.
    if (name === 'OPENAI_BASE_URL') for (const tier of openai) setIn(data, ['tiers', tier, 'base_url'], value);
  }
  return { file: 'environment', data, lineOf: () => undefined };
}

function numberOrString(v: string): unknown {
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) cur = (cur[key] ??= {}) as Record<string, unknown>;
  cur[path[path.length - 1]!] = value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

function hasPath(data: unknown, path: (string | number)[]): boolean {
  let cur = data;
  for (const key of path) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return false;
    if (!(key in (cur as object))) return false;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return true;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'only known keys';
    case 'too_small':
      return `${issue.inclusive === false ? 'more than' : 'at least'} ${issue.minimum}`;
    case 'too_big':
      return `${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}`;
    default:
      return issue.message;
  }
}

function toConfigError(issue: z.core.$ZodIssue, sources: Source[]): ConfigError {
  let path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  let found = describe((issue as { input?: unknown }).input);
  if (issue.code === 'unrecognized_keys') {
    path = [...path, issue.keys[0]!];
    found = `unknown key "${issue.keys[0]}"`;
  }
  // Blame the last source that set this key (or its nearest parent).
  let source = sources[0]!;
  for (let depth = path.length; depth >= 0; depth--) {
    const hit = [...sources].reverse().find((s) => hasPath(s.data, path.slice(0, depth)) && depth > 0);
    if (hit) { source = hit; break; }
  }
  const keyPath = path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
  const line = source.lineOf(path);
  const envName = source.file === 'environment'
    ? Object.entries(ENV_OVERRIDES).find(([, o]) => o.path.join('.') === keyPath)?.[0] : undefined;
  const where = envName ? `environment variable ${envName}` : `${source.file}${line ? `:${line}` : ''}`;
  const expected = expectedOf(issue);
  return new ConfigError(`${where}: ${keyPath || '(top level)'}: expected ${expected}, found ${found}`, {
    file: source.file, keyPath, expected, found, ...(line ? { line } : {}),
  });
}

import { readFileSync, readdirSync } from 'node:fs';
import { evaluateDifficulty } from './src/policy/index.ts';
const OLD = {
  high: ['architect','design pattern','distributed','optimi[sz]','algorithm','concurren','parallel','scalab','consensus','lock[-\\s]?free','race condition','microservice'],
  medium: ['refactor','implement','apis?\\b','database','integrat','migrat'],
  low: ['fix(?:e[sd]|ing)?\\b','update','add (?:an? |some )?comment','rename','format(?:s|ted|ting)?\\b','typo','unit test','docstring'],
};
for (const f of readdirSync('test').filter((f) => f.endsWith('.ts'))) {
  const src = readFileSync(`test/${f}`, 'utf8');
  for (const m of src.matchAll(/(['"`])((?:(?!\1)[^\\\n]|\\.){8,300})\1/g)) {
    const s = m[2]!;
    if (!/ /.test(s) || s.includes('${')) continue;
    const a = evaluateDifficulty({ type: 'general', prompt: s }, { indicators: OLD }).level;
    const b = evaluateDifficulty({ type: 'general', prompt: s }).level;
    if (a !== b) console.log(f, JSON.stringify(s.slice(0, 100)), a, '->', b);
  }
}

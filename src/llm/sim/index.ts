/**
 * The simulated OpenAI + Ollama server behind `koubou sim` and the provider tests.
 *
 * @example
 * import { startSimServer } from './src/llm/sim/index.ts';
 * const sim = await startSimServer({ latencyMs: 200, tokensPerSecond: 50 });
 * console.log(`${sim.url}/v1`, sim.url); // OpenAI base URL, Ollama host
 */
export { startSimServer, type SimServer } from './SimServer.ts';
export type { SimFault, SimInjectOptions, SimOptions } from './options.ts';
export { DEFAULT_OLLAMA_MODELS, DEFAULT_OPENAI_MODELS, DEFAULT_OUTPUT_TOKENS } from './options.ts';
export type { SimRequestRecord, SimStats } from './context.ts';
export { OLLAMA_BUSY_MESSAGE } from './ollamaRoutes.ts';
export { CACHE_BLOCK_TOKENS } from './promptCache.ts';
export { formatGoDuration } from './rateLimiter.ts';
export { REASONING_FACTOR, digest, simPromptTokens, simReasoningTokens } from './text.ts';
export type { ScriptedCall } from './toolScript.ts';

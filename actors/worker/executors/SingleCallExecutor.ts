import type { Executor, ExecutorContext } from './Executor.ts';

/**
 * One model call with the task's prompt; its answer is the result. What koubou's workers
 * have always done, and the default executor of every tier.
 *
 * @example
 * const outcome = await new SingleCallExecutor().run(ctx);
 * if (outcome.ok) outcome.result.text;
 */
export class SingleCallExecutor implements Executor {
  readonly name = 'single_call';
  readonly maxCalls = 1;

  async run(ctx: ExecutorContext) {
    const { tierConfig: t } = ctx;
    const call = await ctx.call({
      model: t.model, messages: ctx.messages, reasoningEffort: t.reasoning_effort,
      maxOutputTokens: t.max_output_tokens, temperature: t.temperature, topP: t.top_p,
    });
    if (!call.ok) return call;
    return { ok: true as const, result: { text: call.result.text, model: call.result.model, usage: call.result.usage, costUsd: call.costUsd } };
  }
}

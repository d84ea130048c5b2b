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
    const conversation = ctx.item.conversation;
    // A client's reasoning effort counts where the tier reasons at all (a tier without one keeps none).
    const effort = t.reasoning_effort && conversation?.reasoningEffort ? conversation.reasoningEffort : t.reasoning_effort;
    const call = await ctx.call({
      model: t.model, messages: ctx.messages, reasoningEffort: effort,
      maxOutputTokens: t.max_output_tokens, temperature: t.temperature, topP: t.top_p,
      ...(conversation?.tools.length ? { tools: conversation.tools } : {}),
    });
    if (!call.ok) return call;
    const { text, model, usage, toolCalls } = call.result;
    return { ok: true as const, result: { text, model, usage, costUsd: call.costUsd, ...(toolCalls?.length ? { toolCalls } : {}) } };
  }
}

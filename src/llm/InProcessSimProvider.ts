import type { GenerateRequest, GenerateResult, Provider } from './Provider.ts';
import { countTokens } from '../policy/index.ts';
import { KoubouError } from '../core/errors.ts';

export interface InProcessSimOptions {
  /** Milliseconds before the answer. Default 0. */
  latencyMs?: number;
  /** Output tokens to produce. Default 20. */
  outputTokens?: number;
  /** Fail every call with this code (tests of failure paths). */
  failWith?: { code: string; message: string; retryable?: boolean; rateLimited?: boolean };
}

/**
 * A simulated backend that answers in-process without HTTP: the executor of
 * workers until a real provider is configured, and of zero-latency benchmarks.
 * Its answers say they are simulated.
 */
export class InProcessSimProvider implements Provider {
  readonly name = 'sim';
  constructor(private readonly options: InProcessSimOptions = {}) {}

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const { latencyMs = 0, outputTokens = 20, failWith } = this.options;
    if (latencyMs > 0) await abortableSleep(latencyMs, request.signal);
    if (request.signal?.aborted) throw new KoubouError('ABORTED', 'the call was aborted');
    if (failWith) {
      const err = new KoubouError(failWith.code, failWith.message, { retryable: failWith.retryable ?? false });
      throw Object.assign(err, { rateLimited: failWith.rateLimited ?? false });
    }
    const prompt = request.messages.map((m) => m.content).join('\n');
    const promptTokens = countTokens(prompt);
    const text = `[simulated ${request.model}] ${'ok '.repeat(Math.max(1, outputTokens - 4)).trim()}`;
    request.onProgress?.({ tokens: outputTokens, tokensPerSecond: latencyMs > 0 ? (outputTokens * 1000) / latencyMs : outputTokens * 1000 });
    return {
      text,
      model: request.model,
      usage: { promptTokens, cachedPromptTokens: 0, completionTokens: outputTokens, reasoningTokens: 0 },
    };
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new KoubouError('ABORTED', 'the call was aborted'));
    }, { once: true });
  });
}

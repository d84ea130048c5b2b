/**
 * gpt-oss-20b served by LM Studio, whose server speaks OpenAI's chat
 * completions API: the OpenAI provider pointed at it, with LM Studio's hints.
 */
import { OpenAIProvider } from './OpenAIProvider.ts';

export interface LMStudioProviderOptions {
  /** Default `http://localhost:1234/v1`. */
  baseURL?: string;
  /** Only when the server requires a token; LM Studio takes none by default. */
  apiKey?: string;
  /** Idle timeout. Default 300 000. */
  timeoutMs?: number;
  name?: string;
  progressIntervalMs?: number;
}

/**
 * @example
 * const lms = new LMStudioProvider();
 * await lms.health('openai/gpt-oss-20b'); // GET /v1/models lists it
 * await lms.generate({ model: 'openai/gpt-oss-20b', maxOutputTokens: 8192, messages });
 */
export class LMStudioProvider extends OpenAIProvider {
  constructor(options: LMStudioProviderOptions = {}) {
    super({
      // The SDK insists on a key; LM Studio ignores it (its docs use this placeholder).
      apiKey: options.apiKey ?? 'lm-studio',
      baseURL: options.baseURL ?? 'http://localhost:1234/v1',
      timeoutMs: options.timeoutMs ?? 300_000,
      name: options.name ?? 'lmstudio',
      ...(options.progressIntervalMs === undefined ? {} : { progressIntervalMs: options.progressIntervalMs }),
    });
  }

  protected override authMessage(): string {
    return `${this.name} at ${this.baseURL} requires an API token (401): turn off "Require authentication" in LM Studio's server settings`;
  }

  protected override missingModelMessage(model: string, available?: string[]): string {
    const list = available?.length ? ` (loaded: ${available.slice(0, 10).join(', ')})` : '';
    return `model "${model}" is not available in LM Studio at ${this.baseURL}${list}: download it and load it (\`lms load ${model}\`)`;
  }
}

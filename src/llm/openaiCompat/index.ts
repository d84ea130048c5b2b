/** OpenAI-API shapes for the gateway: requests read into a task prompt, outcomes written back. */
export * from './requests.ts';
export * from './responses.ts';

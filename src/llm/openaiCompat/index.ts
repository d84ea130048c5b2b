export { chatConversation, responsesConversation, conversationPrompt, conversationStart } from './requests.ts';
export { chatCompletion, responsesResponse, type Answer } from './responses.ts';
export { ChatStreamWriter, ResponsesStreamWriter, type StreamWriter, type ToolCallDelta } from './streams.ts';

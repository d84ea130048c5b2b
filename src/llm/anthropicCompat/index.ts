export { messagesConversation } from './requests.ts';
export { errorTypeOf, messagesError, messagesMessage, messagesUsage, toolInput } from './responses.ts';
export { MessagesStreamWriter } from './streams.ts';

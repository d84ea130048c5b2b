export { parseEvalCases, type EvalCase } from './evalCases.ts';
export { wrapAsk, wrapperOf, type CapturedRequest, type ClientWrapper } from './clientWrapper.ts';
export { evaluateRouting, type EvalMiss, type EvalRun } from './evaluateRouting.ts';
export { formatEvalRun } from './formatEvalRun.ts';

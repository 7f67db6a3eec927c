/** The inference engine: load a model, evaluate tokens, generate text (for run, chat and the server). */
export {Engine, type CacheContents, type EvaluateResult, type GenerateOptions, type GenerationResult, type LogitsCallback, type StopReason, type TokenCallback} from './engine.js'
export {formatPerf, type Timings} from './timings.js'

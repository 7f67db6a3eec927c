/** Sampling: parameters with llama.cpp's defaults, the sampler chain, the PRNG, stop strings. */
export {DEFAULT_SAMPLING, GREEDY, resolveSampling, type SamplingParams} from './params.js'
export {Rng} from './rng.js'
export {Sampler} from './sampler.js'
export {StopMatcher, type StopResult} from './stop.js'

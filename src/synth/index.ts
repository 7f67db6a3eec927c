/** The synthesizer's public API: `synthesize` writes a model; `planSynth` describes one without writing. */
export {synthesize, type SynthOptions, type SynthProgress, type SynthResult} from './synthesize.js'
export {planSynth, type PlannedTensor, type SynthPlan, type SynthPlanOptions} from './plan.js'
export {MIN_VOCAB, resolveShape, type ShapeOverrides, type SynthShape} from './shape.js'
export {compareTensorNames, synthTensors, useMoreBits, type SynthTensor} from './tensors.js'

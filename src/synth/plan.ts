/**
 * Everything about a synthetic model except its tensor data: shape, metadata in the order and types
 * llama.cpp's quantizer writes them (compare test/fixtures/tiny-*), tensor table and layout.
 */
import {tensorBytes} from '../gguf/ggml-types.js'
import {type GGUFKV, GGUFValueType} from '../gguf/types.js'
import {encodeGGUFHeader, layoutTensors, type TensorSpec} from '../gguf/writer.js'
import {LlmfragError} from '../errors.js'
import {Prng} from '../util/prng.js'
import {resolveShape, type ShapeOverrides, type SynthShape} from './shape.js'
import {elementCount, synthTensors, type SynthTensor} from './tensors.js'
import {spmVocab, tekkenVocab} from './vocab.js'

export const GGUF_VERSION = 3
export const ALIGNMENT = 32
const FILE_TYPE_Q4_K_M = 15 // llama_ftype LLAMA_FTYPE_MOSTLY_Q4_K_M
const QUANTIZATION_VERSION = 2 // GGML_QNT_VERSION
const VOCAB_STREAM = 0 // PRNG stream of the vocabulary (tensors use a hash of their name)

export interface SynthPlanOptions extends ShapeOverrides {
  /** A profile name (src/profiles/profiles.ts). */
  architecture: string
  /** 0 .. 2^32-1; default 0. The same seed and options give the same bytes. */
  seed?: number
  /** general.name; default `synth-<profile>`. */
  name?: string
}

export type PlannedTensor = SynthTensor & TensorSpec & {readonly bytes: number}

export interface SynthPlan {
  readonly shape: SynthShape
  readonly seed: number
  readonly kv: readonly GGUFKV[]
  /** In file order, with data offsets (from the data section's start) and sizes. */
  readonly tensors: readonly PlannedTensor[]
  /** The encoded header, padded to the data section. */
  readonly header: Buffer
  readonly dataBytes: number
  readonly fileBytes: number
  readonly params: number
}

function u32(key: string, value: number): GGUFKV {
  return {key, type: GGUFValueType.UINT32, value}
}

function f32(key: string, value: number): GGUFKV {
  return {key, type: GGUFValueType.FLOAT32, value}
}

function str(key: string, value: string): GGUFKV {
  return {key, type: GGUFValueType.STRING, value}
}

export function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new LlmfragError('BAD_INPUT', `--seed: must be an integer from 0 to 4294967295, got ${seed}`, {details: {option: 'seed'}})
  }
  return seed
}

/** The hyper-parameter keys llama.cpp reads for `general.architecture = llama`. */
function modelKV(s: SynthShape, name: string): GGUFKV[] {
  return [
    str('general.architecture', 'llama'),
    str('general.name', name),
    u32('llama.vocab_size', s.vocab),
    u32('llama.context_length', s.contextLength),
    u32('llama.embedding_length', s.dim),
    u32('llama.block_count', s.layers),
    u32('llama.feed_forward_length', s.ffnHidden),
    u32('llama.rope.dimension_count', s.headDim),
    u32('llama.attention.head_count', s.heads),
    u32('llama.attention.head_count_kv', s.kvHeads),
    u32('llama.attention.key_length', s.headDim),
    u32('llama.attention.value_length', s.headDim),
    f32('llama.attention.layer_norm_rms_epsilon', s.rmsEps),
    f32('llama.rope.freq_base', s.ropeBase),
  ]
}

export function planSynth(options: SynthPlanOptions): SynthPlan {
  const seed = checkSeed(options.seed ?? 0)
  const shape = resolveShape(options.architecture, options)
  const vocabRng = new Prng(seed, VOCAB_STREAM)
  const vocab = shape.tokenizer === 'spm-v3' ? spmVocab(shape.vocab, vocabRng) : tekkenVocab(shape.vocab, vocabRng)
  const name = options.name ?? `synth-${shape.base.name}`
  const kv: GGUFKV[] = [
    ...modelKV(shape, name),
    ...vocab.kv,
    u32('general.quantization_version', QUANTIZATION_VERSION),
    u32('general.file_type', FILE_TYPE_Q4_K_M),
  ]
  const list = synthTensors(shape)
  const {specs, dataBytes} = layoutTensors(list, ALIGNMENT)
  // layoutTensors has checked every size, so tensorBytes returns a number here.
  const tensors = list.map((t, i): PlannedTensor => ({...t, offset: specs[i].offset, bytes: tensorBytes(t.type, t.dims) as number}))
  const header = encodeGGUFHeader({version: GGUF_VERSION, kv, tensors: specs, alignment: ALIGNMENT})
  return {
    shape, seed, kv, tensors, header, dataBytes,
    fileBytes: header.length + dataBytes,
    params: list.reduce((n, t) => n + elementCount(t.dims), 0),
  }
}

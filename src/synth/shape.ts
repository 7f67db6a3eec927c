/**
 * The hyper-parameters of a synthetic model: a profile's row of src/profiles/profiles.ts, optionally
 * shortened (`layers`) or reshaped (dims, heads, vocab, context) into a `llama-family (custom)` model
 * for small tests. Validation names the option and says why a value cannot work.
 */
import {LlmfragError} from '../errors.js'
import {CUSTOM_PROFILE} from '../profiles/detect.js'
import {type ArchitectureProfile, PROFILE_NAMES, profileByName} from '../profiles/profiles.js'

/** Overrides of a profile's shape; every field optional. */
export interface ShapeOverrides {
  layers?: number
  dim?: number // embedding_length
  ffnHidden?: number // feed_forward_length
  heads?: number
  kvHeads?: number
  headDim?: number // key_length = value_length = rope.dimension_count
  vocab?: number
  context?: number
}

export interface SynthShape {
  /** The profile's name, or `llama-family (custom)` when any structural dim (layers too) differs from it. */
  readonly label: string
  readonly base: ArchitectureProfile
  readonly dim: number
  readonly ffnHidden: number
  readonly layers: number
  readonly heads: number
  readonly kvHeads: number
  readonly headDim: number
  readonly vocab: number
  readonly contextLength: number
  readonly ropeBase: number
  readonly rmsEps: number
  readonly tokenizer: ArchitectureProfile['tokenizer']
}

const QK_K = 256 // quantized rows must hold whole 256-value super-blocks
const RMS_EPS = 1e-5 // Mistral 7B v0.3 and Magistral both use 1e-5

/** Smallest vocabularies that hold a layout's fixed tokens plus some learned pieces. */
export const MIN_VOCAB: Record<ArchitectureProfile['tokenizer'], number> = {
  'spm-v3': 1027 + 95 + 1, // controls and bytes, the 95-character alphabet, one learned piece
  tekken: 1256 + 1, // specials and bytes, one merge
}

function bad(option: string, message: string, hints: string[] = []): LlmfragError {
  return new LlmfragError('BAD_INPUT', `--${option}: ${message}`, {hints, details: {option}})
}

function positiveInt(option: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw bad(option, `must be a positive integer, got ${v}`)
}

/** Resolves a profile name and overrides into a checked shape. */
export function resolveShape(architecture: string, o: ShapeOverrides = {}): SynthShape {
  const base = profileByName(architecture)
  if (!base) {
    throw new LlmfragError('BAD_INPUT', `unknown architecture ${JSON.stringify(architecture)}`, {
      hints: [`known architectures: ${PROFILE_NAMES.join(', ')}`, 'use --dim, --heads, ... on a known one to make a custom shape'],
      details: {architecture},
    })
  }
  const names: Array<[keyof ShapeOverrides, string]> = [
    ['layers', 'layers'], ['dim', 'dim'], ['ffnHidden', 'ffn-hidden'], ['heads', 'heads'], ['kvHeads', 'kv-heads'],
    ['headDim', 'head-dim'], ['vocab', 'vocab'], ['context', 'context'],
  ]
  for (const [key, option] of names) positiveInt(option, o[key])

  const dim = o.dim ?? base.dim
  const heads = o.heads ?? base.heads
  // A new dim or head count without --head-dim means the classic dim / heads split.
  const headDim = o.headDim ?? (dim === base.dim && heads === base.heads ? base.headDim : dim / heads)
  const shape: SynthShape = {
    label: base.name,
    base,
    dim,
    ffnHidden: o.ffnHidden ?? base.ffnHidden,
    layers: o.layers ?? base.layers,
    heads,
    kvHeads: o.kvHeads ?? base.kvHeads,
    headDim,
    vocab: o.vocab ?? base.vocab,
    contextLength: o.context ?? base.contextLength,
    ropeBase: base.ropeBase,
    rmsEps: RMS_EPS,
    tokenizer: base.tokenizer,
  }
  check(shape)
  // The label detection (src/profiles/detect.ts) will give the file: any structural change, fewer
  // layers included, makes it a custom llama-family model.
  const same = shape.dim === base.dim && shape.ffnHidden === base.ffnHidden && shape.layers === base.layers &&
    shape.heads === base.heads && shape.kvHeads === base.kvHeads && shape.headDim === base.headDim && shape.vocab === base.vocab
  return same ? shape : {...shape, label: CUSTOM_PROFILE}
}

function check(s: SynthShape): void {
  const mult = 'quantized rows hold whole 256-value Q4_K/Q6_K super-blocks'
  if (s.dim % QK_K !== 0) throw bad('dim', `must be a multiple of ${QK_K}, got ${s.dim}`, [mult])
  if (s.ffnHidden % QK_K !== 0) throw bad('ffn-hidden', `must be a multiple of ${QK_K}, got ${s.ffnHidden}`, [mult])
  if (!Number.isInteger(s.headDim)) throw bad('head-dim', `dim ${s.dim} is not divisible by ${s.heads} heads; give --head-dim`)
  if ((s.heads * s.headDim) % QK_K !== 0) {
    throw bad('heads', `heads x head-dim (${s.heads} x ${s.headDim} = ${s.heads * s.headDim}) must be a multiple of ${QK_K}`, [mult, 'it is the row length of attn_output.weight'])
  }
  if (s.headDim % 2 !== 0) throw bad('head-dim', `must be even (RoPE rotates pairs), got ${s.headDim}`)
  if (s.heads % s.kvHeads !== 0) throw bad('kv-heads', `${s.heads} heads are not a multiple of ${s.kvHeads} kv heads (grouped-query attention)`)
  const minVocab = MIN_VOCAB[s.tokenizer]
  if (s.vocab < minVocab) throw bad('vocab', `must be at least ${minVocab} for a ${s.tokenizer} vocabulary (fixed tokens), got ${s.vocab}`)
  if (s.vocab > 1 << 20) throw bad('vocab', `must be at most ${1 << 20}, got ${s.vocab}`)
}

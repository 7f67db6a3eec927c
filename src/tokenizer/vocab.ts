/**
 * The vocabulary as llama.cpp reads it from GGUF `tokenizer.*` metadata (llama-vocab.cpp `load`):
 * token texts, scores and types, the special ids, the add_bos / add_eos / add_space_prefix flags
 * with llama.cpp's per-model defaults in one place, and the list of special tokens that text is
 * split on before tokenizing. Ids are never hard-coded: specials are found by their type and text.
 */
import {LlmfragError} from '../errors.js'
import type {Metadata} from '../gguf/metadata.js'

/** GGUF `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`). */
export const TokenType = {
  UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6,
} as const
export type TokenTypeName = 'undefined' | 'normal' | 'unknown' | 'control' | 'user_defined' | 'unused' | 'byte'
const TYPE_NAMES: readonly TokenTypeName[] = ['undefined', 'normal', 'unknown', 'control', 'user_defined', 'unused', 'byte']

export function tokenTypeName(type: number): TokenTypeName {
  return TYPE_NAMES[type] ?? 'undefined'
}

/** `llama`: SentencePiece-style (scores, byte fallback); `gpt2`: byte-level BPE (merges). */
export type VocabModel = 'llama' | 'gpt2'

export interface Vocab {
  /** Where the metadata came from, for error messages. */
  readonly file: string
  readonly model: VocabModel
  /** `tokenizer.ggml.pre` ('default' when absent). */
  readonly pre: string
  /** Token texts, indexed by id (SPM: `▁` for space; BPE: GPT-2 byte-to-unicode characters). */
  readonly tokens: readonly string[]
  /** SPM merge scores (higher merges first), 0 when the file has none; float32 like the file. */
  readonly scores: Float32Array
  /** Token types (TokenType values), NORMAL when the file has none. */
  readonly types: Uint8Array
  /** Text → id. Where two ids share a text the later one wins, as in llama.cpp's token_to_id. */
  readonly idOf: ReadonlyMap<string, number>
  readonly bos: number | undefined
  readonly eos: number | undefined
  readonly unk: number | undefined
  readonly pad: number | undefined
  /** End-of-generation ids: eos and, when present, eot / eom. */
  readonly eog: ReadonlySet<number>
  readonly addBos: boolean
  readonly addEos: boolean
  /** SPM: prepend a space to the first text fragment and to each one that follows a special token. */
  readonly addSpacePrefix: boolean
  /** BPE: emit a pre-token that is itself a token whole, without merging (tekken). */
  readonly ignoreMerges: boolean
  /** BPE merges, "left right" strings in rank order (empty for SPM). */
  readonly merges: readonly string[]
  /**
   * Ids of CONTROL, USER_DEFINED and UNKNOWN tokens, longest text (in UTF-8 bytes) first: the order
   * llama.cpp's tokenizer_st_partition tries them in, so `[/INST]` wins over a shorter overlap.
   */
  readonly specials: readonly number[]
}

const PRE_TOKENIZERS: ReadonlySet<string> = new Set(['tekken'])

/** Reads and checks the tokenizer keys of a model's metadata. */
export function readVocab(md: Metadata): Vocab {
  const model = md.string('tokenizer.ggml.model')
  if (model !== 'llama' && model !== 'gpt2') {
    throw new LlmfragError('UNSUPPORTED', `${md.file}: tokenizer.ggml.model is "${model}"; supported are "llama" (SentencePiece) and "gpt2" (byte-level BPE)`, {
      hints: ['llmfrag runs Mistral 7B v0.3 (llama) and Magistral (gpt2 + tekken) tokenizers'],
      details: {file: md.file, key: 'tokenizer.ggml.model', actual: model},
    })
  }
  const pre = md.optString('tokenizer.ggml.pre') ?? 'default'
  if (model === 'gpt2' && !PRE_TOKENIZERS.has(pre)) {
    throw new LlmfragError('UNSUPPORTED', `${md.file}: tokenizer.ggml.pre is "${pre}"; the byte-level BPE tokenizer supports pre-tokenizer ${[...PRE_TOKENIZERS].join(', ')}`, {
      hints: ['Magistral GGUFs from a current llama.cpp converter carry tokenizer.ggml.pre = tekken'],
      details: {file: md.file, key: 'tokenizer.ggml.pre', actual: pre},
    })
  }

  const tokens = md.strings('tokenizer.ggml.tokens')
  const n = tokens.length
  if (n === 0) throw badKey(md.file, 'tokenizer.ggml.tokens', 'at least one token', 'an empty array')
  const scores = new Float32Array(n)
  const rawScores = md.optNumbers('tokenizer.ggml.scores')
  if (rawScores) {
    if (rawScores.length !== n) throw badKey(md.file, 'tokenizer.ggml.scores', `${n} scores (one per token)`, `${rawScores.length}`)
    scores.set(rawScores)
  }
  const types = new Uint8Array(n).fill(TokenType.NORMAL)
  const rawTypes = md.optNumbers('tokenizer.ggml.token_type')
  if (rawTypes) {
    if (rawTypes.length !== n) throw badKey(md.file, 'tokenizer.ggml.token_type', `${n} types (one per token)`, `${rawTypes.length}`)
    for (let i = 0; i < n; i++) {
      const t = rawTypes[i]
      if (!(t >= 0 && t <= TokenType.BYTE)) throw badKey(md.file, `tokenizer.ggml.token_type[${i}]`, 'a type from 0 to 6', String(t))
      types[i] = t
    }
  }
  const idOf = new Map<string, number>()
  for (let i = 0; i < n; i++) idOf.set(tokens[i], i)

  // llama.cpp's defaults per tokenizer model; the file's keys override them.
  const spm = model === 'llama'
  const id = (key: string, fallback: number | undefined): number | undefined => {
    const v = md.optNumber(key)
    const value = v === undefined ? fallback : v
    if (value === undefined || value === -1) return undefined
    if (!Number.isInteger(value) || value < 0 || value >= n) throw badKey(md.file, key, `a token id below ${n}`, String(value))
    return value
  }
  const bos = id('tokenizer.ggml.bos_token_id', spm ? 1 : undefined)
  const eos = id('tokenizer.ggml.eos_token_id', spm ? 2 : undefined)
  const unk = id('tokenizer.ggml.unknown_token_id', spm ? 0 : undefined)
  const pad = id('tokenizer.ggml.padding_token_id', undefined)
  const eog = new Set<number>()
  for (const e of [eos, id('tokenizer.ggml.eot_token_id', undefined), id('tokenizer.ggml.eom_token_id', undefined)]) {
    if (e !== undefined) eog.add(e)
  }
  const addBos = md.optBool('tokenizer.ggml.add_bos_token') ?? true // SPM and tekken both default to BOS
  const addEos = md.optBool('tokenizer.ggml.add_eos_token') ?? false
  if (addBos && bos === undefined) throw badKey(md.file, 'tokenizer.ggml.bos_token_id', 'a BOS id (add_bos_token is true)', 'none')
  if (addEos && eos === undefined) throw badKey(md.file, 'tokenizer.ggml.eos_token_id', 'an EOS id (add_eos_token is true)', 'none')
  const addSpacePrefix = spm ? md.optBool('tokenizer.ggml.add_space_prefix') ?? true : false

  const merges = spm ? [] : md.strings('tokenizer.ggml.merges')

  const encoder = new TextEncoder()
  const specials: Array<{id: number; bytes: number}> = []
  for (let i = 0; i < n; i++) {
    const t = types[i]
    if ((t === TokenType.CONTROL || t === TokenType.USER_DEFINED || t === TokenType.UNKNOWN) && tokens[i].length > 0) {
      specials.push({id: i, bytes: encoder.encode(tokens[i]).length})
    }
  }
  specials.sort((a, b) => b.bytes - a.bytes || a.id - b.id)

  return {
    file: md.file, model, pre, tokens, scores, types, idOf, bos, eos, unk, pad, eog, addBos, addEos, addSpacePrefix,
    ignoreMerges: pre === 'tekken', merges, specials: specials.map((s) => s.id),
  }
}

function badKey(file: string, key: string, expected: string, actual: string): LlmfragError {
  return new LlmfragError('BAD_INPUT', `${file}: metadata key ${key}: expected ${expected}, got ${actual}`, {
    hints: ['the tokenizer metadata is inconsistent; re-convert the model with a current llama.cpp'],
    details: {file, key, expected, actual},
  })
}

/**
 * Architecture profiles as data (DESIGN section 6). Adding a model family is adding a row here and
 * a test. `vocab` is the tokenizer size; `ropeBase` the rope.freq_base the published files carry.
 */
export interface ArchitectureProfile {
  readonly name: string
  readonly dim: number // embedding_length
  readonly ffnHidden: number // feed_forward_length
  readonly layers: number // block_count
  readonly heads: number // attention.head_count
  readonly kvHeads: number // attention.head_count_kv
  readonly headDim: number // attention.key_length (= dim / heads unless stated)
  readonly vocab: number
  readonly ropeBase: number
  readonly contextLength: number // context_length of the published model
  /** Tokenizer layout of the published model: SentencePiece (v0.3) or Tekken byte-level BPE. */
  readonly tokenizer: 'spm-v3' | 'tekken'
}

export const PROFILES: readonly ArchitectureProfile[] = [
  {name: 'magistral', dim: 5120, ffnHidden: 32768, layers: 40, heads: 32, kvHeads: 8, headDim: 128, vocab: 131072, ropeBase: 1e9, contextLength: 131072, tokenizer: 'tekken'},
  {name: 'mistral_7b', dim: 4096, ffnHidden: 14336, layers: 32, heads: 32, kvHeads: 8, headDim: 128, vocab: 32768, ropeBase: 1e6, contextLength: 32768, tokenizer: 'spm-v3'},
]

export function profileByName(name: string): ArchitectureProfile | undefined {
  return PROFILES.find((p) => p.name === name)
}

export const PROFILE_NAMES = PROFILES.map((p) => p.name)

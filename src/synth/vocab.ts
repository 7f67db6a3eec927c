/**
 * Synthetic tokenizer metadata in the id layouts of the real models (token_type: 1 NORMAL,
 * 2 UNKNOWN, 3 CONTROL, 6 BYTE, as llama.cpp's llama_token_type):
 * - `spm-v3` (Mistral 7B v0.3, `tokenizer.ggml.model = llama`, pre `default`): 0 <unk>, 1 <s>,
 *   2 </s>, 3..9 the v3 tool/instruction controls, 10..770 [control_8]..[control_768], 771..1026
 *   <0x00>..<0xFF>, then learned pieces scored -rank, and last the single characters.
 * - `tekken` (Magistral, `gpt2`, pre `tekken`): 0..999 control specials, 1000..1255 the 256 bytes as
 *   GPT-2 byte-to-unicode characters, then token 1256 + k = merge k (`tokenizer.ggml.merges`).
 * The same key order and value types as the fixtures (test/fixtures/tiny-*).
 */
import {type GGUFKV, GGUFValueType} from '../gguf/types.js'
import {growMerges, textAlphabet} from './pieces.js'
import type {Prng} from '../util/prng.js'
import {BYTE_CHARS} from '../tokenizer/bytes.js'

const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6

const SPM_SPECIALS = ['<unk>', '<s>', '</s>', '[INST]', '[/INST]', '[TOOL_CALLS]', '[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]']
const SPM_SPACE = '\u2581' // ▁

const TEKKEN_SPECIALS = [
  '<unk>', '<s>', '</s>', '[INST]', '[/INST]', '[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]',
  '[TOOL_CALLS]', '[IMG]', '<pad>', '[IMG_BREAK]', '[IMG_END]', '[PREFIX]', '[MIDDLE]', '[SUFFIX]', '[SYSTEM_PROMPT]',
  '[/SYSTEM_PROMPT]', '[TOOL_CONTENT]',
]
const TEKKEN_NAMED: ReadonlyMap<number, string> = new Map([[34, '[THINK]'], [35, '[/THINK]']])
const TEKKEN_SPECIAL_COUNT = 1000

export interface Vocab {
  readonly kv: GGUFKV[]
  readonly tokens: readonly string[]
}

function kv(key: string, type: GGUFValueType, value: GGUFKV['value']): GGUFKV {
  return {key, type, value}
}

function strings(key: string, items: string[]): GGUFKV {
  return kv(key, GGUFValueType.ARRAY, {itemType: GGUFValueType.STRING, items})
}

function int32s(key: string, items: number[]): GGUFKV {
  return kv(key, GGUFValueType.ARRAY, {itemType: GGUFValueType.INT32, items})
}

function ids(entries: Array<[string, number]>, addBos: boolean): GGUFKV[] {
  return [
    ...entries.map(([name, id]) => kv(`tokenizer.ggml.${name}`, GGUFValueType.UINT32, id)),
    kv('tokenizer.ggml.add_bos_token', GGUFValueType.BOOL, addBos),
    kv('tokenizer.ggml.add_eos_token', GGUFValueType.BOOL, false),
  ]
}

/** hex byte token text as SentencePiece writes it: `<0x0A>`. */
function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`
}

/** A Mistral v0.3 layout SentencePiece vocabulary of `size` tokens. */
export function spmVocab(size: number, rng: Prng): Vocab {
  const tokens: string[] = [...SPM_SPECIALS]
  const types: number[] = [UNKNOWN, ...SPM_SPECIALS.slice(1).map(() => CONTROL)]
  for (let i = tokens.length; i <= 770; i++) { tokens.push(`[control_${i - 2}]`); types.push(CONTROL) }
  for (let b = 0; b < 256; b++) { tokens.push(byteToken(b)); types.push(BYTE) }
  const scores: number[] = tokens.map(() => 0)

  const alphabet = [SPM_SPACE, ...textAlphabet()]
  const merges = growMerges(alphabet, size - tokens.length - alphabet.length, SPM_SPACE, rng, tokens)
  let rank = 0
  for (const m of merges) { tokens.push(m.piece); types.push(NORMAL); scores.push(-rank++) }
  for (const c of alphabet) { tokens.push(c); types.push(NORMAL); scores.push(-rank++) }

  return {
    tokens,
    kv: [
      kv('tokenizer.ggml.model', GGUFValueType.STRING, 'llama'),
      kv('tokenizer.ggml.pre', GGUFValueType.STRING, 'default'),
      strings('tokenizer.ggml.tokens', tokens),
      kv('tokenizer.ggml.scores', GGUFValueType.ARRAY, {itemType: GGUFValueType.FLOAT32, items: scores}),
      int32s('tokenizer.ggml.token_type', types),
      ...ids([['bos_token_id', 1], ['eos_token_id', 2], ['unknown_token_id', 0]], true),
    ],
  }
}

/** A Tekken layout byte-level BPE vocabulary of `size` tokens with its merges. */
export function tekkenVocab(size: number, rng: Prng): Vocab {
  const tokens: string[] = []
  for (let i = 0; i < TEKKEN_SPECIAL_COUNT; i++) tokens.push(TEKKEN_SPECIALS[i] ?? TEKKEN_NAMED.get(i) ?? `<SPECIAL_${i}>`)
  const types: number[] = tokens.map(() => CONTROL)
  const bytes = BYTE_CHARS
  for (const c of bytes) { tokens.push(c); types.push(NORMAL) }

  // Merge only text-like bytes (space, newline, printable ASCII); the rest stay single tokens.
  const space = bytes[0x20], newline = bytes[0x0a]
  const merges = growMerges([space, ...textAlphabet(), newline], size - tokens.length, space, rng, tokens)
  for (const m of merges) { tokens.push(m.piece); types.push(NORMAL) }

  return {
    tokens,
    kv: [
      kv('tokenizer.ggml.model', GGUFValueType.STRING, 'gpt2'),
      kv('tokenizer.ggml.pre', GGUFValueType.STRING, 'tekken'),
      strings('tokenizer.ggml.tokens', tokens),
      int32s('tokenizer.ggml.token_type', types),
      strings('tokenizer.ggml.merges', merges.map((m) => `${m.left} ${m.right}`)),
      ...ids([['bos_token_id', 1], ['eos_token_id', 2], ['unknown_token_id', 0], ['padding_token_id', 11]], true),
    ],
  }
}

/**
 * Byte-level BPE of one text fragment as llama.cpp does it for `tokenizer.ggml.model = gpt2`
 * (llm_tokenizer_bpe_session): the fragment is split into pre-tokens, each pre-token is written in
 * GPT-2's byte alphabet, and its characters are merged pair by pair, lowest merge rank first (ties:
 * leftmost). With `ignore_merges` (tekken) a pre-token that is itself a token is emitted whole.
 */
import {byteEncode} from './bytes.js'
import {mergeSymbols, type PairKey} from './merge.js'
import {TekkenPreTokenizer} from './pretokenize.js'
import type {Vocab} from './vocab.js'

/** Distinct pre-tokens remembered; text repeats words, and a word always encodes the same way. */
const WORD_CACHE_LIMIT = 1 << 16

export class BpeEncoder {
  /** "left right" → rank (position in tokenizer.ggml.merges; the first occurrence wins). */
  private readonly ranks = new Map<string, number>()
  private readonly pre = new TekkenPreTokenizer()
  private readonly cache = new Map<string, readonly number[]>()
  private readonly keyOf: PairKey

  constructor(private readonly vocab: Vocab) {
    // llama.cpp splits each merge at its first space after position 0 and looks pairs up as
    // (left, right); byte-level texts never contain a raw space, so the merge string itself is the key.
    vocab.merges.forEach((m, rank) => {
      if (m.indexOf(' ', 1) > 0 && !this.ranks.has(m)) this.ranks.set(m, rank)
    })
    const ranks = this.ranks
    this.keyOf = (text, start, mid, end) => ranks.get(`${text.slice(start, mid)} ${text.slice(mid, end)}`)
  }

  /** Appends the ids of `fragment` (raw text, no special tokens in it) to `out`. */
  encode(fragment: string, out: number[]): void {
    for (const word of this.pre.split(fragment)) {
      const encoded = byteEncode(word)
      let ids = this.cache.get(encoded)
      if (ids === undefined) {
        ids = this.encodeWord(encoded)
        if (this.cache.size >= WORD_CACHE_LIMIT) this.cache.clear()
        this.cache.set(encoded, ids)
      }
      for (const id of ids) out.push(id)
    }
  }

  /** Ids of one byte-encoded pre-token. */
  private encodeWord(word: string): number[] {
    const {idOf} = this.vocab
    const whole = this.vocab.ignoreMerges ? idOf.get(word) : undefined
    if (whole !== undefined) return [whole]
    // every byte character is one UTF-16 unit, so the initial symbols start at 0, 1, 2, ...
    const starts = Array.from({length: word.length}, (_, i) => i)
    const ids: number[] = []
    for (const symbol of mergeSymbols(word, starts, this.keyOf)) {
      const id = idOf.get(symbol)
      if (id !== undefined) {
        ids.push(id)
        continue
      }
      // llama.cpp then looks each byte of the symbol's UTF-8 up as a one-character token and
      // drops the ones it cannot find; only a vocab without the 256 byte characters gets here
      for (const ch of symbol) {
        const single = ch.charCodeAt(0) < 0x80 ? idOf.get(ch) : undefined
        if (single !== undefined) ids.push(single)
      }
    }
    return ids
  }
}

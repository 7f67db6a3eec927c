/**
 * SentencePiece-style tokenization of one text fragment as llama.cpp does it for
 * `tokenizer.ggml.model = llama` (llm_tokenizer_spm_session): spaces become `▁`, the text is split
 * into characters, and the adjacent pair whose concatenation is a token with the highest score is
 * merged repeatedly (ties: leftmost). A final symbol that is not a token (a character outside the
 * vocab) falls back to its UTF-8 bytes as `<0xNN>` tokens.
 */
import {LlmfragError} from '../errors.js'
import {codePointStarts, mergeSymbols, type PairKey} from './merge.js'
import type {Vocab} from './vocab.js'

export const SPM_SPACE = '\u2581' // ▁

export class SpmEncoder {
  /** Token id of each byte value: `<0xNN>`, else the one-byte text itself (llama.cpp byte_to_token). */
  private readonly byteIds: Int32Array
  private readonly encoder = new TextEncoder()
  private readonly keyOf: PairKey

  constructor(private readonly vocab: Vocab) {
    this.byteIds = new Int32Array(256).fill(-1)
    for (let b = 0; b < 256; b++) {
      const hex = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`
      this.byteIds[b] = vocab.idOf.get(hex) ?? (b < 0x80 ? vocab.idOf.get(String.fromCharCode(b)) : undefined) ?? -1
    }
    const {idOf, scores} = vocab
    this.keyOf = (text, start, _mid, end) => {
      const id = idOf.get(text.slice(start, end))
      return id === undefined ? undefined : -scores[id]
    }
  }

  /**
   * Appends the ids of `fragment` to `out`. The caller adds the space prefix (llama.cpp prepends
   * one to the first fragment and to each fragment after a special token).
   */
  encode(fragment: string, out: number[]): void {
    const text = fragment.replaceAll(' ', SPM_SPACE)
    for (const symbol of mergeSymbols(text, codePointStarts(text), this.keyOf)) {
      const id = this.vocab.idOf.get(symbol)
      if (id !== undefined) {
        out.push(id)
        continue
      }
      for (const b of this.encoder.encode(symbol)) out.push(this.byteId(b, symbol))
    }
  }

  private byteId(b: number, symbol: string): number {
    const id = this.byteIds[b]
    if (id >= 0) return id
    if (this.vocab.unk !== undefined) return this.vocab.unk
    throw new LlmfragError('BAD_INPUT', `${this.vocab.file}: the vocabulary has no byte token <0x${b.toString(16).toUpperCase().padStart(2, '0')}> for ${JSON.stringify(symbol)} and no unknown token`, {
      hints: ['an SPM vocabulary needs the 256 <0xNN> byte-fallback tokens; re-convert the model with a current llama.cpp'],
      details: {file: this.vocab.file, byte: b},
    })
  }
}

/**
 * Token → bytes, as llama.cpp's `token_to_piece` and `detokenize` produce them:
 * - SPM: NORMAL texts with `▁` → space; BYTE tokens `<0xNN>` → that byte.
 * - BPE: NORMAL texts mapped back through GPT-2's byte alphabet.
 * - CONTROL and UNKNOWN tokens give their text only when `special` is set (else nothing);
 *   USER_DEFINED always give their text; other types give nothing.
 * Text is made from the joined bytes with TextDecoder, never byte by byte.
 */
import {CHAR_BYTES} from './bytes.js'
import {SPM_SPACE} from './spm.js'
import {TokenType, type Vocab} from './vocab.js'

const EMPTY = new Uint8Array(0)

export class PieceTable {
  /** Piece of each id with special = true, made on first use (llama.cpp caches them all at load). */
  private readonly cache: Array<Uint8Array | undefined>
  private readonly encoder = new TextEncoder()

  constructor(private readonly vocab: Vocab) {
    this.cache = new Array<Uint8Array | undefined>(vocab.tokens.length)
  }

  /** Bytes of token `id`; `special` renders CONTROL/UNKNOWN texts (else they are empty). */
  piece(id: number, special: boolean): Uint8Array {
    const type = this.vocab.types[id]
    if (!special && (type === TokenType.CONTROL || type === TokenType.UNKNOWN)) return EMPTY
    let p = this.cache[id]
    if (p === undefined) {
      p = this.make(id)
      this.cache[id] = p
    }
    return p
  }

  private make(id: number): Uint8Array {
    const text = this.vocab.tokens[id]
    switch (this.vocab.types[id]) {
      case TokenType.CONTROL:
      case TokenType.UNKNOWN:
      case TokenType.USER_DEFINED:
        return this.encoder.encode(text)
      case TokenType.NORMAL:
        return this.vocab.model === 'llama' ? this.encoder.encode(text.replaceAll(SPM_SPACE, ' ')) : this.byteDecode(text)
      case TokenType.BYTE:
        // SPM `<0xNN>`; a byte-level BPE vocab has no BYTE tokens (llama.cpp renders them as nothing)
        return this.vocab.model === 'llama' ? Uint8Array.of(parseInt(text.slice(3, 5), 16) & 0xff) : EMPTY
      default:
        return EMPTY
    }
  }

  /** BPE token text → bytes; a character outside the byte alphabet is rendered as llama.cpp does. */
  private byteDecode(text: string): Uint8Array {
    const out: number[] = []
    for (const ch of text) {
      const code = ch.codePointAt(0) ?? 0
      const b = code < CHAR_BYTES.length ? CHAR_BYTES[code] : -1
      if (b >= 0) {
        out.push(b)
        continue
      }
      const utf8 = this.encoder.encode(ch)
      const hex = Array.from(utf8, (x) => x.toString(16).padStart(2, '0')).join('')
      out.push(...this.encoder.encode(`[UNK_BYTE_0x${hex}${text}]`))
    }
    return Uint8Array.from(out)
  }
}

/** Joins pieces into one byte array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

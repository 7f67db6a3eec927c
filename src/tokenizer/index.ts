/**
 * The tokenizer the engine, the chat layer and `llmfrag tokenize` use, built from GGUF metadata:
 * SentencePiece-style for `tokenizer.ggml.model = llama` (Mistral 7B v0.3) and byte-level BPE with
 * the tekken pre-tokenizer for `gpt2` (Magistral). Its ids equal llama.cpp's `llama_tokenize` and
 * its text `llama_detokenize`, option for option (add_special, parse_special, remove_special,
 * unparse_special).
 */
import {LlmfragError} from '../errors.js'
import type {Metadata} from '../gguf/metadata.js'
import {BpeEncoder} from './bpe.js'
import {concatBytes, PieceTable} from './pieces.js'
import {type Fragment, isTextFragment, partitionSpecial} from './special.js'
import {SpmEncoder} from './spm.js'
import {readVocab, tokenTypeName, type TokenTypeName, type Vocab} from './vocab.js'

export {TokenType, type TokenTypeName} from './vocab.js'

export interface EncodeOptions {
  /** Add BOS (and EOS) as the vocab asks (add_bos_token / add_eos_token); llama.cpp's add_special. Default true. */
  readonly addSpecial?: boolean
  /** Turn control-token text (`[INST]`, `<s>`) into the control token; llama.cpp's parse_special. Default false. */
  readonly parseSpecial?: boolean
}

export interface DecodeOptions {
  /** Drop a leading BOS and a trailing EOS when the vocab adds them; llama.cpp's remove_special. Default false. */
  readonly removeSpecial?: boolean
  /** Render control tokens as their text (`[INST]`) instead of nothing; llama.cpp's unparse_special. Default false. */
  readonly unparseSpecial?: boolean
}

/** Input for encodeSegments: raw text (never searched for special tokens) or a token by id. */
export type Segment = string | {readonly id: number}

/** Decodes generated tokens one at a time, holding back bytes of a character not yet complete. */
export interface TokenStreamDecoder {
  /** Text that token `id` completes (may be empty while a multi-byte character is pending). */
  push(id: number): string
  /** Whatever is pending, with U+FFFD for an incomplete character. */
  flush(): string
}

export interface Tokenizer {
  /** `spm` for tokenizer.ggml.model = llama, `bpe` for gpt2. */
  readonly kind: 'spm' | 'bpe'
  /** tokenizer.ggml.pre (`default`, `tekken`). */
  readonly pre: string
  readonly vocabSize: number
  readonly bos: number | undefined
  readonly eos: number | undefined
  readonly unk: number | undefined
  readonly pad: number | undefined
  /** Ids that end generation (eos, eot, eom). */
  readonly eog: ReadonlySet<number>
  readonly addBos: boolean
  readonly addEos: boolean
  encode(text: string, options?: EncodeOptions): number[]
  /**
   * Ids of text pieces and tokens in order, as encode would give for the same text with
   * parseSpecial if the tokens were written as their texts, except that the text pieces are never
   * searched for special tokens (so user content cannot inject `[INST]`). Adjacent strings join.
   */
  encodeSegments(segments: readonly Segment[], options?: Pick<EncodeOptions, 'addSpecial'>): number[]
  decode(ids: readonly number[], options?: DecodeOptions): string
  decodeBytes(ids: readonly number[], options?: DecodeOptions): Uint8Array
  /** Bytes of one token; `special` (default true) renders control tokens as their text. */
  tokenToPiece(id: number, options?: {readonly special?: boolean}): Uint8Array
  /** The token's text as stored in the vocab (`▁Hello`, `ĠHello`, `<0x0A>`, `[INST]`). */
  tokenText(id: number): string
  /** Id of the token whose vocab text is exactly `text`. */
  tokenId(text: string): number | undefined
  tokenType(id: number): TokenTypeName
  isEog(id: number): boolean
  /** A streaming decoder for generation; `special` (default false) renders control tokens. */
  streamDecoder(options?: {readonly special?: boolean}): TokenStreamDecoder
}

/** Builds the tokenizer of a model from its metadata (fails with UNSUPPORTED or BAD_INPUT). */
export function createTokenizer(md: Metadata): Tokenizer {
  return new VocabTokenizer(readVocab(md))
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * The text llama.cpp would see: it tokenizes UTF-8, in which a lone surrogate cannot occur (it
 * arrives as U+FFFD, a symbol), so lone surrogates are replaced before any lookup or split.
 */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD')
}

class VocabTokenizer implements Tokenizer {
  readonly kind: 'spm' | 'bpe'
  private readonly encoder: {encode(fragment: string, out: number[]): void}
  private readonly pieces: PieceTable

  constructor(private readonly vocab: Vocab) {
    this.kind = vocab.model === 'llama' ? 'spm' : 'bpe'
    this.encoder = this.kind === 'spm' ? new SpmEncoder(vocab) : new BpeEncoder(vocab)
    this.pieces = new PieceTable(vocab)
  }

  get pre(): string { return this.vocab.pre }
  get vocabSize(): number { return this.vocab.tokens.length }
  get bos(): number | undefined { return this.vocab.bos }
  get eos(): number | undefined { return this.vocab.eos }
  get unk(): number | undefined { return this.vocab.unk }
  get pad(): number | undefined { return this.vocab.pad }
  get eog(): ReadonlySet<number> { return this.vocab.eog }
  get addBos(): boolean { return this.vocab.addBos }
  get addEos(): boolean { return this.vocab.addEos }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeFragments(partitionSpecial(wellFormed(text), this.vocab, options.parseSpecial ?? false), options.addSpecial ?? true)
  }

  encodeSegments(segments: readonly Segment[], options: Pick<EncodeOptions, 'addSpecial'> = {}): number[] {
    const fragments: Fragment[] = []
    for (const s of segments) {
      if (typeof s !== 'string') {
        this.check(s.id)
        fragments.push(s)
      } else if (s.length > 0) {
        const last = fragments.at(-1)
        if (last !== undefined && isTextFragment(last)) fragments[fragments.length - 1] = {text: last.text + s}
        else fragments.push({text: s})
      }
    }
    const clean = fragments.map((f) => (isTextFragment(f) ? {text: wellFormed(f.text)} : f))
    return this.encodeFragments(clean, options.addSpecial ?? true)
  }

  /** llama_tokenize_impl after partitioning: BOS, each fragment, EOS. */
  private encodeFragments(fragments: readonly Fragment[], addSpecial: boolean): number[] {
    const v = this.vocab
    const out: number[] = []
    if (addSpecial && v.addBos && v.bos !== undefined) out.push(v.bos)
    // SPM: a space goes before the first text fragment and before each one after a special token
    let afterSpecial = true
    for (const f of fragments) {
      if (isTextFragment(f)) {
        this.encoder.encode(v.addSpacePrefix && afterSpecial ? ' ' + f.text : f.text, out)
        afterSpecial = false
      } else {
        out.push(f.id)
        afterSpecial = true
      }
    }
    if (addSpecial && v.addEos && v.eos !== undefined) out.push(v.eos)
    return out
  }

  decodeBytes(ids: readonly number[], options: DecodeOptions = {}): Uint8Array {
    const v = this.vocab
    let first = 0
    let end = ids.length
    // SPM: the space the tokenizer added before the first fragment comes off again
    let removeSpace = v.addSpacePrefix
    if (options.removeSpecial && v.addBos && end > 0 && ids[0] === v.bos) {
      removeSpace = false
      first = 1
    }
    if (options.removeSpecial && v.addEos && end > first && ids[end - 1] === v.eos) end--
    const parts: Uint8Array[] = []
    for (let i = first; i < end; i++) {
      this.check(ids[i])
      let p = this.pieces.piece(ids[i], options.unparseSpecial ?? false)
      if (removeSpace && p.length > 0 && p[0] === 0x20) p = p.subarray(1)
      removeSpace = false
      parts.push(p)
    }
    return concatBytes(parts)
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return new TextDecoder('utf-8', {ignoreBOM: true}).decode(this.decodeBytes(ids, options))
  }

  tokenToPiece(id: number, options: {readonly special?: boolean} = {}): Uint8Array {
    this.check(id)
    return this.pieces.piece(id, options.special ?? true)
  }

  tokenText(id: number): string {
    this.check(id)
    return this.vocab.tokens[id]
  }

  tokenId(text: string): number | undefined {
    return this.vocab.idOf.get(text)
  }

  tokenType(id: number): TokenTypeName {
    this.check(id)
    return tokenTypeName(this.vocab.types[id])
  }

  isEog(id: number): boolean {
    return this.vocab.eog.has(id)
  }

  streamDecoder(options: {readonly special?: boolean} = {}): TokenStreamDecoder {
    const decoder = new TextDecoder('utf-8', {ignoreBOM: true})
    const special = options.special ?? false
    return {
      push: (id) => {
        this.check(id)
        return decoder.decode(this.pieces.piece(id, special), {stream: true})
      },
      flush: () => decoder.decode(),
    }
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.tokens.length) {
      throw new LlmfragError('BAD_INPUT', `token id ${id} is outside the vocabulary (0..${this.vocab.tokens.length - 1})`, {
        hints: ['token ids come from this model\'s own tokenizer; ids from another model do not carry over'],
        details: {id, vocabSize: this.vocab.tokens.length},
      })
    }
  }
}

/**
 * The tokenizer on small hand-made vocabularies (no model): SPM score order and leftmost ties,
 * byte fallback, BPE rank order and ignore_merges, special-token matching, and the errors that
 * name a bad metadata key.
 */
import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {Metadata} from '../../src/gguf/metadata.js'
import {type GGUFKV, GGUFValueType} from '../../src/gguf/types.js'
import {createTokenizer, TokenType} from '../../src/tokenizer/index.js'

const str = (key: string, value: string): GGUFKV => ({key, type: GGUFValueType.STRING, value})
const u32 = (key: string, value: number): GGUFKV => ({key, type: GGUFValueType.UINT32, value})
const bool = (key: string, value: boolean): GGUFKV => ({key, type: GGUFValueType.BOOL, value})
const arr = (key: string, itemType: GGUFValueType, items: Array<string | number>): GGUFKV =>
  ({key, type: GGUFValueType.ARRAY, value: {itemType, items}})

const BYTES = Array.from({length: 256}, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)

/** An SPM vocab: <unk> <s> </s> [INST] [/INST], 256 byte tokens, then `pieces` with their scores. */
function spm(pieces: Array<[string, number]>, extra: GGUFKV[] = []): Metadata {
  const tokens = ['<unk>', '<s>', '</s>', '[INST]', '[/INST]', ...BYTES, ...pieces.map((p) => p[0])]
  const types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL,
    ...BYTES.map(() => TokenType.BYTE), ...pieces.map(() => TokenType.NORMAL)]
  return new Metadata('spm.gguf', [
    str('tokenizer.ggml.model', 'llama'),
    arr('tokenizer.ggml.tokens', GGUFValueType.STRING, tokens),
    arr('tokenizer.ggml.scores', GGUFValueType.FLOAT32, [...tokens.slice(0, 261).map(() => 0), ...pieces.map((p) => p[1])]),
    arr('tokenizer.ggml.token_type', GGUFValueType.INT32, types),
    ...extra,
  ])
}

/** A tekken BPE vocab: 4 controls, one user-defined token, the 256 byte characters, then `merged`. */
function bpe(merges: string[], merged: string[], extra: GGUFKV[] = []): Metadata {
  const byteChars: string[] = []
  let n = 0
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
    byteChars.push(String.fromCharCode(printable ? b : 256 + n++))
  }
  const tokens = ['<unk>', '<s>', '</s>', '[INST]', '<tool>', ...byteChars, ...merged]
  const types = [TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.USER_DEFINED,
    ...byteChars.map(() => TokenType.NORMAL), ...merged.map(() => TokenType.NORMAL)]
  return new Metadata('bpe.gguf', [
    str('tokenizer.ggml.model', 'gpt2'),
    str('tokenizer.ggml.pre', 'tekken'),
    arr('tokenizer.ggml.tokens', GGUFValueType.STRING, tokens),
    arr('tokenizer.ggml.token_type', GGUFValueType.INT32, types),
    arr('tokenizer.ggml.merges', GGUFValueType.STRING, merges),
    u32('tokenizer.ggml.bos_token_id', 1),
    u32('tokenizer.ggml.eos_token_id', 2),
    ...extra,
  ])
}

const texts = (tok: ReturnType<typeof createTokenizer>, ids: number[]): string[] => ids.map((id) => tok.tokenText(id))

describe('tokenizer: SPM on a hand-made vocab', () => {
  it('merges the best-scoring pair first', () => {
    const tok = createTokenizer(spm([['▁', 0], ['a', -1], ['b', -1], ['c', -1], ['ab', -5], ['bc', -2], ['▁a', -9]]))
    expect(texts(tok, tok.encode('abc', {addSpecial: false}))).to.deep.equal(['▁a', 'bc'])
  })

  it('breaks score ties to the leftmost pair', () => {
    const tok = createTokenizer(spm([['▁', 0], ['a', -1], ['aa', -2]]))
    expect(texts(tok, tok.encode('aaa', {addSpecial: false}))).to.deep.equal(['▁', 'aa', 'a'])
  })

  it('falls back to <0xNN> byte tokens for characters outside the vocab', () => {
    const tok = createTokenizer(spm([['▁', 0], ['a', -1]]))
    expect(texts(tok, tok.encode('aé\n', {addSpecial: false}))).to.deep.equal(['▁', 'a', '<0xC3>', '<0xA9>', '<0x0A>'])
    expect(tok.decode(tok.encode('aé\n'))).to.equal(' aé\n') // after BOS the added space stays, as llama.cpp
  })

  it('adds a space before text that follows a special token, and honours add_space_prefix = false', () => {
    const pieces: Array<[string, number]> = [['▁', 0], ['a', -1], ['▁a', -2]]
    const tok = createTokenizer(spm(pieces))
    expect(texts(tok, tok.encode('[INST]a', {parseSpecial: true}))).to.deep.equal(['<s>', '[INST]', '▁a'])
    const bare = createTokenizer(spm(pieces, [bool('tokenizer.ggml.add_space_prefix', false)]))
    expect(texts(bare, bare.encode('[INST]a', {parseSpecial: true}))).to.deep.equal(['<s>', '[INST]', 'a'])
  })

  it('adds EOS when add_eos_token says so', () => {
    const tok = createTokenizer(spm([['▁', 0], ['a', -1]], [bool('tokenizer.ggml.add_eos_token', true)]))
    expect(texts(tok, tok.encode('a'))).to.deep.equal(['<s>', '▁', 'a', '</s>'])
    expect(tok.decode(tok.encode('a'), {removeSpecial: true})).to.equal(' a')
  })
})

describe('tokenizer: tekken BPE on a hand-made vocab', () => {
  it('merges by rank, lowest first, whatever the order of the pairs in the word', () => {
    const tok = createTokenizer(bpe(['b c', 'a b', 'a bc'], ['bc', 'ab', 'abc']))
    expect(texts(tok, tok.encode('abc', {addSpecial: false}))).to.deep.equal(['abc'])
    const noLast = createTokenizer(bpe(['b c', 'a b'], ['bc', 'ab']))
    expect(texts(noLast, noLast.encode('abc', {addSpecial: false}))).to.deep.equal(['a', 'bc'])
  })

  it('emits a pre-token that is a token whole, without merging (ignore_merges)', () => {
    // merges alone would give "ab" + "c"; "abc" is in the vocab, so it is used as it is
    const tok = createTokenizer(bpe(['a b'], ['ab', 'abc']))
    expect(texts(tok, tok.encode('abc', {addSpecial: false}))).to.deep.equal(['abc'])
    expect(texts(tok, tok.encode('abcd', {addSpecial: false}))).to.deep.equal(['ab', 'c', 'd'])
  })

  it('writes bytes in the GPT-2 alphabet (space Ġ, newline Ċ) and decodes them back', () => {
    const tok = createTokenizer(bpe(['Ġ a'], ['Ġa']))
    expect(texts(tok, tok.encode('x a\n', {addSpecial: false}))).to.deep.equal(['x', 'Ġa', 'Ċ'])
    expect(tok.decode(tok.encode('x a\n'))).to.equal('x a\n')
  })

  it('matches user-defined tokens always and control tokens only with parseSpecial', () => {
    const tok = createTokenizer(bpe([], []))
    expect(texts(tok, tok.encode('<tool>[INST]', {addSpecial: false}))).to.deep.equal(['<tool>', '[', 'I', 'N', 'S', 'T', ']'])
    expect(texts(tok, tok.encode('<tool>[INST]', {addSpecial: false, parseSpecial: true}))).to.deep.equal(['<tool>', '[INST]'])
  })
})

describe('tokenizer: metadata errors', () => {
  const codeOf = (f: () => unknown): string => {
    try {
      f()
    } catch (err) {
      expect(err).to.be.instanceOf(LlmfragError)
      return `${(err as LlmfragError).code}: ${(err as LlmfragError).message}`
    }
    return 'no error'
  }

  it('refuses other tokenizer models and BPE pre-tokenizers as UNSUPPORTED, naming the key', () => {
    expect(codeOf(() => createTokenizer(new Metadata('m.gguf', [str('tokenizer.ggml.model', 'bert')]))))
      .to.match(/^UNSUPPORTED: m\.gguf: tokenizer\.ggml\.model is "bert"/)
    expect(codeOf(() => createTokenizer(bpe([], [], [str('tokenizer.ggml.pre', 'qwen2')]))))
      .to.match(/^UNSUPPORTED: bpe\.gguf: tokenizer\.ggml\.pre is "qwen2"/)
  })

  it('reports missing or inconsistent arrays and ids as BAD_INPUT with expected and actual', () => {
    expect(codeOf(() => createTokenizer(new Metadata('m.gguf', [str('tokenizer.ggml.model', 'llama')]))))
      .to.match(/^BAD_INPUT: m\.gguf: metadata key tokenizer\.ggml\.tokens is missing/)
    expect(codeOf(() => createTokenizer(spm([], [arr('tokenizer.ggml.scores', GGUFValueType.FLOAT32, [0, 0])]))))
      .to.match(/^BAD_INPUT: spm\.gguf: metadata key tokenizer\.ggml\.scores: expected 261 scores \(one per token\), got 2/)
    expect(codeOf(() => createTokenizer(spm([], [u32('tokenizer.ggml.bos_token_id', 5000)]))))
      .to.match(/^BAD_INPUT: spm\.gguf: metadata key tokenizer\.ggml\.bos_token_id: expected a token id below 261, got 5000/)
  })
})

/**
 * Properties of the fixture tokenizers beyond llama.cpp's 25 reference strings: decode(encode(x))
 * gives x back for seeded random text from a hard alphabet, streaming decode equals whole decode,
 * encodeSegments equals encode with parse_special, and token metadata is found by text.
 */
import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {Metadata} from '../../src/gguf/metadata.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {createTokenizer, type Tokenizer} from '../../src/tokenizer/index.js'

const load = (path: string): Tokenizer => createTokenizer(Metadata.of(path, readGGUFHeader(path)))

const MODELS = [
  {path: 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf', kind: 'spm'},
  {path: 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf', kind: 'bpe'},
  {path: 'test/fixtures/vocab-mistral-v03-synth/vocab-tekken-synth-131072.gguf', kind: 'bpe'},
] as const

// Letters of several scripts, digits, punctuation, all kinds of whitespace (incl. NBSP, NEL,
// ideographic space, BOM), combining marks, CJK, emoji with modifiers, control characters.
const ALPHABET = [
  ...'abcXYZ019 .,;:!?\'"()[]{}<>/\\-_=+*&^%$#@~`|', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u0085', '\u3000', '\ufeff',
  '\u200b', '\u2028', 'é', 'Ü', 'ß', 'ﬁ', 'Ж', 'λ', 'ה', 'ب', 'क', 'ไ', '\u0301', '\u0308', '日', '本', 'の', '한', '１', 'Ａ',
  '🦙', '👍🏽', '🔥', '\u0000', '\u0007', '\u007f', '▁', 'Ġ', '[INST]', '<s>', 'hello', ' the', 'aaaa',
]

function* randomTexts(seed: number, count: number): Generator<string> {
  let s = seed >>> 0
  const next = (n: number): number => { // xorshift32: deterministic, good enough to pick characters
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0
    return s % n
  }
  for (let i = 0; i < count; i++) {
    let t = ''
    const len = 1 + next(40)
    for (let j = 0; j < len; j++) t += ALPHABET[next(ALPHABET.length)]
    yield t
  }
}

for (const {path, kind} of MODELS) {
  describe(`tokenizer properties: ${path.split('/').pop()}`, () => {
    let tok: Tokenizer
    before(() => { tok = load(path) })

    it('decodes what it encodes (without parse_special; SPM loses only its added space and ▁)', () => {
      for (const text of randomTexts(12345, 300)) {
        const ids = tok.encode(text, {addSpecial: false})
        const back = tok.decode(ids)
        const expected = tok.kind === 'spm' ? text.replaceAll('▁', ' ') : text
        expect(back, JSON.stringify(text)).to.equal(expected)
        for (const id of ids) expect(tok.tokenType(id), JSON.stringify(text)).to.be.oneOf(['normal', 'byte'])
      }
    })

    // (SPM adds a space after each special token, as llama.cpp does, so only BPE round-trips here)
    if (kind === 'bpe') it('decodes what it encodes with parse_special and unparse_special', () => {
      for (const text of randomTexts(777, 200)) {
        expect(tok.decode(tok.encode(text, {parseSpecial: true}), {unparseSpecial: true})).to.equal('<s>' + text)
      }
    })

    it('streams the same text as a whole decode, even when tokens split characters', () => {
      for (const text of randomTexts(99, 100)) {
        const ids = tok.encode(text, {addSpecial: false})
        const stream = tok.streamDecoder()
        let out = ''
        for (const id of ids) out += stream.push(id)
        out += stream.flush()
        // the whole decode strips SPM's added first space; after a BOS it keeps it, as a stream does
        expect(out, JSON.stringify(text)).to.equal(tok.decode([tok.bos ?? 0, ...ids]))
      }
    })

    it('encodeSegments equals encode with parse_special for the same text', () => {
      const inst = tok.tokenId('[INST]')
      const endInst = tok.tokenId('[/INST]')
      expect(inst).to.be.a('number')
      expect(endInst).to.be.a('number')
      for (const text of randomTexts(4242, 50)) {
        const clean = text.replaceAll('[INST]', '').replaceAll('<s>', '')
        const segments = [{id: inst ?? -1}, ' ', clean, {id: endInst ?? -1}, clean]
        const expected = tok.encode(`[INST] ${clean}[/INST]${clean}`, {parseSpecial: true})
        expect(tok.encodeSegments(segments), JSON.stringify(clean)).to.deep.equal(expected)
      }
    })

    it('finds specials by text and reports their types; eos ends generation', () => {
      expect(tok.tokenId('<s>')).to.equal(tok.bos)
      expect(tok.tokenId('</s>')).to.equal(tok.eos)
      expect(tok.tokenType(tok.tokenId('[INST]') ?? -1)).to.equal('control')
      expect(tok.tokenText(tok.bos ?? -1)).to.equal('<s>')
      expect(tok.isEog(tok.eos ?? -1)).to.equal(true)
      expect(tok.isEog(tok.bos ?? -1)).to.equal(false)
      expect(tok.decode([tok.bos ?? 0, tok.eos ?? 0])).to.equal('')
      expect(tok.decode([tok.bos ?? 0, tok.eos ?? 0], {unparseSpecial: true})).to.equal('<s></s>')
    })

    it('drops BOS and EOS with removeSpecial as llama_detokenize does', () => {
      const ids = tok.encode('Hello world')
      expect(ids[0]).to.equal(tok.bos)
      expect(tok.kind).to.equal(kind)
      // llama_detokenize: a removed BOS also ends the stripping of SPM's added space
      expect(tok.decode(ids, {removeSpecial: true, unparseSpecial: true})).to.equal(kind === 'spm' ? ' Hello world' : 'Hello world')
      expect(tok.decode(ids, {unparseSpecial: true})).to.equal(kind === 'spm' ? '<s> Hello world' : '<s>Hello world')
      expect(tok.decode(ids.slice(1), {removeSpecial: true})).to.equal('Hello world')
    })

    it('refuses ids outside the vocabulary, naming the id', () => {
      expect(() => tok.decode([tok.vocabSize])).to.throw(LlmfragError, `token id ${tok.vocabSize}`).with.property('code', 'BAD_INPUT')
      expect(() => tok.tokenToPiece(-1)).to.throw(LlmfragError).with.property('code', 'BAD_INPUT')
    })

    it('encodes a lone surrogate as U+FFFD, the character llama.cpp would receive in UTF-8', () => {
      expect(tok.encode('a\uD800b \uDC00')).to.deep.equal(tok.encode('a\uFFFDb \uFFFD'))
      expect(tok.encodeSegments(['x\uDBFF'])).to.deep.equal(tok.encode('x\uFFFD'))
    })

    it('encodes a long text without whitespace (the merge queue, not a quadratic scan)', () => {
      const text = 'ab'.repeat(20000) + 'é'.repeat(5000)
      const ids = tok.encode(text, {addSpecial: false})
      expect(tok.decode(ids)).to.equal(text)
    })
  })
}

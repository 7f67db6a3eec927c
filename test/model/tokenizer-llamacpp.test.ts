/**
 * Token ids, pieces and detokenized text against llama.cpp's (the fixtures' tokenize.json files:
 * 25 strings × add_special × parse_special, from llama_tokenize / llama_token_to_piece /
 * llama_detokenize at the commit the fixtures name).
 */
import {readFileSync} from 'node:fs'

import {expect} from 'chai'

import {Metadata} from '../../src/gguf/metadata.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {createTokenizer, type Tokenizer} from '../../src/tokenizer/index.js'

interface Case {
  index: number
  text: string
  add_special: boolean
  parse_special: boolean
  ids: number[]
  pieces: string[]
  pieces_hex: string[]
  detok: string
  detok_unparse_special: string
}
interface Reference {
  model: string
  tokenizer: string
  llama_vocab_info: {n_vocab: number; type: number; bos: number; eos: number; add_bos: number; add_eos: number}
  cases: Case[]
}

const SETS = [
  {model: 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf', ref: 'test/fixtures/tiny-mistral/tokenize.json', kind: 'spm'},
  {model: 'test/fixtures/vocab-mistral-v03-synth/vocab-mistral-v03-synth.gguf', ref: 'test/fixtures/vocab-mistral-v03-synth/tokenize.json', kind: 'spm'},
  {model: 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf', ref: 'test/fixtures/tiny-magistral/tokenize.json', kind: 'bpe'},
  {model: 'test/fixtures/vocab-mistral-v03-synth/vocab-tekken-synth-131072.gguf', ref: 'test/fixtures/vocab-mistral-v03-synth/tokenize-tekken-131072.json', kind: 'bpe'},
] as const

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const label = (c: Case): string => `#${c.index} ${JSON.stringify(c.text).slice(0, 40)} add_special=${c.add_special} parse_special=${c.parse_special}`

for (const set of SETS) {
  describe(`tokenizer vs llama.cpp: ${set.model.split('/').pop()}`, () => {
    const ref = JSON.parse(readFileSync(set.ref, 'utf8')) as Reference
    let tok: Tokenizer

    before(() => {
      tok = createTokenizer(Metadata.of(set.model, readGGUFHeader(set.model)))
    })

    it('reads the vocab as llama.cpp does (size, kind, bos/eos, add_bos/add_eos)', () => {
      const info = ref.llama_vocab_info
      expect(tok.kind).to.equal(set.kind)
      expect(tok.vocabSize).to.equal(info.n_vocab)
      expect(tok.bos).to.equal(info.bos)
      expect(tok.eos).to.equal(info.eos)
      expect(tok.addBos).to.equal(info.add_bos === 1)
      expect(tok.addEos).to.equal(info.add_eos === 1)
    })

    it(`encodes all ${ref.cases.length} cases to llama.cpp's ids`, () => {
      const bad: string[] = []
      for (const c of ref.cases) {
        const ids = tok.encode(c.text, {addSpecial: c.add_special, parseSpecial: c.parse_special})
        if (JSON.stringify(ids) !== JSON.stringify(c.ids)) bad.push(`${label(c)}: got ${JSON.stringify(ids)}, expected ${JSON.stringify(c.ids)}`)
      }
      expect(bad, bad.join('\n')).to.deep.equal([])
    })

    it('renders each token as llama.cpp\'s piece (exact bytes, special = true)', () => {
      const bad: string[] = []
      for (const c of ref.cases) {
        const got = c.ids.map((id) => hex(tok.tokenToPiece(id)))
        if (JSON.stringify(got) !== JSON.stringify(c.pieces_hex)) bad.push(`${label(c)}: got ${got}, expected ${c.pieces_hex}`)
        const lossy = c.ids.map((id) => new TextDecoder().decode(tok.tokenToPiece(id)))
        if (JSON.stringify(lossy) !== JSON.stringify(c.pieces)) bad.push(`${label(c)}: lossy pieces ${JSON.stringify(lossy)}, expected ${JSON.stringify(c.pieces)}`)
      }
      expect(bad, bad.join('\n')).to.deep.equal([])
    })

    it('detokenizes to llama.cpp\'s text, with and without unparse_special', () => {
      const bad: string[] = []
      for (const c of ref.cases) {
        const plain = tok.decode(c.ids)
        const unparsed = tok.decode(c.ids, {unparseSpecial: true})
        if (plain !== c.detok) bad.push(`${label(c)}: detok ${JSON.stringify(plain)}, expected ${JSON.stringify(c.detok)}`)
        if (unparsed !== c.detok_unparse_special) bad.push(`${label(c)}: unparse ${JSON.stringify(unparsed)}, expected ${JSON.stringify(c.detok_unparse_special)}`)
      }
      expect(bad, bad.join('\n')).to.deep.equal([])
    })
  })
}

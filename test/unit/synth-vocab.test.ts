import {expect} from 'chai'

import {Prng} from '../../src/util/prng.js'
import {BYTE_CHARS} from '../../src/tokenizer/bytes.js'
import {spmVocab, tekkenVocab, type Vocab} from '../../src/synth/vocab.js'
import {GGUFValueType, isGGUFArray} from '../../src/gguf/types.js'

function arrayOf(v: Vocab, key: string): ReadonlyArray<unknown> {
  const e = v.kv.find((x) => x.key === key)
  if (!e || !isGGUFArray(e.value)) throw new Error(`${key} missing`)
  return e.value.items
}

function scalar(v: Vocab, key: string): unknown {
  return v.kv.find((x) => x.key === key)?.value
}

describe('synth vocabularies', () => {
  describe('SentencePiece, Mistral v0.3 layout', () => {
    const v = spmVocab(32768, new Prng(0))
    const types = arrayOf(v, 'tokenizer.ggml.token_type') as number[]
    const scores = arrayOf(v, 'tokenizer.ggml.scores') as number[]

    it('has the v0.3 special, control and byte tokens at their ids', () => {
      expect(v.tokens).to.have.length(32768)
      expect(v.tokens.slice(0, 10)).to.deep.equal(['<unk>', '<s>', '</s>', '[INST]', '[/INST]', '[TOOL_CALLS]',
        '[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]'])
      expect([v.tokens[10], v.tokens[770]]).to.deep.equal(['[control_8]', '[control_768]'])
      expect([v.tokens[771], v.tokens[781], v.tokens[1026]]).to.deep.equal(['<0x00>', '<0x0A>', '<0xFF>'])
      expect(types[0]).to.equal(2)
      expect(types.slice(1, 771).every((t) => t === 3)).to.equal(true)
      expect(types.slice(771, 1027).every((t) => t === 6)).to.equal(true)
      expect(types.slice(1027).every((t) => t === 1)).to.equal(true)
      expect(scores.slice(0, 1027).every((s) => s === 0)).to.equal(true)
      expect([scalar(v, 'tokenizer.ggml.model'), scalar(v, 'tokenizer.ggml.pre')]).to.deep.equal(['llama', 'default'])
      expect([scalar(v, 'tokenizer.ggml.bos_token_id'), scalar(v, 'tokenizer.ggml.eos_token_id'), scalar(v, 'tokenizer.ggml.unknown_token_id')]).to.deep.equal([1, 2, 0])
      expect(scalar(v, 'tokenizer.ggml.add_bos_token')).to.equal(true)
    })

    it('has unique NORMAL pieces scored by rank, each a join of two earlier pieces or characters, and ▁ for space', () => {
      expect(new Set(v.tokens).size).to.equal(v.tokens.length)
      const score = new Map(v.tokens.map((t, i) => [t, scores[i]]))
      for (let i = 1028; i < v.tokens.length; i++) expect(scores[i]).to.equal(scores[i - 1] - 1)
      expect(v.tokens).to.include('\u2581')
      const bad: string[] = []
      for (const p of v.tokens.slice(1027)) {
        if (p.includes(' ') || p.indexOf('\u2581', 1) !== -1) bad.push(p) // ▁ only starts a piece
        if (p.length === 1) continue
        // Reachable by score-driven merging: some split into two halves, each a single character
        // (the starting symbols) or a piece that outranks this one.
        const own = score.get(p) ?? 0
        const half = (h: string): boolean => score.has(h) && (h.length === 1 || (score.get(h) ?? -Infinity) > own)
        const ok = Array.from({length: p.length - 1}, (_, k) => k + 1).some((k) => half(p.slice(0, k)) && half(p.slice(k)))
        if (!ok) bad.push(p)
      }
      expect(bad).to.deep.equal([])
    })
  })

  describe('Tekken byte-level BPE layout', () => {
    const v = tekkenVocab(16384, new Prng(0))
    const types = arrayOf(v, 'tokenizer.ggml.token_type') as number[]
    const merges = arrayOf(v, 'tokenizer.ggml.merges') as string[]

    it('has the 1000 control specials with [THINK] = 34 and [/THINK] = 35', () => {
      expect(v.tokens.slice(0, 20)).to.deep.equal(['<unk>', '<s>', '</s>', '[INST]', '[/INST]', '[AVAILABLE_TOOLS]',
        '[/AVAILABLE_TOOLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]', '[TOOL_CALLS]', '[IMG]', '<pad>', '[IMG_BREAK]', '[IMG_END]',
        '[PREFIX]', '[MIDDLE]', '[SUFFIX]', '[SYSTEM_PROMPT]', '[/SYSTEM_PROMPT]', '[TOOL_CONTENT]'])
      expect([v.tokens[20], v.tokens[33], v.tokens[34], v.tokens[35], v.tokens[36], v.tokens[999]])
        .to.deep.equal(['<SPECIAL_20>', '<SPECIAL_33>', '[THINK]', '[/THINK]', '<SPECIAL_36>', '<SPECIAL_999>'])
      expect(types.slice(0, 1000).every((t) => t === 3)).to.equal(true)
      expect(types.slice(1000).every((t) => t === 1)).to.equal(true)
      expect([scalar(v, 'tokenizer.ggml.model'), scalar(v, 'tokenizer.ggml.pre')]).to.deep.equal(['gpt2', 'tekken'])
      expect(scalar(v, 'tokenizer.ggml.padding_token_id')).to.equal(11)
      expect(v.kv.find((e) => e.key === 'tokenizer.ggml.scores')).to.equal(undefined)
    })

    it('has the 256 bytes as GPT-2 byte-to-unicode characters at 1000..1255', () => {
      const bytes = BYTE_CHARS
      expect(v.tokens.slice(1000, 1256)).to.deep.equal(bytes)
      expect([bytes[0x20], bytes[0x0a], bytes[0x41], bytes[0xad], bytes[0xff], bytes[0x00]]).to.deep.equal(['Ġ', 'Ċ', 'A', 'Ń', 'ÿ', 'Ā'])
      expect(new Set(bytes).size).to.equal(256)
    })

    it('makes token 1256 + k from merge k, whose halves are earlier tokens', () => {
      expect(merges).to.have.length(16384 - 1256)
      expect(new Set(v.tokens).size).to.equal(v.tokens.length)
      const id = new Map(v.tokens.map((t, i) => [t, i]))
      const earlier = (t: string, k: number): boolean => {
        const i = id.get(t)
        return i !== undefined && i >= 1000 && i < 1256 + k
      }
      const bad = merges.filter((m, k) => {
        const [left, right, ...rest] = m.split(' ')
        return rest.length > 0 || v.tokens[1256 + k] !== left + right || !earlier(left, k) || !earlier(right, k)
      })
      expect(bad).to.deep.equal([])
      const merged = v.kv.find((e) => e.key === 'tokenizer.ggml.merges')
      expect(merged?.type).to.equal(GGUFValueType.ARRAY)
    })
  })

  it('is deterministic for a seed and differs between seeds', () => {
    expect(tekkenVocab(4096, new Prng(5)).tokens).to.deep.equal(tekkenVocab(4096, new Prng(5)).tokens)
    expect(spmVocab(4096, new Prng(5)).tokens).to.not.deep.equal(spmVocab(4096, new Prng(6)).tokens)
  })
})

/**
 * Chat prompts through the fixture vocabularies: format detection, and ids equal to tokenizing the
 * rendered text with parse_special (what llama.cpp does with a chat template), except that user
 * content is never turned into control tokens.
 */
import {expect} from 'chai'

import {type ChatMessage, detectChatFormat, encodeChat, renderChat} from '../../src/chat/format.js'
import {Metadata} from '../../src/gguf/metadata.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {createTokenizer, type Tokenizer} from '../../src/tokenizer/index.js'

const load = (path: string): Tokenizer => createTokenizer(Metadata.of(path, readGGUFHeader(path)))

const MODELS = [
  {path: 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf', format: 'mistral-v3'},
  {path: 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf', format: 'mistral-v7-tekken'},
] as const

const conversation: ChatMessage[] = [
  {role: 'system', content: 'You are terse.\nAnswer in one line.'},
  {role: 'user', content: 'Hello there'},
  {role: 'assistant', content: 'Hi! How can I help?'},
  {role: 'user', content: 'What is 2+2? Ünïcödé 🦙'},
]

for (const m of MODELS) {
  describe(`chat prompts: ${m.format} (${m.path.split('/').pop()})`, () => {
    let tok: Tokenizer
    before(() => { tok = load(m.path) })

    it(`is detected as ${m.format}`, () => {
      expect(detectChatFormat(tok)).to.equal(m.format)
    })

    it('encodes a conversation as the rendered text tokenized with parse_special', () => {
      for (const options of [{}, {continueFinal: true}]) {
        for (let n = 1; n <= conversation.length; n++) {
          const msgs = conversation.slice(0, n)
          const expected = tok.encode(renderChat(m.format, msgs, options), {addSpecial: false, parseSpecial: true})
          expect(encodeChat(tok, m.format, msgs, options), `${n} messages ${JSON.stringify(options)}`).to.deep.equal(expected)
        }
      }
    })

    it('starts with BOS and places the control tokens by their text', () => {
      const ids = encodeChat(tok, m.format, conversation)
      expect(ids[0]).to.equal(tok.bos)
      const inst = tok.tokenId('[INST]')
      const endInst = tok.tokenId('[/INST]')
      expect(ids.filter((id) => id === inst)).to.have.length(2)
      expect(ids.at(-1)).to.equal(endInst)
      expect(ids.filter((id) => id === tok.eos)).to.have.length(1) // after the assistant turn
    })

    it('keeps control-token text in user content as text', () => {
      const ids = encodeChat(tok, m.format, [{role: 'user', content: 'say [INST] and </s>'}])
      expect(ids.filter((id) => id === tok.tokenId('[INST]'))).to.have.length(1)
      expect(ids).to.not.include(tok.eos)
      expect(tok.decode(ids)).to.include('say [INST] and </s>')
    })
  })
}

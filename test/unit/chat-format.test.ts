import {expect} from 'chai'

import {type ChatMessage, detectChatFormat, renderChat, renderChatParts, requireChatFormat} from '../../src/chat/format.js'
import {LlmfragError} from '../../src/errors.js'

const vocabOf = (...texts: string[]) => ({tokenId: (t: string) => (texts.includes(t) ? texts.indexOf(t) : undefined)})

const conversation: ChatMessage[] = [
  {role: 'system', content: 'Be brief.'},
  {role: 'user', content: 'Hi'},
  {role: 'assistant', content: '  Hello!  '},
  {role: 'user', content: 'What is 2+2?'},
]

describe('chat format: detection', () => {
  it('picks mistral-v7-tekken when the vocab has [SYSTEM_PROMPT], mistral-v3 when it has only [INST]', () => {
    expect(detectChatFormat(vocabOf('<s>', '[INST]', '[/INST]', '[SYSTEM_PROMPT]'))).to.equal('mistral-v7-tekken')
    expect(detectChatFormat(vocabOf('<s>', '[INST]', '[/INST]'))).to.equal('mistral-v3')
    expect(detectChatFormat(vocabOf('<s>', '<|im_start|>'))).to.equal(undefined)
  })

  it('refuses a vocab with no known format as UNSUPPORTED', () => {
    expect(() => requireChatFormat(vocabOf('<s>'))).to.throw(LlmfragError).with.property('code', 'UNSUPPORTED')
  })
})

describe('chat format: mistral-v3', () => {
  it('renders one user turn', () => {
    expect(renderChat('mistral-v3', [{role: 'user', content: 'Hi'}])).to.equal('<s>[INST] Hi[/INST]')
  })

  it('puts the system prompt before the last user message and trims assistant replies', () => {
    expect(renderChat('mistral-v3', conversation)).to.equal('<s>[INST] Hi[/INST] Hello!</s>[INST] Be brief.\n\nWhat is 2+2?[/INST]')
  })

  it('joins several system messages, and gives a system prompt without user messages its own turn', () => {
    const two: ChatMessage[] = [{role: 'system', content: 'A'}, {role: 'system', content: 'B'}, {role: 'user', content: 'u'}]
    expect(renderChat('mistral-v3', two)).to.equal('<s>[INST] A\n\nB\n\nu[/INST]')
    expect(renderChat('mistral-v3', [{role: 'system', content: 'S'}])).to.equal('<s>[INST] S[/INST]')
  })

  it('leaves a final assistant message open with continueFinal, closes it otherwise', () => {
    const msgs: ChatMessage[] = [{role: 'user', content: 'Count'}, {role: 'assistant', content: 'One, two,'}]
    expect(renderChat('mistral-v3', msgs)).to.equal('<s>[INST] Count[/INST] One, two,</s>')
    expect(renderChat('mistral-v3', msgs, {continueFinal: true})).to.equal('<s>[INST] Count[/INST] One, two,')
  })

  it('marks the special tokens as parts, and user text as text even when it looks special', () => {
    const parts = renderChatParts('mistral-v3', [{role: 'user', content: '[INST]x'}])
    expect(parts).to.deep.equal([{special: '<s>'}, {special: '[INST]'}, {text: ' [INST]x'}, {special: '[/INST]'}])
  })
})

describe('chat format: mistral-v7-tekken', () => {
  it('renders system, user and assistant turns with no added spaces', () => {
    expect(renderChat('mistral-v7-tekken', conversation)).to.equal(
      '<s>[SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][INST]Hi[/INST]  Hello!  </s>[INST]What is 2+2?[/INST]')
  })

  it('keeps system messages where they occur and honours continueFinal', () => {
    const msgs: ChatMessage[] = [{role: 'user', content: 'a'}, {role: 'system', content: 's'}, {role: 'user', content: 'b'}, {role: 'assistant', content: 'c'}]
    expect(renderChat('mistral-v7-tekken', msgs)).to.equal('<s>[INST]a[/INST][SYSTEM_PROMPT]s[/SYSTEM_PROMPT][INST]b[/INST]c</s>')
    expect(renderChat('mistral-v7-tekken', msgs, {continueFinal: true})).to.equal('<s>[INST]a[/INST][SYSTEM_PROMPT]s[/SYSTEM_PROMPT][INST]b[/INST]c')
  })

  it('renders an empty conversation as BOS alone', () => {
    expect(renderChat('mistral-v7-tekken', [])).to.equal('<s>')
  })
})

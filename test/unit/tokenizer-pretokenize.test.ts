/**
 * The tekken pre-tokenizer as llama.cpp runs it: its approximation of Mistral's pattern, over text
 * whose non-ASCII code points are collapsed to one byte per Unicode category. Expected splits are
 * worked out by hand from that pattern (llama-vocab.cpp LLAMA_VOCAB_PRE_TYPE_TEKKEN).
 */
import {expect} from 'chai'

import {BYTE_CHARS, byteEncode, CHAR_BYTES} from '../../src/tokenizer/bytes.js'
import {TekkenPreTokenizer} from '../../src/tokenizer/pretokenize.js'

const split = (text: string): string[] => new TekkenPreTokenizer().split(text)

describe('tokenizer: tekken pre-tokenizer', () => {
  it('splits words with their leading space or punctuation, and case changes as the approximation does', () => {
    expect(split('Hello world')).to.deep.equal(['Hello', ' world'])
    expect(split('ALLCAPS CamelCase MiXeD')).to.deep.equal(['ALLCAPS', ' Camel', 'Case', ' Mi', 'Xe', 'D'])
    expect(split('(x):')).to.deep.equal(['(x', '):'])
  })

  it('puts every digit in a pre-token of its own', () => {
    expect(split('12345 3.14')).to.deep.equal(['1', '2', '3', '4', '5', ' ', '3', '.', '1', '4'])
  })

  it('keeps newlines apart and leaves one space for the next word', () => {
    expect(split('a\r\nb\n\n\nfoo\n')).to.deep.equal(['a', '\r\n', 'b', '\n\n\n', 'foo', '\n'])
    expect(split('x    return')).to.deep.equal(['x', '   ', ' return'])
    expect(split('trailing   ')).to.deep.equal(['trailing', '   '])
    expect(split('path/to\n')).to.deep.equal(['path', '/to', '\n'])
  })

  it('treats a non-ASCII letter as both upper and lower case, and marks as not letters', () => {
    expect(split('Привет мир')).to.deep.equal(['Привет', ' мир'])
    expect(split('naïve Ünïcödé')).to.deep.equal(['naïve', ' Ünïcödé'])
    expect(split('e\u0301t\u0301')).to.deep.equal(['e', '\u0301t', '\u0301']) // combining acute: punctuation-like
  })

  it('collapses non-ASCII whitespace to one whitespace character (NBSP, ideographic space)', () => {
    expect(split('a\u00a0b')).to.deep.equal(['a', '\u00a0b'])
    expect(split('日本\u3000語')).to.deep.equal(['日本', '\u3000語'])
    expect(split('a\u00a0\u00a0 b')).to.deep.equal(['a', '\u00a0\u00a0', ' b'])
  })

  it('returns pieces that join back to the text, surrogate pairs kept whole', () => {
    const text = 'emoji 🦙🔥👍🏽 done\t\u200b x'
    const words = split(text)
    expect(words.join('')).to.equal(text)
    expect(words).to.include(' 🦙🔥👍🏽')
    expect(split('')).to.deep.equal([])
  })
})

describe('tokenizer: GPT-2 byte alphabet', () => {
  it('maps all 256 bytes to distinct single characters and back', () => {
    expect(new Set(BYTE_CHARS).size).to.equal(256)
    BYTE_CHARS.forEach((c, b) => {
      expect(c).to.have.length(1)
      expect(CHAR_BYTES[c.charCodeAt(0)]).to.equal(b)
    })
    expect(BYTE_CHARS[0x20]).to.equal('Ġ')
    expect(BYTE_CHARS[0x0a]).to.equal('Ċ')
    expect(BYTE_CHARS[0]).to.equal('Ā')
    expect(byteEncode(' é')).to.equal('ĠÃ©')
  })
})

import {expect} from 'chai'

import {type ThinkChunk, ThinkSplitter, splitThinking} from '../../src/chat/think.js'

/** Feeds pieces and joins the chunks' texts per kind, checking chunks are never empty. */
function run(pieces: string[], splitter = new ThinkSplitter()): {thinking: string; answer: string; chunks: ThinkChunk[]} {
  const chunks: ThinkChunk[] = []
  for (const p of pieces) chunks.push(...splitter.push(p))
  chunks.push(...splitter.flush())
  const result = {thinking: '', answer: '', chunks}
  for (const c of chunks) {
    expect(c.text.length).to.be.greaterThan(0)
    result[c.kind] += c.text
  }
  return result
}

const REPLY = '[THINK]2+2: add them. That is 4.[/THINK]The answer is **4**.'

describe('chat think splitter', () => {
  it('separates [THINK]…[/THINK] from the answer and drops the tags', () => {
    expect(splitThinking(REPLY)).to.deep.equal({thinking: '2+2: add them. That is 4.', answer: 'The answer is **4**.'})
  })

  it('gives the same split however the text is cut into pieces (every two-way cut, and char by char)', () => {
    for (let cut = 0; cut <= REPLY.length; cut++) {
      const r = run([REPLY.slice(0, cut), REPLY.slice(cut)])
      expect({thinking: r.thinking, answer: r.answer}, `cut at ${cut}`).to.deep.equal(splitThinking(REPLY))
    }
    const r = run([...REPLY])
    expect({thinking: r.thinking, answer: r.answer}).to.deep.equal(splitThinking(REPLY))
  })

  it('emits answer text at once when it cannot be the start of a tag', () => {
    const s = new ThinkSplitter()
    expect(s.push('Hello [')).to.deep.equal([{kind: 'answer', text: 'Hello '}]) // "[" may open [THINK]
    expect(s.push('TH')).to.deep.equal([])
    expect(s.push('E end')).to.deep.equal([{kind: 'answer', text: '[THE end'}])
    expect(s.thinking).to.equal(false)
  })

  it('switches kind on the tag and reports whether it is thinking', () => {
    const s = new ThinkSplitter()
    expect(s.push('[THINK]hmm')).to.deep.equal([{kind: 'thinking', text: 'hmm'}])
    expect(s.thinking).to.equal(true)
    expect(s.push('[/THINK]ok')).to.deep.equal([{kind: 'answer', text: 'ok'}])
    expect(s.thinking).to.equal(false)
  })

  it('handles several thinking blocks and a piece holding a whole block', () => {
    const r = run(['a[THINK]t1[/THINK]b', '[THINK]t2', '[/THINK]c'])
    expect(r.chunks.map((c) => c.kind)).to.deep.equal(['answer', 'thinking', 'answer', 'thinking', 'answer'])
    expect(r.thinking).to.equal('t1t2')
    expect(r.answer).to.equal('abc')
  })

  it('releases a held-back partial tag on flush, as text of the current kind', () => {
    const s = new ThinkSplitter()
    expect(s.push('[THINK]unfinished [/TH')).to.deep.equal([{kind: 'thinking', text: 'unfinished '}])
    expect(s.flush()).to.deep.equal([{kind: 'thinking', text: '[/TH'}])
  })

  it('can start inside the thoughts and use other tags', () => {
    expect(splitThinking('plan[/THINK]done', {startInThinking: true})).to.deep.equal({thinking: 'plan', answer: 'done'})
    expect(splitThinking('<think>x</think>y', {tags: {open: '<think>', close: '</think>'}})).to.deep.equal({thinking: 'x', answer: 'y'})
  })

  it('treats a reply without tags as all answer', () => {
    expect(splitThinking('just text [/THINK] here')).to.deep.equal({thinking: '', answer: 'just text [/THINK] here'})
  })
})

import {expect} from 'chai'

import {StopMatcher} from '../../src/sampling/index.js'

function feed(m: StopMatcher, pieces: string[]): {shown: string; stopped: boolean} {
  let shown = ''
  for (const p of pieces) {
    const r = m.push(p)
    shown += r.emit
    if (r.stopped) return {shown, stopped: true}
  }
  return {shown: shown + m.flush(), stopped: false}
}

describe('sampling: StopMatcher', () => {
  it('passes text through when there are no stop strings', () => {
    const m = new StopMatcher([])
    expect(m.push('hello').emit).to.equal('hello')
  })

  it('stops before a stop string inside one piece, dropping the rest', () => {
    expect(feed(new StopMatcher(['END']), ['abc END def'])).to.deep.equal({shown: 'abc ', stopped: true})
  })

  it('finds a stop string split across pieces and holds back its start meanwhile', () => {
    const m = new StopMatcher(['</s>'])
    const r1 = m.push('hi <')
    expect(r1).to.deep.equal({emit: 'hi ', stopped: false})
    expect(m.push('/').emit).to.equal('')
    const r3 = m.push('s> more')
    expect(r3.stopped).to.equal(true)
    expect(r3.emit).to.equal('')
    expect(r3.stop).to.equal('</s>')
  })

  it('releases held text when it turns out not to be a stop string', () => {
    expect(feed(new StopMatcher(['\n\nUser:']), ['a\n', '\nB'])).to.deep.equal({shown: 'a\n\nB', stopped: false})
    expect(feed(new StopMatcher(['xyz']), ['abx'])).to.deep.equal({shown: 'abx', stopped: false})
  })

  it('cuts at the earliest of several stop strings', () => {
    const m = new StopMatcher(['bb', 'a'])
    expect(m.push('xxbbya')).to.deep.equal({emit: 'xx', stopped: true, stop: 'bb'})
  })
})

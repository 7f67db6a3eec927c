import {expect} from 'chai'

import {parseEnvFile, readEnvFile} from '../../src/config/index.js'
import {LlmfragError} from '../../src/errors.js'

function parseError(text: string): LlmfragError {
  try {
    parseEnvFile(text, '.env.test')
  } catch (err) {
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).code).to.equal('CONFIG')
    return err as LlmfragError
  }
  return expect.fail('expected a CONFIG error')
}

describe('.env parser', () => {
  it('reads KEY=VALUE lines, skipping comments and blank lines', () => {
    expect(parseEnvFile('# comment\n\nA=1\n  B = two words  \nexport C=3\r\nD=\n', 'f')).to.deep.equal({A: '1', B: 'two words', C: '3', D: ''})
  })

  it('ends an unquoted value at " #" but keeps # inside a word', () => {
    expect(parseEnvFile('A=x # note\nB=a#b\nC=#x', 'f')).to.deep.equal({A: 'x', B: 'a#b', C: '#x'})
  })

  it('keeps single-quoted values literally and unescapes double-quoted ones', () => {
    const env = parseEnvFile(`A='  a # b \\n '\nB="line1\\nline2\\t\\"q\\" \\\\ \\x"\nC="# not a comment" # comment`, 'f')
    expect(env).to.deep.equal({A: '  a # b \\n ', B: 'line1\nline2\t"q" \\ \\x', C: '# not a comment'})
  })

  it('lets a double-quoted value span lines', () => {
    expect(parseEnvFile('KEY="first\nsecond"\nNEXT=1', 'f')).to.deep.equal({KEY: 'first\nsecond', NEXT: '1'})
  })

  it('takes the last of repeated keys, and ignores a byte-order mark', () => {
    expect(parseEnvFile('\uFEFFA=1\nA=2', 'f')).to.deep.equal({A: '2'})
  })

  it('names the file and line of a malformed line', () => {
    expect(parseError('A=1\nJUST_A_WORD\n').message).to.equal('.env.test:2: expected KEY=VALUE, got "JUST_A_WORD"')
    expect(parseError('1BAD=x').message).to.match(/^\.env\.test:1: bad variable name "1BAD"/)
    expect(parseError("A='open").message).to.equal('.env.test:1: unterminated single-quoted value for A')
    expect(parseError('A="open\nstill open').message).to.equal('.env.test:1: unterminated double-quoted value for A')
    expect(parseError('A="x" y').message).to.equal('.env.test:1: unexpected text after the quoted value of A: "y"')
  })

  it('reads the example file', () => {
    const env = readEnvFile('examples/.env.production')
    expect(Object.keys(env).sort()).to.deep.equal(['ENVIRONMENT', 'LOG_LEVEL', 'MAGISTRAL_FRAGMENTS', 'MAX_RETRIES',
      'METRICS_ENABLED', 'METRICS_PORT', 'MISTRAL_7B_FRAGMENTS', 'NETWORK_TIMEOUT'])
    expect(env.METRICS_PORT).to.equal('9090')
  })
})

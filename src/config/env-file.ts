/**
 * A tiny `.env` parser (the dotenv format, minus variable expansion): `KEY=VALUE` lines, optional
 * `export ` prefix, blank lines and `#` comments, `#` after an unquoted value starts a comment,
 * 'single quotes' are literal, "double quotes" understand \n \r \t \" \\ and may span lines.
 */
import {readFileSync} from 'node:fs'

import {ioError, LlmfragError} from '../errors.js'

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

function lineError(file: string, line: number, message: string): LlmfragError {
  return new LlmfragError('CONFIG', `${file}:${line}: ${message}`, {
    hints: ['each line is KEY=VALUE, a # comment, or blank; quote values that contain # or spaces at the ends'],
    details: {file, line},
  })
}

const ESCAPES: Readonly<Record<string, string>> = {n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\'}

/** Parses .env text; later lines override earlier ones. `file` names the source in errors. */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    const line = lines[i].trim()
    if (line === '' || line.startsWith('#')) continue
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line
    const eq = body.indexOf('=')
    if (eq < 0) throw lineError(file, lineNo, `expected KEY=VALUE, got ${JSON.stringify(truncate(line))}`)
    const key = body.slice(0, eq).trim()
    if (!KEY.test(key)) throw lineError(file, lineNo, `bad variable name ${JSON.stringify(key)} (letters, digits and _, not starting with a digit)`)
    let rest = body.slice(eq + 1).trimStart()
    const quote = rest[0]
    if (quote === '"' || quote === '\'') {
      // A double-quoted value may continue on the following lines until its closing quote.
      let value = ''
      let j = 1
      for (;;) {
        if (j >= rest.length) {
          if (quote !== '"' || i + 1 >= lines.length) throw lineError(file, lineNo, `unterminated ${quote === '"' ? 'double' : 'single'}-quoted value for ${key}`)
          value += '\n'
          rest = lines[++i]
          j = 0
          continue
        }
        const c = rest[j]
        if (c === quote) break
        if (quote === '"' && c === '\\' && j + 1 < rest.length) {
          const e = rest[j + 1]
          value += ESCAPES[e] ?? '\\' + e
          j += 2
          continue
        }
        value += c
        j++
      }
      const after = rest.slice(j + 1).trim()
      if (after !== '' && !after.startsWith('#')) throw lineError(file, i + 1, `unexpected text after the quoted value of ${key}: ${JSON.stringify(truncate(after))}`)
      out[key] = value
    } else {
      const hash = rest.search(/\s#/)
      out[key] = (hash >= 0 ? rest.slice(0, hash) : rest).trim()
    }
  }
  return out
}

function truncate(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + '...' : s
}

export function readEnvFile(file: string): Record<string, string> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw ioError(err, file, 'read the env file')
  }
  return parseEnvFile(text, file)
}

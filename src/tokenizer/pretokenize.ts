/**
 * The tekken pre-tokenizer exactly as llama.cpp runs it (LLAMA_VOCAB_PRE_TYPE_TEKKEN in
 * llama-vocab.cpp, split by unicode.cpp `unicode_regex_split`). llama.cpp does not run Mistral's
 * original pattern; it runs this approximation of it:
 *
 *   [^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+
 *   |[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*
 *   |\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * and it runs it on a "collapsed" copy of the text in which every non-ASCII code point is replaced
 * by one byte for its Unicode category (whitespace → \x0B, letter → \xD2, number → \xD1,
 * punctuation → \xD3, mark → \xD4, symbol → \xD5, other → \xD0), with \p{L} and \p{N} rewritten to
 * those bytes plus their ASCII ranges. So a non-ASCII letter is both "not a-z" and "not A-Z".
 * Doing the same collapse here reproduces llama.cpp's splits, not just the intent of the pattern.
 * Text between matches becomes a pre-token of its own, as in `unicode_regex_split_stl`.
 */

const L = '\\xD2A-Za-z' // \p{L} collapsed
const N = '\\xD10-9' // \p{N} collapsed
const TEKKEN_COLLAPSED = new RegExp(
  `[^\\r\\n${L}${N}]?(?:(?=[${L}])[^a-z])*(?:(?=[${L}])[^A-Z])+` +
  `|[^\\r\\n${L}${N}]?(?:(?=[${L}])[^a-z])+(?:(?=[${L}])[^A-Z])*` +
  `|[${N}]` +
  `| ?[^\\s${L}${N}]+[\\r\\n/]*` +
  '|\\s*[\\r\\n]+' +
  '|\\s+(?!\\S)' +
  '|\\s+',
  'g',
)

// One test for all categories; the first group that matches names the category.
const CATEGORY = /(\p{White_Space})|(\p{L})|(\p{N})|(\p{P})|(\p{M})|(\p{S})/u
const CATEGORY_CHARS = ['\x0B', '\xD2', '\xD1', '\xD3', '\xD4', '\xD5']

/** Splits text into pre-tokens the way llama.cpp's tekken pre-tokenizer does. */
export class TekkenPreTokenizer {
  /** Collapsed character of each non-ASCII code point seen so far. */
  private readonly collapsedOf = new Map<number, string>()

  split(text: string): string[] {
    // collapsed[k] is the k-th code point's stand-in; offsets[k] its UTF-16 offset in text
    let collapsed = ''
    const offsets: number[] = []
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i) ?? 0
      offsets.push(i)
      collapsed += cp < 0x80 ? String.fromCharCode(cp) : this.collapse(cp)
      i += cp > 0xffff ? 2 : 1
    }
    offsets.push(text.length)

    const words: string[] = []
    let done = 0 // code points already emitted
    const re = new RegExp(TEKKEN_COLLAPSED)
    for (let m = re.exec(collapsed); m !== null; m = re.exec(collapsed)) {
      const end = m.index + m[0].length
      if (m.index > done) words.push(text.slice(offsets[done], offsets[m.index]))
      words.push(text.slice(offsets[m.index], offsets[end]))
      done = end
      if (m[0].length === 0) re.lastIndex++ // no alternative matches empty; never loop if one did
    }
    if (done < offsets.length - 1) words.push(text.slice(offsets[done], text.length))
    return words
  }

  private collapse(cp: number): string {
    let c = this.collapsedOf.get(cp)
    if (c === undefined) {
      const m = CATEGORY.exec(String.fromCodePoint(cp))
      c = '\xD0'
      if (m) {
        for (let g = 1; g <= CATEGORY_CHARS.length; g++) {
          if (m[g] !== undefined) { c = CATEGORY_CHARS[g - 1]; break }
        }
      }
      this.collapsedOf.set(cp, c)
    }
    return c
  }
}

/**
 * Splitting text on the texts of special tokens before tokenizing (llama.cpp
 * `tokenizer_st_partition`): each special token, longest first, is searched for in every piece of
 * text not yet claimed, and each occurrence becomes that token. CONTROL and UNKNOWN tokens
 * (`<s>`, `[INST]`, `[THINK]`) are matched only with parseSpecial; USER_DEFINED ones always.
 */
import {TokenType, type Vocab} from './vocab.js'

/** A piece of the input: raw text still to tokenize, or a token already decided. */
export type Fragment = {readonly text: string} | {readonly id: number}

export function isTextFragment(f: Fragment): f is {readonly text: string} {
  return 'text' in f
}

export function partitionSpecial(text: string, vocab: Vocab, parseSpecial: boolean): Fragment[] {
  if (text.length === 0) return []
  let fragments: Fragment[] = [{text}]
  for (const id of vocab.specials) {
    const type = vocab.types[id]
    if (!parseSpecial && (type === TokenType.CONTROL || type === TokenType.UNKNOWN)) continue
    const special = vocab.tokens[id]
    if (!text.includes(special)) continue // cheap reject: most specials never occur
    const next: Fragment[] = []
    for (const f of fragments) {
      if (!isTextFragment(f)) {
        next.push(f)
        continue
      }
      let from = 0
      for (let at = f.text.indexOf(special); at >= 0; at = f.text.indexOf(special, from)) {
        if (at > from) next.push({text: f.text.slice(from, at)})
        next.push({id})
        from = at + special.length
      }
      if (from < f.text.length) next.push(from === 0 ? f : {text: f.text.slice(from)})
    }
    fragments = next
  }
  return fragments
}

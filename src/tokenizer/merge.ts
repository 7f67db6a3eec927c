/**
 * The merge loop shared by the SPM and BPE tokenizers (llama.cpp `llm_tokenizer_spm_session` and
 * `llm_tokenizer_bpe_session`): the text starts as a chain of symbols (one per character), every
 * adjacent pair that may merge is queued with its key, and the best pair is merged until none is
 * left. A queued pair is stale when either side has changed since it was queued (sizes only grow),
 * and is then skipped, exactly as llama.cpp does.
 */
import {MergeHeap} from './heap.js'

/**
 * Key of merging text[start, mid) with text[mid, end), lower first; undefined when the pair
 * does not merge.
 */
export type PairKey = (text: string, start: number, mid: number, end: number) => number | undefined

/**
 * Merges `text`, whose initial symbols start at the UTF-16 offsets `starts` (ascending, first 0),
 * and returns the final symbols' texts in order.
 */
export function mergeSymbols(text: string, starts: readonly number[], keyOf: PairKey): string[] {
  const n = starts.length
  if (n === 0) return []
  // symbol i covers text[start[i], start[i] + len[i]); len 0 = merged into its left neighbour
  const start = Int32Array.from(starts)
  const len = new Int32Array(n)
  const prev = new Int32Array(n)
  const next = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    len[i] = (i + 1 < n ? starts[i + 1] : text.length) - starts[i]
    prev[i] = i - 1
    next[i] = i + 1 < n ? i + 1 : -1
  }
  const heap = new MergeHeap()
  const consider = (left: number, right: number): void => {
    if (left < 0 || right < 0) return
    const s = start[left]
    const key = keyOf(text, s, s + len[left], s + len[left] + len[right])
    if (key !== undefined) heap.push({key, left, right, size: len[left] + len[right]})
  }
  for (let i = 1; i < n; i++) consider(i - 1, i)

  for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
    const {left, right} = c
    if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== c.size) continue
    len[left] += len[right]
    len[right] = 0
    next[left] = next[right]
    if (next[right] >= 0) prev[next[right]] = left
    consider(prev[left], left)
    consider(left, next[left])
  }

  const out: string[] = []
  for (let i = 0; i !== -1; i = next[i]) out.push(text.slice(start[i], start[i] + len[i]))
  return out
}

/** UTF-16 offsets where each code point of `text` starts (a surrogate pair is one symbol). */
export function codePointStarts(text: string): number[] {
  const starts: number[] = []
  for (let i = 0; i < text.length; i++) {
    starts.push(i)
    const c = text.charCodeAt(i)
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1)
      if (d >= 0xdc00 && d < 0xe000) i++
    }
  }
  return starts
}

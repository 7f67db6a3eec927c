/**
 * A binary min-heap of candidate merges for the SPM and BPE merge loops, ordered by
 * (key, left): SPM uses key = -score (best score first), BPE key = merge rank (lowest first); ties
 * go to the leftmost pair, as llama.cpp's `llm_bigram_*::comparator` orders its priority queues.
 */
export interface MergeCandidate {
  /** Lower merges first. */
  readonly key: number
  /** Symbol indices of the pair. */
  readonly left: number
  readonly right: number
  /** Length of the merged text when the candidate was made: a stale candidate no longer matches. */
  readonly size: number
}

function before(a: MergeCandidate, b: MergeCandidate): boolean {
  return a.key < b.key || (a.key === b.key && a.left < b.left)
}

export class MergeHeap {
  private readonly items: MergeCandidate[] = []

  get size(): number {
    return this.items.length
  }

  push(c: MergeCandidate): void {
    const items = this.items
    let i = items.length
    items.push(c)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(c, items[parent])) break
      items[i] = items[parent]
      i = parent
    }
    items[i] = c
  }

  pop(): MergeCandidate | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    // sift `last` down from the root
    let i = 0
    const n = items.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const child = r < n && before(items[r], items[l]) ? r : l
      if (!before(items[child], last)) break
      items[i] = items[child]
      i = child
    }
    items[i] = last
    return top
  }
}

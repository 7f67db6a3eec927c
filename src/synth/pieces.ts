/**
 * Synthetic "learned" pieces for the vocabularies: a BPE-like merge sequence in which every new
 * piece is the concatenation of two earlier ones, so the pieces are reachable by merging and the
 * order is a valid merge rank. The text is meaningless but deterministic for a PRNG stream.
 */
import type {Prng} from '../util/prng.js'

export interface Merge {
  readonly left: string
  readonly right: string
  /** left + right */
  readonly piece: string
}

const MAX_PIECE = 16 // characters (UTF-16 units; every base character here is one unit)
const MAX_TRIES = 64 // per merge before falling back to a guaranteed-new piece

/**
 * `count` merges over `base` (the single characters, which are not returned). `wordStart` (`▁` or
 * `Ġ`) only begins a piece, as a space does in real vocabularies: a right half never starts with it.
 * Earlier (shorter) pieces are picked more often, as frequent pairs are in real training. No piece
 * equals one of `reserved` (the fixed tokens: llama.cpp refuses a vocabulary with duplicate texts).
 */
export function growMerges(base: readonly string[], count: number, wordStart: string, rng: Prng, reserved: Iterable<string> = []): Merge[] {
  const pool: string[] = [...base]
  const seen = new Set<string>([...base, ...reserved])
  const merges: Merge[] = []
  const pick = (): string => pool[Math.floor(pool.length * rng.next() ** 3)]
  while (merges.length < count) {
    let merge: Merge | undefined
    for (let t = 0; t < MAX_TRIES && !merge; t++) {
      const left = pick()
      const right = pick()
      const piece = left + right
      if (right.startsWith(wordStart) || piece.length > MAX_PIECE || seen.has(piece)) continue
      merge = {left, right, piece}
    }
    // Crowded short pieces: extend the newest piece by a base character until it is new.
    if (!merge) merge = extendNewest(pool, base, seen, wordStart, rng)
    seen.add(merge.piece)
    pool.push(merge.piece)
    merges.push(merge)
  }
  return merges
}

function extendNewest(pool: readonly string[], base: readonly string[], seen: ReadonlySet<string>, wordStart: string, rng: Prng): Merge {
  const letters = base.filter((c) => c !== wordStart)
  for (let i = pool.length - 1; ; i--) {
    const left = pool[i]
    const start = rng.int(0, letters.length - 1)
    for (let k = 0; k < letters.length; k++) {
      const right = letters[(start + k) % letters.length]
      if (!seen.has(left + right)) return {left, right, piece: left + right}
    }
  }
}

/**
 * The 94 printable ASCII characters other than space, letters first: the merge picker favours early
 * entries, so pieces come out mostly lowercase letters, as in real text.
 */
export function textAlphabet(): string[] {
  const range = (from: number, to: number): string[] => Array.from({length: to - from + 1}, (_, i) => String.fromCharCode(from + i))
  const letters = [...range(0x61, 0x7a), ...range(0x41, 0x5a), ...range(0x30, 0x39)]
  const rest = range(0x21, 0x7e).filter((c) => !letters.includes(c))
  return [...letters, ...rest]
}

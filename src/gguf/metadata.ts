/**
 * Typed access to GGUF metadata: one helper per shape of value, each naming the missing or
 * mistyped key, so loaders read required keys in one line and put defaults in one place.
 */
import {LlmfragError} from '../errors.js'
import {type GGUFArray, type GGUFHeader, type GGUFKV, type GGUFValue, isGGUFArray} from './types.js'

export class Metadata {
  private readonly map: Map<string, GGUFKV>

  constructor(readonly file: string, kv: readonly GGUFKV[]) {
    this.map = new Map(kv.map((e) => [e.key, e]))
  }

  static of(file: string, header: GGUFHeader): Metadata {
    return new Metadata(file, header.kv)
  }

  has(key: string): boolean {
    return this.map.has(key)
  }

  raw(key: string): GGUFValue | undefined {
    return this.map.get(key)?.value
  }

  private missing(key: string, expected: string): LlmfragError {
    const got = this.map.get(key)
    return new LlmfragError('BAD_INPUT', got === undefined
      ? `${this.file}: metadata key ${key} is missing (expected ${expected})`
      : `${this.file}: metadata key ${key} has the wrong type (expected ${expected}, got ${describe(got.value)})`,
    {hints: ['the file may come from an older or different converter; re-convert it with a current llama.cpp'], details: {file: this.file, key}})
  }

  /** A numeric value (any int or float type; 64-bit ints narrowed when safe). */
  optNumber(key: string): number | undefined {
    const v = this.raw(key)
    if (v === undefined) return undefined
    if (typeof v === 'number') return v
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
    throw this.missing(key, 'a number')
  }

  number(key: string): number {
    const v = this.optNumber(key)
    if (v === undefined) throw this.missing(key, 'a number')
    return v
  }

  optString(key: string): string | undefined {
    const v = this.raw(key)
    if (v === undefined) return undefined
    if (typeof v !== 'string') throw this.missing(key, 'a string')
    return v
  }

  string(key: string): string {
    const v = this.optString(key)
    if (v === undefined) throw this.missing(key, 'a string')
    return v
  }

  optBool(key: string): boolean | undefined {
    const v = this.raw(key)
    if (v === undefined) return undefined
    if (typeof v !== 'boolean') throw this.missing(key, 'a bool')
    return v
  }

  optArray(key: string): GGUFArray | undefined {
    const v = this.raw(key)
    if (v === undefined) return undefined
    if (!isGGUFArray(v)) throw this.missing(key, 'an array')
    return v
  }

  strings(key: string): string[] {
    const a = this.optArray(key)
    if (!a || a.items.some((x) => typeof x !== 'string')) throw this.missing(key, 'an array of strings')
    return a.items as string[]
  }

  optNumbers(key: string): number[] | undefined {
    const a = this.optArray(key)
    if (!a) return undefined
    if (a.items.some((x) => typeof x !== 'number')) throw this.missing(key, 'an array of numbers')
    return a.items as number[]
  }
}

function describe(v: GGUFValue): string {
  if (isGGUFArray(v)) return `an array of ${v.items.length}`
  return typeof v
}

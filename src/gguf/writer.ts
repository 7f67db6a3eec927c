/**
 * GGUF header encoder: the exact inverse of reader.ts for v2/v3 little-endian files, so a parsed
 * header re-encodes byte for byte. Tensor data is written by the caller after the returned bytes.
 */
import {GGMLType, tensorBytes} from './ggml-types.js'
import {GGUF_MAGIC, type GGUFArray, type GGUFKV, type GGUFValue, GGUFValueType, isGGUFArray} from './types.js'

export interface TensorSpec {
  readonly name: string
  readonly dims: readonly number[]
  readonly type: GGMLType
  /** Offset from the start of the data section; a multiple of the alignment. */
  readonly offset: number
}

export interface HeaderSpec {
  readonly version: number
  readonly kv: readonly GGUFKV[]
  readonly tensors: readonly TensorSpec[]
  readonly alignment: number
}

class Writer {
  private buf = Buffer.alloc(1 << 16)
  pos = 0
  private readonly encoder = new TextEncoder()

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  u8(v: number): void { this.ensure(1); this.buf.writeUInt8(v, this.pos); this.pos += 1 }
  i8(v: number): void { this.ensure(1); this.buf.writeInt8(v, this.pos); this.pos += 1 }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16LE(v, this.pos); this.pos += 2 }
  i16(v: number): void { this.ensure(2); this.buf.writeInt16LE(v, this.pos); this.pos += 2 }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v, this.pos); this.pos += 4 }
  i32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v, this.pos); this.pos += 4 }
  f32(v: number): void { this.ensure(4); this.buf.writeFloatLE(v, this.pos); this.pos += 4 }
  f64(v: number): void { this.ensure(8); this.buf.writeDoubleLE(v, this.pos); this.pos += 8 }
  u64(v: bigint | number): void { this.ensure(8); this.buf.writeBigUInt64LE(BigInt(v), this.pos); this.pos += 8 }
  i64(v: bigint | number): void { this.ensure(8); this.buf.writeBigInt64LE(BigInt(v), this.pos); this.pos += 8 }

  string(s: string): void {
    const bytes = this.encoder.encode(s)
    this.u64(bytes.length)
    this.ensure(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  padTo(alignment: number): void {
    const end = Math.ceil(this.pos / alignment) * alignment
    this.ensure(end - this.pos)
    this.buf.fill(0, this.pos, end)
    this.pos = end
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos)
  }
}

function num(v: GGUFValue, key: string): number {
  if (typeof v !== 'number') throw new TypeError(`${key}: expected a number, got ${typeof v}`)
  return v
}

function writeValue(w: Writer, type: GGUFValueType, v: GGUFValue, key: string): void {
  switch (type) {
    case GGUFValueType.UINT8: return w.u8(num(v, key))
    case GGUFValueType.INT8: return w.i8(num(v, key))
    case GGUFValueType.UINT16: return w.u16(num(v, key))
    case GGUFValueType.INT16: return w.i16(num(v, key))
    case GGUFValueType.UINT32: return w.u32(num(v, key))
    case GGUFValueType.INT32: return w.i32(num(v, key))
    case GGUFValueType.FLOAT32: return w.f32(num(v, key))
    case GGUFValueType.FLOAT64: return w.f64(num(v, key))
    case GGUFValueType.UINT64: return w.u64(v as bigint | number)
    case GGUFValueType.INT64: return w.i64(v as bigint | number)
    case GGUFValueType.BOOL: return w.u8(v ? 1 : 0)
    case GGUFValueType.STRING:
      if (typeof v !== 'string') throw new TypeError(`${key}: expected a string`)
      return w.string(v)
    case GGUFValueType.ARRAY: {
      if (!isGGUFArray(v)) throw new TypeError(`${key}: expected an array`)
      const a: GGUFArray = v
      w.u32(a.itemType)
      w.u64(a.items.length)
      for (const item of a.items) writeValue(w, a.itemType, item, key)
      return
    }
  }
}

/** Encodes magic, version, metadata and tensor infos, zero-padded to the data section's start. */
export function encodeGGUFHeader(spec: HeaderSpec): Buffer {
  const w = new Writer()
  w.u32(GGUF_MAGIC)
  w.u32(spec.version)
  w.u64(spec.tensors.length)
  w.u64(spec.kv.length)
  for (const {key, type, value} of spec.kv) {
    w.string(key)
    w.u32(type)
    writeValue(w, type, value, key)
  }
  for (const t of spec.tensors) {
    w.string(t.name)
    w.u32(t.dims.length)
    for (const d of t.dims) w.u64(d)
    w.u32(t.type)
    w.u64(t.offset)
  }
  w.padTo(spec.alignment)
  return w.result()
}

/**
 * Lays tensors out back to back in the data section, each at the next multiple of the alignment,
 * as llama.cpp's writer does. Returns the specs with offsets and the data section's total size.
 */
export function layoutTensors(
  tensors: ReadonlyArray<{name: string; dims: readonly number[]; type: GGMLType}>,
  alignment: number,
): {specs: TensorSpec[]; dataBytes: number} {
  let offset = 0
  const specs: TensorSpec[] = []
  for (const t of tensors) {
    const bytes = tensorBytes(t.type, t.dims)
    if (typeof bytes === 'string') throw new RangeError(`${t.name}: ${bytes}`)
    specs.push({...t, offset})
    offset = Math.ceil((offset + bytes) / alignment) * alignment
  }
  const last = specs.at(-1)
  const dataBytes = last ? last.offset + (tensorBytes(last.type, last.dims) as number) : 0
  return {specs, dataBytes}
}

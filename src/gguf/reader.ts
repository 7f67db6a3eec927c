/**
 * GGUF v2/v3 header parser. Reads through a small sliding window, checks every count and length
 * against the bytes that remain before allocating, and names the field and byte offset of any fault.
 */
import {LlmfragError} from '../errors.js'
import {BufferSource, type ByteSource, FileSource} from './byte-source.js'
import {ggmlTypeInfo, tensorBytes} from './ggml-types.js'
import {
  GGML_MAX_DIMS, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, type GGUFArray, type GGUFHeader, type GGUFKV,
  type GGUFTensorInfo, type GGUFValue, GGUFValueType,
} from './types.js'

const WINDOW = 1 << 20
const MAX_STRING = 64 << 20 // no real key, value or tensor name comes near this

/** Minimum encoded size of one value of each type, for bounding counts before allocating. */
const MIN_SIZE: Record<GGUFValueType, number> = {
  [GGUFValueType.UINT8]: 1, [GGUFValueType.INT8]: 1, [GGUFValueType.BOOL]: 1,
  [GGUFValueType.UINT16]: 2, [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4, [GGUFValueType.INT32]: 4, [GGUFValueType.FLOAT32]: 4,
  [GGUFValueType.UINT64]: 8, [GGUFValueType.INT64]: 8, [GGUFValueType.FLOAT64]: 8,
  [GGUFValueType.STRING]: 8, [GGUFValueType.ARRAY]: 12,
}

export function ggufFormatError(file: string, field: string, offset: number, message: string, hints: string[] = []): LlmfragError {
  return new LlmfragError('GGUF_FORMAT', `${file}: ${field} at byte ${offset}: ${message}`, {
    hints: hints.length > 0 ? hints : ['the file is damaged or is not a GGUF model; re-download or re-convert it'],
    details: {file, field, offset},
  })
}

class Cursor {
  pos = 0
  private buf = Buffer.alloc(WINDOW)
  private bufStart = 0
  private bufEnd = 0
  private readonly decoder = new TextDecoder('utf-8', {fatal: true})

  constructor(readonly src: ByteSource) {}

  fail(field: string, offset: number, message: string, hints?: string[]): LlmfragError {
    return ggufFormatError(this.src.name, field, offset, message, hints)
  }

  /** Makes [pos, pos+n) available in the window; fails naming `field` when the file ends first. */
  private need(n: number, field: string): number {
    if (this.pos + n > this.src.size) {
      throw this.fail(field, this.pos, `needs ${n} bytes but the file ends at byte ${this.src.size} (truncated)`)
    }
    if (this.pos < this.bufStart || this.pos + n > this.bufEnd) {
      if (n > this.buf.length) this.buf = Buffer.alloc(n)
      const len = Math.min(this.buf.length, this.src.size - this.pos)
      this.src.readInto(this.pos, len, this.buf, 0)
      this.bufStart = this.pos
      this.bufEnd = this.pos + len
    }
    const at = this.pos - this.bufStart
    this.pos += n
    return at
  }

  remaining(): number {
    return this.src.size - this.pos
  }

  u8(f: string): number { return this.buf.readUInt8(this.need(1, f)) }
  i8(f: string): number { return this.buf.readInt8(this.need(1, f)) }
  u16(f: string): number { return this.buf.readUInt16LE(this.need(2, f)) }
  i16(f: string): number { return this.buf.readInt16LE(this.need(2, f)) }
  u32(f: string): number { return this.buf.readUInt32LE(this.need(4, f)) }
  i32(f: string): number { return this.buf.readInt32LE(this.need(4, f)) }
  f32(f: string): number { return this.buf.readFloatLE(this.need(4, f)) }
  f64(f: string): number { return this.buf.readDoubleLE(this.need(8, f)) }
  u64(f: string): bigint { return this.buf.readBigUInt64LE(this.need(8, f)) }
  i64(f: string): bigint { return this.buf.readBigInt64LE(this.need(8, f)) }

  /** A u64 count or size, checked to be at most `max` (the bytes that could hold it). */
  count(f: string, max: number, unit: string): number {
    const at = this.pos
    const v = this.u64(f)
    if (v > BigInt(max)) {
      throw this.fail(f, at, `${v} ${unit} cannot fit in the ${this.src.size - at} bytes left in the file (at most ${max}): truncated or damaged`)
    }
    return Number(v)
  }

  string(f: string): string {
    const at = this.pos
    const len = this.count(`${f} length`, Math.min(this.remaining() - 8, MAX_STRING), 'bytes')
    const o = this.need(len, f)
    try {
      return this.decoder.decode(this.buf.subarray(o, o + len))
    } catch {
      throw this.fail(f, at, 'string is not valid UTF-8')
    }
  }
}

function readValue(c: Cursor, type: number, field: string): GGUFValue {
  switch (type) {
    case GGUFValueType.UINT8: return c.u8(field)
    case GGUFValueType.INT8: return c.i8(field)
    case GGUFValueType.UINT16: return c.u16(field)
    case GGUFValueType.INT16: return c.i16(field)
    case GGUFValueType.UINT32: return c.u32(field)
    case GGUFValueType.INT32: return c.i32(field)
    case GGUFValueType.FLOAT32: return c.f32(field)
    case GGUFValueType.FLOAT64: return c.f64(field)
    case GGUFValueType.UINT64: return c.u64(field)
    case GGUFValueType.INT64: return c.i64(field)
    case GGUFValueType.BOOL: {
      const at = c.pos
      const b = c.u8(field)
      if (b > 1) throw c.fail(field, at, `bool must be 0 or 1, got ${b}`)
      return b === 1
    }
    case GGUFValueType.STRING: return c.string(field)
    case GGUFValueType.ARRAY: return readArray(c, field)
    default: throw c.fail(field, c.pos - 4, `unknown value type ${type} (expected 0-12)`)
  }
}

function readArray(c: Cursor, field: string): GGUFArray {
  const typeAt = c.pos
  const itemType = c.u32(`${field} item type`)
  const min = MIN_SIZE[itemType as GGUFValueType]
  if (min === undefined) throw c.fail(`${field} item type`, typeAt, `unknown value type ${itemType} (expected 0-12)`)
  const n = c.count(`${field} count`, Math.floor((c.remaining() - 8) / min), 'items')
  const items: Array<GGUFValue> = new Array(n)
  for (let i = 0; i < n; i++) items[i] = readValue(c, itemType, `${field}[${i}]`)
  return {itemType, items} as GGUFArray
}

/** Parses the header of a GGUF file (magic, version, metadata, tensor infos) from a byte source. */
export function parseGGUFHeader(src: ByteSource): GGUFHeader {
  const c = new Cursor(src)
  const magic = c.u32('magic')
  if (magic !== GGUF_MAGIC) {
    const got = Buffer.alloc(4)
    got.writeUInt32LE(magic)
    throw c.fail('magic', 0, `expected "GGUF", got ${JSON.stringify(got.toString('latin1'))}`, ['this is not a GGUF file'])
  }
  const version = c.u32('version')
  if (version !== 2 && version !== 3) {
    throw c.fail('version', 4, `expected 2 or 3, got ${version}`, [
      version === 1 ? 'GGUF v1 (2023) is not supported: re-convert the model with a current llama.cpp' : 'a newer GGUF version than this tool reads, or a damaged file',
    ])
  }
  const tensorCount = c.count('tensor count', Math.floor((c.remaining() - 16) / 24), 'tensors')
  const kvCount = c.count('metadata kv count', Math.floor((c.remaining() - 8) / 13), 'key/values')

  const kv: GGUFKV[] = []
  const keys = new Set<string>()
  let alignment = GGUF_DEFAULT_ALIGNMENT
  for (let i = 0; i < kvCount; i++) {
    const keyAt = c.pos
    const key = c.string(`metadata[${i}] key`)
    if (keys.has(key)) throw c.fail(`metadata key ${key}`, keyAt, 'duplicate key')
    keys.add(key)
    const type = c.u32(`${key} type`)
    const value = readValue(c, type, key)
    if (key === 'general.alignment') {
      if (type !== GGUFValueType.UINT32 || typeof value !== 'number' || value === 0 || (value & (value - 1)) !== 0) {
        throw c.fail(key, keyAt, `expected a power of two of type uint32, got ${String(value)} (type ${type})`)
      }
      alignment = value
    }
    kv.push({key, type, value})
  }

  const tensors: GGUFTensorInfo[] = []
  const names = new Set<string>()
  const infoAts: number[] = []
  for (let i = 0; i < tensorCount; i++) {
    const at = c.pos
    infoAts.push(at)
    const name = c.string(`tensor[${i}] name`)
    if (names.has(name)) throw c.fail(`tensor ${name} name`, at, 'duplicate tensor name')
    names.add(name)
    const ndAt = c.pos
    const nDims = c.u32(`tensor ${name} n_dims`)
    if (nDims < 1 || nDims > GGML_MAX_DIMS) throw c.fail(`tensor ${name} n_dims`, ndAt, `expected 1-${GGML_MAX_DIMS}, got ${nDims}`)
    const dims: number[] = []
    for (let d = 0; d < nDims; d++) {
      const dAt = c.pos
      const v = c.u64(`tensor ${name} dims[${d}]`)
      if (v === 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw c.fail(`tensor ${name} dims[${d}]`, dAt, `expected 1..2^53, got ${v}`)
      dims.push(Number(v))
    }
    const typeAt = c.pos
    const type = c.u32(`tensor ${name} type`)
    if (!ggmlTypeInfo(type)) throw c.fail(`tensor ${name} type`, typeAt, `unknown ggml type ${type}`)
    const bytes = tensorBytes(type, dims)
    if (typeof bytes === 'string') throw c.fail(`tensor ${name} dims`, ndAt, bytes)
    const offAt = c.pos
    const off = c.u64(`tensor ${name} offset`)
    if (off > BigInt(Number.MAX_SAFE_INTEGER)) throw c.fail(`tensor ${name} offset`, offAt, `offset ${off} is past any file`)
    tensors.push({name, dims, type, offset: Number(off), bytes})
  }

  const headerEnd = c.pos
  const dataOffset = Math.ceil(headerEnd / alignment) * alignment
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]
    const offAt = infoAts[i]
    if (t.offset % alignment !== 0) {
      throw c.fail(`tensor ${t.name} offset`, offAt, `offset ${t.offset} is not a multiple of the alignment ${alignment} (misaligned)`)
    }
    if (dataOffset + t.offset + t.bytes > src.size) {
      throw c.fail(`tensor ${t.name} data`, dataOffset + t.offset,
        `${t.bytes} bytes of data would end at byte ${dataOffset + t.offset + t.bytes}, past the end of the file (${src.size} bytes)`,
        ['the file is truncated: re-download it or check free disk space where it was written'])
    }
  }
  return {version, kv, tensors, alignment, headerEnd, dataOffset, fileSize: src.size}
}

/** Reads the header of a GGUF file on disk; reads only the header's bytes. */
export function readGGUFHeader(path: string): GGUFHeader {
  const src = new FileSource(path)
  try {
    return parseGGUFHeader(src)
  } finally {
    src.close()
  }
}

/** Parses the header of a GGUF image held in memory. */
export function parseGGUFBuffer(name: string, data: Uint8Array): GGUFHeader {
  return parseGGUFHeader(new BufferSource(name, data))
}

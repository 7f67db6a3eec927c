import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {GGMLType} from '../../src/gguf/ggml-types.js'
import {parseGGUFBuffer} from '../../src/gguf/reader.js'
import {GGUFValueType, type GGUFKV} from '../../src/gguf/types.js'
import {encodeGGUFHeader, layoutTensors} from '../../src/gguf/writer.js'

const T = GGUFValueType

/** One key of every value type, nested arrays included. */
const everyType: GGUFKV[] = [
  {key: 'general.architecture', type: T.STRING, value: 'llama'},
  {key: 'a.u8', type: T.UINT8, value: 255},
  {key: 'a.i8', type: T.INT8, value: -128},
  {key: 'a.u16', type: T.UINT16, value: 65535},
  {key: 'a.i16', type: T.INT16, value: -32768},
  {key: 'a.u32', type: T.UINT32, value: 4294967295},
  {key: 'a.i32', type: T.INT32, value: -2147483648},
  {key: 'a.f32', type: T.FLOAT32, value: 1.5},
  {key: 'a.f64', type: T.FLOAT64, value: Math.PI},
  {key: 'a.bool', type: T.BOOL, value: true},
  {key: 'a.u64', type: T.UINT64, value: 18446744073709551615n},
  {key: 'a.i64', type: T.INT64, value: -9223372036854775808n},
  {key: 'a.str', type: T.STRING, value: 'héllo ▁ 世界 🙂'},
  {key: 'a.empty', type: T.STRING, value: ''},
  {key: 'a.arr.f32', type: T.ARRAY, value: {itemType: T.FLOAT32, items: [0.25, -2, 3.5]}},
  {key: 'a.arr.str', type: T.ARRAY, value: {itemType: T.STRING, items: ['<s>', '', '[INST]']}},
  {key: 'a.arr.i64', type: T.ARRAY, value: {itemType: T.INT64, items: [1n, -2n]}},
  {key: 'a.arr.bool', type: T.ARRAY, value: {itemType: T.BOOL, items: [true, false]}},
  {key: 'a.arr.empty', type: T.ARRAY, value: {itemType: T.UINT8, items: []}},
  {key: 'a.arr.nested', type: T.ARRAY, value: {itemType: T.ARRAY, items: [
    {itemType: T.INT32, items: [1, 2, 3]},
    {itemType: T.ARRAY, items: [{itemType: T.STRING, items: ['deep']}]},
  ]}},
]

interface FileOpts {
  version?: number
  kv?: GGUFKV[]
  tensors?: Array<{name: string; dims: number[]; type: GGMLType}>
  alignment?: number
}

/** A whole GGUF image: header, then each tensor's data filled with its index. */
function makeFile(opts: FileOpts = {}): {buf: Buffer; dataOffset: number} {
  const alignment = opts.alignment ?? 32
  const tensors = opts.tensors ?? [
    {name: 'token_embd.weight', dims: [256, 2], type: GGMLType.Q4_K},
    {name: 'output_norm.weight', dims: [7], type: GGMLType.F32},
  ]
  const {specs, dataBytes} = layoutTensors(tensors, alignment)
  const header = encodeGGUFHeader({version: opts.version ?? 3, kv: opts.kv ?? everyType, tensors: specs, alignment})
  const buf = Buffer.alloc(header.length + dataBytes)
  header.copy(buf)
  return {buf, dataOffset: header.length}
}

function expectFormatError(fn: () => unknown, field: RegExp, offset?: number): LlmfragError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected a GGUF_FORMAT error').to.be.instanceOf(LlmfragError)
  const e = caught as LlmfragError
  expect(e.code).to.equal('GGUF_FORMAT')
  expect(String(e.details.field)).to.match(field)
  if (offset !== undefined) expect(e.details.offset).to.equal(offset)
  expect(e.message).to.include(`at byte ${e.details.offset}`)
  expect(e.hints.length).to.be.greaterThan(0)
  return e
}

describe('GGUF reader and writer', () => {
  it('reads back every metadata type, nested arrays included, and re-encodes byte for byte', () => {
    for (const version of [2, 3]) {
      const {buf, dataOffset} = makeFile({version})
      const h = parseGGUFBuffer('mem.gguf', buf)
      expect(h.version).to.equal(version)
      expect(h.kv).to.deep.equal(everyType)
      expect(h.dataOffset).to.equal(dataOffset)
      expect(h.tensors.map((t) => [t.name, t.dims, t.type, t.offset, t.bytes])).to.deep.equal([
        ['token_embd.weight', [256, 2], GGMLType.Q4_K, 0, 288],
        ['output_norm.weight', [7], GGMLType.F32, 288, 28],
      ])
      const again = encodeGGUFHeader({version: h.version, kv: h.kv, tensors: h.tensors, alignment: h.alignment})
      expect(Buffer.compare(again, buf.subarray(0, dataOffset))).to.equal(0)
    }
  })

  it('honours general.alignment for the data section and tensor offsets', () => {
    const kv: GGUFKV[] = [{key: 'general.alignment', type: T.UINT32, value: 64}]
    const {buf} = makeFile({kv, alignment: 64, tensors: [
      {name: 'a', dims: [3], type: GGMLType.F32}, {name: 'b', dims: [5], type: GGMLType.F16},
    ]})
    const h = parseGGUFBuffer('mem.gguf', buf)
    expect(h.alignment).to.equal(64)
    expect(h.dataOffset % 64).to.equal(0)
    expect(h.tensors[1].offset).to.equal(64)
  })

  it('rejects a bad magic', () => {
    const {buf} = makeFile()
    buf.write('GGML', 0, 'latin1')
    const e = expectFormatError(() => parseGGUFBuffer('bad.gguf', buf), /^magic$/, 0)
    expect(e.message).to.include('expected "GGUF", got "GGML"')
  })

  for (const version of [1, 4]) {
    it(`rejects version ${version}`, () => {
      const {buf} = makeFile()
      buf.writeUInt32LE(version, 4)
      const e = expectFormatError(() => parseGGUFBuffer('v.gguf', buf), /^version$/, 4)
      expect(e.message).to.include(`expected 2 or 3, got ${version}`)
    })
  }

  it('rejects a header truncated in the middle of the metadata', () => {
    const {buf} = makeFile()
    const e = expectFormatError(() => parseGGUFBuffer('short.gguf', buf.subarray(0, 100)), /./)
    expect(e.message).to.include('truncated')
  })

  it('rejects a tensor count larger than the file could hold, without allocating for it', () => {
    const {buf} = makeFile()
    buf.writeBigUInt64LE(1n << 40n, 8)
    const before = process.memoryUsage().arrayBuffers
    const e = expectFormatError(() => parseGGUFBuffer('count.gguf', buf), /^tensor count$/, 8)
    expect(e.message).to.include('1099511627776 tensors cannot fit')
    expect(process.memoryUsage().arrayBuffers - before).to.be.lessThan(64 << 20)
  })

  it('rejects a string length larger than the file, without allocating for it', () => {
    const {buf} = makeFile()
    // The first key's length field sits right after magic, version and the two counts.
    buf.writeBigUInt64LE(3n << 32n, 24)
    const before = process.memoryUsage().arrayBuffers
    expectFormatError(() => parseGGUFBuffer('str.gguf', buf), /^metadata\[0\] key length$/, 24)
    expect(process.memoryUsage().arrayBuffers - before).to.be.lessThan(64 << 20)
  })

  it('rejects an array count larger than the file', () => {
    const kv: GGUFKV[] = [{key: 'x', type: T.ARRAY, value: {itemType: T.UINT32, items: [1, 2]}}]
    const {buf} = makeFile({kv})
    // magic 4 + version 4 + counts 16 + key (8 + 1) + type 4 + item type 4 = 41: the count.
    buf.writeBigUInt64LE(1n << 50n, 41)
    expectFormatError(() => parseGGUFBuffer('arr.gguf', buf), /^x count$/, 41)
  })

  it('rejects tensor data that runs past the end of the file', () => {
    const {buf} = makeFile()
    const e = expectFormatError(() => parseGGUFBuffer('cut.gguf', buf.subarray(0, buf.length - 1)), /^tensor output_norm.weight data$/)
    expect(e.message).to.include('past the end of the file')
  })

  it('rejects a misaligned tensor offset', () => {
    const {buf} = makeFile()
    const h = parseGGUFBuffer('ok.gguf', buf)
    const bad = encodeGGUFHeader({version: 3, kv: h.kv, alignment: 32, tensors: [h.tensors[0], {...h.tensors[1], offset: 290}]})
    const file = Buffer.concat([bad, Buffer.alloc(400)])
    const e = expectFormatError(() => parseGGUFBuffer('mis.gguf', file), /^tensor output_norm.weight offset$/)
    expect(e.message).to.include('offset 290 is not a multiple of the alignment 32')
  })

  it('rejects a duplicate tensor name', () => {
    const {buf} = makeFile({tensors: [{name: 'a', dims: [8], type: GGMLType.F32}, {name: 'a', dims: [8], type: GGMLType.F32}]})
    expectFormatError(() => parseGGUFBuffer('dup.gguf', buf), /^tensor a name$/)
  })

  it('rejects a duplicate metadata key and an unknown value type', () => {
    const dup = makeFile({kv: [{key: 'k', type: T.UINT8, value: 1}, {key: 'k', type: T.UINT8, value: 2}]}).buf
    expectFormatError(() => parseGGUFBuffer('dupkey.gguf', dup), /^metadata key k$/)
    const unk = makeFile({kv: [{key: 'k', type: T.UINT8, value: 1}]}).buf
    unk.writeUInt32LE(13, 24 + 8 + 1) // the value type of key "k"
    expectFormatError(() => parseGGUFBuffer('type.gguf', unk), /^k$/)
  })

  it('rejects an unknown tensor type and a row that is not a whole number of blocks', () => {
    const {buf} = makeFile({kv: [], tensors: [{name: 'w', dims: [256], type: GGMLType.Q4_K}]})
    // header: 24 bytes, then name (8 + 1), n_dims 4, dims 8: the type is at 45.
    buf.writeUInt32LE(4, 45)
    expectFormatError(() => parseGGUFBuffer('t.gguf', buf), /^tensor w type$/, 45)
    buf.writeUInt32LE(GGMLType.Q4_K, 45)
    buf.writeBigUInt64LE(100n, 37)
    const e = expectFormatError(() => parseGGUFBuffer('t.gguf', buf), /^tensor w dims$/)
    expect(e.message).to.include('not a multiple of the Q4_K block size 256')
  })
})

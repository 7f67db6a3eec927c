/**
 * Tensor frames (DESIGN section 11): one tensor that leaves the process (a chat session's KV
 * cache, a cached system prompt, a hidden state for a later stage) with what is needed to refuse
 * it anywhere it does not belong. Layout, little-endian:
 *
 *   offset  bytes      field
 *   0       4          magic "LFRM"
 *   4       2          version (1)
 *   6       1          dtype: a ggml type id (F32 0, F16 1, I32 26, BF16 30, ...)
 *   7       1          codec: 0 raw, 1 zstd (one frame, RFC 8878)
 *   8       1          ndims (1..8)
 *   9       1          architecture name length A (1..255)
 *   10      2          tensor name length N (0..4096)
 *   12      32         model fingerprint (sha256 of the tensor table, see fingerprint.ts)
 *   44      8          raw bytes R (the tensor's size: dtype and shape must agree)
 *   52      8          payload bytes P (R when raw)
 *   60      8*ndims    dims, ggml order (dims[0] contiguous)
 *   ..      A          architecture name, UTF-8 (`magistral`, `mistral_7b`, ...)
 *   ..      N          tensor name, UTF-8
 *   ..      P          payload
 *   end     32         sha256 of every byte before it
 *
 * Decoding checks, in order: length and magic, version, the sha256 (so a flipped byte anywhere is
 * refused before any field is believed), architecture, fingerprint, dtype and shape against R,
 * then the payload (decompressed size must be R). Nothing is returned unless all pass.
 */
import {createHash} from 'node:crypto'

import {decompress} from 'fzstd'

import {LlmfragError, type ErrorOptions} from '../errors.js'
import {ggmlTypeInfo, ggmlTypeName, tensorBytes, type GGMLType} from '../gguf/ggml-types.js'
import {compressFrame} from '../fragments/zstd.js'
import {FINGERPRINT_BYTES, fingerprintHex} from './fingerprint.js'

export const FRAME_MAGIC = 'LFRM'
export const FRAME_VERSION = 1
const FIXED = 60
const TRAILER = 32
const MAX_DIMS = 8
const MAX_NAME = 4096

export type Codec = 'raw' | 'zstd'
const CODEC_IDS: Record<Codec, number> = {raw: 0, zstd: 1}

/** Which model a frame belongs to. */
export interface FrameModel {
  readonly architecture: string
  /** 32 bytes, from modelFingerprint. */
  readonly fingerprint: Uint8Array
}

export interface FrameTensor {
  /** Optional label, e.g. `kv.k` or `tokens`. */
  readonly name?: string
  readonly dtype: GGMLType
  /** ggml order: dims[0] is contiguous. */
  readonly dims: readonly number[]
  readonly data: Uint8Array
}

export interface DecodedFrame extends FrameModel {
  readonly name: string
  readonly dtype: GGMLType
  readonly dims: readonly number[]
  readonly codec: Codec
  /** The tensor's bytes (its own buffer, not a view into the frame). */
  readonly data: Uint8Array
  /** Bytes of the frame in the input (to read the next one in a file of frames). */
  readonly frameBytes: number
}

function bad(what: string, options: ErrorOptions = {}): LlmfragError {
  return new LlmfragError('BAD_INPUT', `tensor frame: ${what}`, options)
}

function checkTensor(t: FrameTensor): void {
  if (!ggmlTypeInfo(t.dtype)) throw bad(`unknown dtype ${t.dtype}`)
  if (t.dims.length < 1 || t.dims.length > MAX_DIMS || !t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`dims ${JSON.stringify(t.dims)}: expected 1..${MAX_DIMS} whole numbers >= 0`)
  }
  const expected = tensorBytes(t.dtype, t.dims)
  if (typeof expected === 'string') throw bad(`${ggmlTypeName(t.dtype)} [${t.dims.join(', ')}]: ${expected}`)
  if (expected !== t.data.byteLength) {
    throw bad(`${ggmlTypeName(t.dtype)} [${t.dims.join(', ')}] is ${expected} bytes, got ${t.data.byteLength}`)
  }
}

/** Encodes one tensor for `model`. zstd uses the fragment encoder (content checksum on). */
export async function encodeFrame(tensor: FrameTensor, model: FrameModel, codec: Codec = 'raw'): Promise<Buffer> {
  checkTensor(tensor)
  const arch = Buffer.from(model.architecture, 'utf8')
  const name = Buffer.from(tensor.name ?? '', 'utf8')
  if (arch.length < 1 || arch.length > 255) throw bad(`architecture name must be 1..255 bytes, got ${arch.length}`)
  if (name.length > MAX_NAME) throw bad(`tensor name must be at most ${MAX_NAME} bytes, got ${name.length}`)
  if (model.fingerprint.byteLength !== FINGERPRINT_BYTES) throw bad(`fingerprint must be ${FINGERPRINT_BYTES} bytes, got ${model.fingerprint.byteLength}`)
  const payload = codec === 'zstd' ? await compressFrame(tensor.data) : tensor.data
  const headerBytes = FIXED + 8 * tensor.dims.length + arch.length + name.length
  const out = Buffer.allocUnsafe(headerBytes + payload.byteLength + TRAILER)
  out.write(FRAME_MAGIC, 0, 'latin1')
  out.writeUInt16LE(FRAME_VERSION, 4)
  out.writeUInt8(tensor.dtype, 6)
  out.writeUInt8(CODEC_IDS[codec], 7)
  out.writeUInt8(tensor.dims.length, 8)
  out.writeUInt8(arch.length, 9)
  out.writeUInt16LE(name.length, 10)
  out.set(model.fingerprint, 12)
  out.writeBigUInt64LE(BigInt(tensor.data.byteLength), 44)
  out.writeBigUInt64LE(BigInt(payload.byteLength), 52)
  let o = FIXED
  for (const d of tensor.dims) {
    out.writeBigUInt64LE(BigInt(d), o)
    o += 8
  }
  o += arch.copy(out, o)
  o += name.copy(out, o)
  out.set(payload, o)
  o += payload.byteLength
  createHash('sha256').update(out.subarray(0, o)).digest().copy(out, o)
  return out
}

/** Reads a u64 that must fit a safe integer and the bytes that are actually there. */
function u64(buf: Buffer, offset: number, field: string, limit: number): number {
  const v = buf.readBigUInt64LE(offset)
  if (v > BigInt(limit)) throw bad(`${field} at offset ${offset} is ${v}, more than the ${limit} bytes available`, {hints: ['the frame is truncated or damaged']})
  return Number(v)
}

/**
 * Decodes the frame at the start of `input` (more frames may follow) for `model`; throws BAD_INPUT
 * for a damaged or truncated frame, ARCH_MISMATCH for a frame made for another architecture or
 * another tensor table, UNSUPPORTED for a newer version.
 */
export function decodeFrame(input: Uint8Array, model: FrameModel): DecodedFrame {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  if (buf.length < FIXED + TRAILER) {
    throw bad(`truncated: ${buf.length} bytes, a frame has at least ${FIXED + TRAILER}`, {details: {expected: FIXED + TRAILER, actual: buf.length}})
  }
  if (buf.toString('latin1', 0, 4) !== FRAME_MAGIC) {
    throw bad(`bad magic at offset 0: expected "${FRAME_MAGIC}", got ${JSON.stringify(buf.toString('latin1', 0, 4))}`, {hints: ['this is not an llmfrag tensor frame']})
  }
  const version = buf.readUInt16LE(4)
  if (version !== FRAME_VERSION) {
    throw new LlmfragError('UNSUPPORTED', `tensor frame: version ${version} at offset 4, this build reads version ${FRAME_VERSION}`, {hints: ['upgrade llmfrag to read frames from a newer version']})
  }
  const ndims = buf.readUInt8(8)
  const archLen = buf.readUInt8(9)
  const nameLen = buf.readUInt16LE(10)
  const payloadBytes = u64(buf, 52, 'payload bytes', buf.length)
  const headerBytes = FIXED + 8 * ndims + archLen + nameLen
  const total = headerBytes + payloadBytes + TRAILER
  if (buf.length < total) {
    throw bad(`truncated: the header announces ${total} bytes, got ${buf.length}`, {hints: ['the frame was cut short (an interrupted copy or write)'], details: {expected: total, actual: buf.length}})
  }
  const digest = createHash('sha256').update(buf.subarray(0, total - TRAILER)).digest()
  if (!digest.equals(buf.subarray(total - TRAILER, total))) {
    throw bad(`checksum mismatch: sha256 of the ${total - TRAILER} bytes before offset ${total - TRAILER} does not match the stored one`, {
      hints: ['the frame is damaged; nothing was loaded'],
    })
  }
  // From here on every field is as written.
  let o = FIXED
  const dims: number[] = []
  for (let i = 0; i < ndims; i++, o += 8) dims.push(u64(buf, o, `dims[${i}]`, Number.MAX_SAFE_INTEGER))
  const architecture = buf.toString('utf8', o, o + archLen)
  o += archLen
  const name = buf.toString('utf8', o, o + nameLen)
  o += nameLen
  if (architecture !== model.architecture) {
    throw new LlmfragError('ARCH_MISMATCH', `Architecture mismatch during deserialization. Expected ${model.architecture}, got ${architecture}`, {
      hints: ['this frame was saved by another model; load it with the model that made it'],
      details: {expected: model.architecture, actual: architecture, tensor: name},
    })
  }
  const fingerprint = new Uint8Array(buf.subarray(12, 12 + FINGERPRINT_BYTES))
  if (!Buffer.from(fingerprint).equals(Buffer.from(model.fingerprint))) {
    throw new LlmfragError('ARCH_MISMATCH', `Model mismatch during deserialization: the frame was made for model ${fingerprintHex(fingerprint).slice(0, 16)}…, this model is ${fingerprintHex(model.fingerprint).slice(0, 16)}… (same architecture ${architecture}, another tensor table)`, {
      hints: ['the frame comes from another file of this architecture (other quantization or layer count); load it with the model that made it'],
      details: {expected: fingerprintHex(model.fingerprint), actual: fingerprintHex(fingerprint), tensor: name},
    })
  }
  const dtype = buf.readUInt8(6) as GGMLType
  const codecId = buf.readUInt8(7)
  const codec = (Object.keys(CODEC_IDS) as Codec[]).find((c) => CODEC_IDS[c] === codecId)
  if (!codec) throw bad(`unknown codec ${codecId} at offset 7 (0 raw, 1 zstd)`)
  const rawBytes = u64(buf, 44, 'raw bytes', Number.MAX_SAFE_INTEGER)
  const expected = ggmlTypeInfo(dtype) ? tensorBytes(dtype, dims) : `unknown dtype ${dtype}`
  if (expected !== rawBytes) {
    throw bad(`${ggmlTypeName(dtype)} [${dims.join(', ')}] is ${typeof expected === 'number' ? `${expected} bytes` : expected}, the header says ${rawBytes}`)
  }
  const payload = buf.subarray(headerBytes, headerBytes + payloadBytes)
  let data: Uint8Array
  if (codec === 'raw') {
    if (payloadBytes !== rawBytes) throw bad(`raw payload is ${payloadBytes} bytes, the tensor is ${rawBytes}`)
    data = new Uint8Array(payload)
  } else {
    try {
      // One-shot without an output buffer: fzstd is much slower when given one (PLATFORM.md).
      data = decompress(payload)
    } catch (err) {
      throw bad(`zstd payload does not decode: ${String(err)}`, {cause: err})
    }
    if (data.byteLength !== rawBytes) throw bad(`zstd payload decodes to ${data.byteLength} bytes, the tensor is ${rawBytes}`)
  }
  return {architecture, fingerprint, name, dtype, dims, codec, data, frameBytes: total}
}

/** Decodes a buffer holding one or more frames back to back (a saved session, a prompt cache). */
export function decodeFrames(input: Uint8Array, model: FrameModel): DecodedFrame[] {
  const out: DecodedFrame[] = []
  let o = 0
  while (o < input.byteLength) {
    const f = decodeFrame(input.subarray(o), model)
    out.push(f)
    o += f.frameBytes
  }
  return out
}

/**
 * A model's fingerprint: sha256 of its tensor table, one line per tensor in table order,
 * `name \t type \t dims joined by 'x' \n` (ggml dims order, dims[0] contiguous). Offsets are left
 * out on purpose, so a .gguf file and its fragment set (same tensors, other offsets) share one
 * fingerprint. Two models with identical tables (a fine-tune of the same shapes) share it too:
 * together with the architecture name it says "the tensors fit", not "the weights are equal".
 */
import {createHash} from 'node:crypto'

import {ggmlTypeName, type GGMLType} from '../gguf/ggml-types.js'

export interface TableEntry {
  readonly name: string
  readonly type: GGMLType
  readonly dims: readonly number[]
}

export const FINGERPRINT_BYTES = 32

/** 32 bytes of sha256 over the canonical tensor table. */
export function modelFingerprint(tensors: readonly TableEntry[]): Uint8Array {
  const h = createHash('sha256')
  for (const t of tensors) h.update(`${t.name}\t${ggmlTypeName(t.type)}\t${t.dims.join('x')}\n`, 'utf8')
  return new Uint8Array(h.digest())
}

export function fingerprintHex(fp: Uint8Array): string {
  return Buffer.from(fp.buffer, fp.byteOffset, fp.byteLength).toString('hex')
}

/**
 * Relaxed SIMD on this runtime. The relaxed-SIMD kernels (assembly/relaxed.ts, built into
 * dist/wasm/kernels-relaxed.wasm) use i16x8.relaxed_dot_i8x16_i7x16_s, which V8 compiles to one
 * pmaddubsw on x64: a byte dot product that the base SIMD set lacks. Node 20's V8 (11.3) validates
 * relaxed instructions only under --experimental-wasm-relaxed-simd; later versions (Node 22's
 * V8 12.4) ship them. By default (`auto`) the engine uses them where the runtime validates them
 * without any flag; on Node 20 only when asked (--relaxed-simd), the flag being experimental there.
 */
import v8 from 'node:v8'

import {LlmfragError} from '../../errors.js'

/** The V8 flag that enables relaxed SIMD on Node 20 (a no-op where relaxed SIMD ships). */
export const RELAXED_SIMD_FLAG = '--experimental-wasm-relaxed-simd'

/**
 * A module of one function, (v128, v128) -> v128, returning i16x8.relaxed_dot_i8x16_i7x16_s of its
 * arguments: it validates only where the runtime accepts relaxed SIMD.
 */
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7b, 0x7b, 0x01, 0x7b, // type section: (v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0x92, 0x02, 0x0b, // code: local.get 0, 1; relaxed dot; end
])

interface WasmValidate { validate(bytes: Uint8Array): boolean }
const validate = (bytes: Uint8Array): boolean => (globalThis as unknown as {WebAssembly: WasmValidate}).WebAssembly.validate(bytes)

/** Whether this runtime validates relaxed SIMD now (without touching any flag). */
export function relaxedSimdValidates(): boolean {
  return validate(PROBE)
}

/** Relaxed SIMD on or off, or `auto`: on where the runtime ships it (validates it with no flag set). */
export type RelaxedSimdChoice = boolean | 'auto'

/** Whether the relaxed-SIMD kernels run for this choice (`auto` never sets a flag). */
export function resolveRelaxedSimd(choice: RelaxedSimdChoice = 'auto', validates: () => boolean = relaxedSimdValidates): boolean {
  return choice === 'auto' ? validates() : choice
}

/**
 * Makes relaxed SIMD available to WebAssembly compiled from here on, in every thread of the
 * process (V8 flags are process-wide): turns on RELAXED_SIMD_FLAG where the runtime does not
 * validate it yet. Throws UNSUPPORTED when the runtime still rejects it.
 */
export function enableRelaxedSimd(): void {
  if (relaxedSimdValidates()) return
  v8.setFlagsFromString(RELAXED_SIMD_FLAG)
  if (relaxedSimdValidates()) return
  throw new LlmfragError('UNSUPPORTED', `this runtime (Node ${process.versions.node}, V8 ${process.versions.v8}) does not accept WebAssembly relaxed SIMD, even with ${RELAXED_SIMD_FLAG}`, {
    hints: ['run without --relaxed-simd: the base SIMD kernels give the same results'],
  })
}

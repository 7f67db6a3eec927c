/** The kernel flag shared by run, chat and bench, and how it combines with --safe-mode. */
import {Flags} from '@oclif/core'

import {LlmfragError} from '../errors.js'
import type {RelaxedSimdChoice} from '../kernels/wasm/relaxed.js'

export const kernelFlags = {
  'relaxed-simd': Flags.boolean({
    description: 'run the Q4_K and Q6_K products on WebAssembly relaxed SIMD (a byte dot product; the same results, faster). '
      + 'Default: on where the runtime ships relaxed SIMD (Node 22), off on Node 20, where --relaxed-simd turns on V8\'s '
      + 'experimental relaxed SIMD for the process; --no-relaxed-simd: the base SIMD kernels',
    allowNo: true,
  }),
}

/** The flags kernelChoice reads (--safe-mode is not on every command). */
export interface KernelFlagValues {
  readonly 'relaxed-simd'?: boolean
  readonly 'safe-mode'?: boolean
}

/** The kernels a command's flags ask for: the reference kernels (--safe-mode), or the fast ones with or without relaxed SIMD. */
export function kernelChoice(f: KernelFlagValues): {kernels: 'fast' | 'reference'; relaxedSimd: RelaxedSimdChoice} {
  if (f['safe-mode'] && f['relaxed-simd'] === true) {
    throw new LlmfragError('BAD_INPUT', '--relaxed-simd and --safe-mode exclude each other: --safe-mode runs the scalar reference kernels', {
      hints: ['drop one of the two flags'],
    })
  }
  return f['safe-mode'] ? {kernels: 'reference', relaxedSimd: false} : {kernels: 'fast', relaxedSimd: f['relaxed-simd'] ?? 'auto'}
}

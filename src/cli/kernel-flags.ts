/** The kernel flag shared by run, chat and bench. */
import {Flags} from '@oclif/core'

export const kernelFlags = {
  'relaxed-simd': Flags.boolean({
    description: 'run the Q4_K and Q6_K products on WebAssembly relaxed SIMD (a byte dot product; the same results, faster). '
      + 'On Node 20 this turns on V8\'s experimental relaxed SIMD for the process',
    exclusive: ['safe-mode'],
  }),
}

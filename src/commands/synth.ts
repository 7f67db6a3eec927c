import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {PROFILE_NAMES} from '../profiles/profiles.js'
import {synthesize, type SynthResult} from '../synth/index.js'

const GB = 1e9

export default class Synth extends BaseCommand {
  static override summary = 'Write a random-weight GGUF with a profile\'s real shapes and Q4_K_M type layout.'
  static override description = 'For benchmarks and tests: the metadata, tokenizer layout and tensor types of the real ' +
    'model with random but valid quantized weights (about N(0, 0.02)). The same seed and options give the same bytes. ' +
    'Shape flags (--dim, --heads, ...) make a smaller `llama-family (custom)` model.'

  static override examples = [
    '<%= config.bin %> synth --architecture mistral_7b -o mistral-synth.gguf',
    '<%= config.bin %> synth --architecture magistral --layers 2 --seed 7 -o magistral-2l.gguf',
    '<%= config.bin %> synth --architecture magistral --header-only -o magistral-header.gguf',
    '<%= config.bin %> synth --architecture mistral_7b --layers 2 --dim 256 --ffn-hidden 768 --heads 4 --kv-heads 2 --vocab 2048 -o tiny.gguf',
  ]

  static override enableJsonFlag = true

  static override flags = {
    architecture: Flags.string({char: 'a', summary: 'Architecture profile.', options: [...PROFILE_NAMES], required: true}),
    output: Flags.string({char: 'o', summary: 'The .gguf file to write.', required: true}),
    layers: Flags.integer({summary: 'Number of transformer blocks (default: the profile\'s).', min: 1}),
    seed: Flags.integer({summary: 'PRNG seed, 0 to 4294967295.', default: 0, min: 0, max: 0xffffffff}),
    'header-only': Flags.boolean({summary: 'Write the header; leave the data section sparse and zero-filled.'}),
    force: Flags.boolean({char: 'f', summary: 'Replace the output file if it exists.'}),
    name: Flags.string({summary: 'general.name (default synth-<architecture>).'}),
    dim: Flags.integer({summary: 'Embedding length (a multiple of 256).', helpGroup: 'SHAPE', min: 1}),
    'ffn-hidden': Flags.integer({summary: 'Feed-forward hidden size (a multiple of 256).', helpGroup: 'SHAPE', min: 1}),
    heads: Flags.integer({summary: 'Attention heads.', helpGroup: 'SHAPE', min: 1}),
    'kv-heads': Flags.integer({summary: 'Key/value heads (divides heads).', helpGroup: 'SHAPE', min: 1}),
    'head-dim': Flags.integer({summary: 'Head dimension (default dim / heads when dim or heads is given).', helpGroup: 'SHAPE', min: 1}),
    vocab: Flags.integer({summary: 'Vocabulary size.', helpGroup: 'SHAPE', min: 1}),
    context: Flags.integer({summary: 'Context length written to the metadata.', helpGroup: 'SHAPE', min: 1}),
  }

  async run(): Promise<SynthResult> {
    const {flags} = await this.parse(Synth)
    const result = await this.interruptible('synth', (signal, onProgress) =>
      synthesize({
        architecture: flags.architecture,
        output: flags.output,
        layers: flags.layers,
        seed: flags.seed,
        headerOnly: flags['header-only'],
        force: flags.force,
        name: flags.name,
        dim: flags.dim,
        ffnHidden: flags['ffn-hidden'],
        heads: flags.heads,
        kvHeads: flags['kv-heads'],
        headDim: flags['head-dim'],
        vocab: flags.vocab,
        context: flags.context,
        signal,
      }, onProgress))
    if (!this.jsonEnabled()) this.print(result)
    return result
  }

  private print(r: SynthResult): void {
    const what = r.headerOnly ? 'header-only (sparse data section)' : `${(r.bytes / r.seconds / GB).toFixed(2)} GB/s`
    const shape = r.architecture === r.profile ? r.profile : `${r.architecture} from ${r.profile}`
    this.log(`wrote ${r.file}: ${shape}, ${r.layers} layers, ${r.tensors} tensors, ` +
      `${(r.params / 1e9).toFixed(2)} B params, ${(r.bytes / GB).toFixed(2)} GB in ${r.seconds.toFixed(1)} s (${what})`)
  }
}

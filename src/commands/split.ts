import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {splitModel, type SplitResult} from '../fragments/split.js'

const GB = 1e9

export default class Split extends BaseCommand {
  static override summary = 'Split a .gguf model into a fragment set: metadata + embedding, one fragment per block, the head.'
  static override description = `Writes DIR/manifest.json and <stem>-0000i-of-0000N.gguf fragments (DESIGN section 4). Uncompressed
fragments are llama.cpp split shards (llama.cpp loads the set from its first file). With --compress each
fragment is one zstd frame with the content checksum on. Files are written as DIR/.partial-* and renamed
when complete; the manifest comes last. Exit 0 on success, 2 for bad input (unreadable model, non-empty
DIR without --force, a file that could not be rebuilt byte for byte).`

  static override examples = [
    '<%= config.bin %> split Mistral-7B-Instruct-v0.3-Q4_K_M.gguf -o ./mistral-fragments',
    '<%= config.bin %> split model.gguf -o ./fragments --compress --force --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    model: Args.string({description: 'the .gguf model to split', required: true}),
  }

  static override flags = {
    output: Flags.string({char: 'o', summary: 'Directory for the fragment set (created if missing).', required: true}),
    compress: Flags.boolean({summary: 'Store each fragment as one zstd frame (.gguf.zst).'}),
    level: Flags.integer({summary: 'zstd level with --compress.', default: 3, min: 1, max: 19}),
    force: Flags.boolean({char: 'f', summary: 'Write into a non-empty directory, replacing the set there.'}),
  }

  async run(): Promise<SplitResult> {
    const {args, flags} = await this.parse(Split)
    const result = await this.interruptible('split', (signal, onProgress) =>
      splitModel(args.model, flags.output, {
        compress: flags.compress, level: flags.level, force: flags.force, onProgress, signal,
      }))
    if (!this.jsonEnabled()) this.print(result)
    return result
  }

  private print(r: SplitResult): void {
    const stored = r.compression === 'zstd' ? `, ${(r.storedBytes / GB).toFixed(2)} GB stored (zstd, ${(100 * r.storedBytes / r.source.size).toFixed(1)}%)` : ''
    this.log(`split ${r.source.file} into ${r.fragments} fragments in ${r.dir}: ${r.tensors} tensors, ${r.architecture}, ` +
      `${(r.source.size / GB).toFixed(2)} GB in ${r.seconds.toFixed(1)} s (${r.gbPerSecond.toFixed(2)} GB/s)${stored}`)
  }
}

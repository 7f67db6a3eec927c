import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {joinFragments, type JoinResult} from '../fragments/join.js'

const GB = 1e9

export default class Join extends BaseCommand {
  static override summary = 'Rebuild the original .gguf from a fragment set, byte for byte.'
  static override description = `Checks every fragment's sha256 as it streams and the rebuilt file's sha256 against the
manifest's source.sha256; the output is written as .partial-<name> and renamed only when it matches.
Exit 0 on success, 1 when a fragment or the result does not match, 2 for bad input (no manifest,
missing fragment, existing output without --force).`

  static override examples = [
    '<%= config.bin %> join ./mistral-fragments -o Mistral-7B-Instruct-v0.3-Q4_K_M.gguf',
    '<%= config.bin %> join ./fragments -o model.gguf --force --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    dir: Args.string({description: 'the fragment set directory (with manifest.json)', required: true}),
  }

  static override flags = {
    output: Flags.string({char: 'o', summary: 'The .gguf file to write.', required: true}),
    force: Flags.boolean({char: 'f', summary: 'Replace the output file if it exists.'}),
  }

  async run(): Promise<JoinResult> {
    const {args, flags} = await this.parse(Join)
    const result = await this.interruptible('join', (signal, onProgress) =>
      joinFragments(args.dir, flags.output, {force: flags.force, onProgress, signal}))
    if (!this.jsonEnabled()) this.print(result)
    return result
  }

  private print(r: JoinResult): void {
    this.log(`joined ${r.fragments} fragments into ${r.output}: ${(r.bytes / GB).toFixed(2)} GB in ${r.seconds.toFixed(1)} s ` +
      `(${r.gbPerSecond.toFixed(2)} GB/s), sha256 ${r.sha256} matches the manifest`)
  }
}

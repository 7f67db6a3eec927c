import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {renderInspect} from '../cli/render-inspect.js'
import {inspect, type InspectResult} from '../inspect/inspect.js'

export default class Inspect extends BaseCommand {
  static override summary = 'Show what a GGUF file or a fragment set holds.'
  static override description = `Reads headers only: GGUF version, metadata (long arrays cut to their first items and the
total count), architecture profile, type histogram, parameter count and the memory needed for a
context (weights + f16 KV cache); --tensors adds the tensor table.`

  static override examples = [
    '<%= config.bin %> inspect Magistral-Small-2509-Q4_K_M.gguf',
    '<%= config.bin %> inspect ./magistral-fragments --tensors',
    '<%= config.bin %> inspect model.gguf --ctx 32768 --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    path: Args.string({description: 'a .gguf file or a fragment set directory', required: true}),
  }

  static override flags = {
    tensors: Flags.boolean({description: 'list every tensor (name, type, shape, bytes, fragment)'}),
    ctx: Flags.integer({description: 'context length for the memory estimate (default: the model\'s, at most 4096)', min: 1}),
  }

  async run(): Promise<InspectResult> {
    const {args, flags} = await this.parse(Inspect)
    const result = inspect(args.path, {tensors: flags.tensors, ctx: flags.ctx})
    if (!this.jsonEnabled()) for (const line of renderInspect(result)) this.log(line)
    return result
  }
}

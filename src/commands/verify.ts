import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {progressBar} from '../cli/progress.js'
import {renderVerify} from '../cli/render-verify.js'
import {LlmfragError} from '../errors.js'
import {verify, type VerifyResult} from '../fragments/verify.js'
import {CUSTOM_PROFILE} from '../profiles/detect.js'
import {PROFILE_NAMES} from '../profiles/profiles.js'

export default class Verify extends BaseCommand {
  static override summary = 'Check that a fragment set (or a .gguf file) is intact and is the model it claims to be.'
  static override description = `Runs the checks of DESIGN section 5 in order: fragment count, readability, architecture,
tensor dimensions and sha256 checksums (hashed on all cores). A plain .gguf file gets every check but
the manifest's. Exit 0 when all pass, 1 when a check fails, 2 for bad usage or unreadable input.`

  static override examples = [
    '<%= config.bin %> verify ./magistral-fragments',
    '<%= config.bin %> verify --fragments-dir ./magistral-fragments --expected-architecture magistral',
    '<%= config.bin %> verify model.gguf --quick --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    dir: Args.string({description: 'fragment set directory (with manifest.json), or a .gguf file'}),
  }

  static override flags = {
    'fragments-dir': Flags.string({description: 'fragment set directory (same as the DIR argument)'}),
    'expected-architecture': Flags.string({
      description: 'fail unless the model is detected as this profile',
      options: [...PROFILE_NAMES, CUSTOM_PROFILE],
    }),
    quick: Flags.boolean({description: 'skip the data checksums (headers, architecture and shapes only)'}),
    threads: Flags.integer({description: 'hash threads (default: one per core)', min: 1}),
  }

  async run(): Promise<VerifyResult> {
    const {args, flags} = await this.parse(Verify)
    const path = args.dir ?? flags['fragments-dir']
    if (path === undefined) {
      throw new LlmfragError('BAD_INPUT', 'no fragment set given', {hints: ['llmfrag verify DIR (or --fragments-dir DIR, or a .gguf file)']})
    }
    if (args.dir !== undefined && flags['fragments-dir'] !== undefined && args.dir !== flags['fragments-dir']) {
      throw new LlmfragError('BAD_INPUT', `two different sets given: ${args.dir} and --fragments-dir ${flags['fragments-dir']}`, {hints: ['give one of them']})
    }
    const bar = progressBar('verify')
    let result: VerifyResult
    try {
      result = await verify(path, {
        expectedArchitecture: flags['expected-architecture'],
        quick: flags.quick,
        threads: flags.threads,
        onProgress: bar.update,
      })
    } finally {
      bar.stop()
    }
    if (!this.jsonEnabled()) for (const line of renderVerify(result)) this.log(line)
    if (!result.ok) process.exitCode = 1
    return result
  }
}

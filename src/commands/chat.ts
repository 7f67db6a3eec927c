import {Flags} from '@oclif/core'
import chalk, {chalkStderr} from 'chalk'

import {ChatSession} from '../chat/session.js'
import {BaseCommand} from '../cli/base-command.js'
import {runChatTerminal} from '../cli/chat-terminal.js'
import {kernelChoice, kernelFlags} from '../cli/kernel-flags.js'
import {chooseModel} from '../cli/model-picker.js'
import {progressBar} from '../cli/progress.js'
import {samplingFlags, samplingFromFlags} from '../cli/sampling-flags.js'
import {Engine} from '../engine/index.js'
import {modelFingerprint} from '../frames/fingerprint.js'
import {KERNEL_LABELS} from '../model/matmul.js'
import {resolveSampling} from '../sampling/index.js'

export default class Chat extends BaseCommand {
  static override summary = 'Chat with a .gguf model or a fragment set.'
  static override description = `Loads the model (with a progress bar) and answers messages in its chat format (mistral-v3 or mistral-v7-tekken, from the vocab), streaming each reply; a reasoning model's [THINK] section is shown dimmed. Commands: /help /reset /system /save /load /stats /exit. End a line with \\ to continue it, or put several lines between """ lines. Ctrl-C stops a reply; twice at an empty prompt it leaves. With piped input every line is a message (or a command) and the chat ends with the input. Without --model or --fragments-dir the model comes from --config (a menu when it names several and the chat runs on a terminal). Sampling flags and defaults are run's (llama.cpp's).`

  static override examples = [
    '<%= config.bin %> chat --model tiny.gguf',
    '<%= config.bin %> chat --fragments-dir ./magistral-fragments -s "Answer briefly." --temp 0.7',
    'printf "Hello\\n/stats\\n" | <%= config.bin %> chat --model tiny.gguf -n 32 --seed 1',
    '<%= config.bin %> chat --config config/production.json',
  ]

  static override flags = {
    model: Flags.string({char: 'm', description: 'a .gguf model file', exclusive: ['fragments-dir']}),
    'fragments-dir': Flags.string({description: 'a fragment set directory (from llmfrag split)', exclusive: ['model']}),
    config: Flags.string({description: 'config/production.json naming the models (a menu when there are several)'}),
    'env-file': Flags.string({description: 'a .env file of overrides for the config (the process environment wins)'}),
    system: Flags.string({char: 's', description: 'system prompt'}),
    'n-predict': Flags.integer({char: 'n', description: 'tokens per reply; -1 = until the model ends it', default: -1, min: -1}),
    'ctx-size': Flags.integer({char: 'c', description: 'context size in tokens [default: min(4096, the model\'s)]', min: 1}),
    'batch-size': Flags.integer({char: 'b', description: 'prompt positions per forward pass [default: 512]', min: 1}),
    threads: Flags.integer({char: 't', description: 'compute threads, this one included [default: the cores available]', min: 1, max: 64}),
    ...samplingFlags,
    ...kernelFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Chat)
    const sampling = resolveSampling(samplingFromFlags(flags)) // bad values fail before the model loads
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true
    const choice = await chooseModel(flags, interactive)
    if (choice === undefined) {
      process.exitCode = 130
      return
    }
    const bar = progressBar('loading')
    let engine: Engine
    try {
      engine = await Engine.load(choice.path, {ctx: flags['ctx-size'], maxBatch: flags['batch-size'], threads: flags.threads, ...kernelChoice(flags), onProgress: bar.update})
    } finally {
      bar.stop()
    }
    const session = new ChatSession({
      engine, sampling, maxTokens: flags['n-predict'], system: flags.system,
      frameModel: {architecture: engine.config.profile, fingerprint: modelFingerprint(engine.source.tensors)},
    })
    this.note(chalkStderr.dim(`${choice.name ?? choice.path}: ${engine.config.profile}, ${session.format} chat format, context ${engine.ctx} tokens, loaded in ${(engine.loadMs / 1000).toFixed(2)} s; ${engine.model.matmul.threads} thread${engine.model.matmul.threads > 1 ? 's' : ''}, ${KERNEL_LABELS[engine.model.matmul.kernels]}`))
    if (interactive) this.note(chalkStderr.dim('/help for commands, Ctrl-C stops a reply, /exit or Ctrl-D leaves'))
    try {
      await runChatTerminal(session, {
        input: process.stdin, output: process.stdout, errors: process.stderr, interactive,
        style: {tty: process.stdout.isTTY === true, dim: chalk.dim},
        verbose: this.verbose,
      })
    } finally {
      await engine.close()
    }
  }
}

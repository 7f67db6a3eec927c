import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {ioError} from '../errors.js'
import {loadTokenizer, tokenizeWithPieces, type TokenizeResult} from '../tokenizer/load.js'

export default class Tokenize extends BaseCommand {
  static override summary = 'Show the token ids and pieces of a text, as llama.cpp\'s llama-tokenize does.'
  static override description = `Reads only the model's header (a .gguf file or a fragment set). Control-token text such as
[INST] or <s> becomes its control token (llama.cpp's parse_special), and BOS is added when the
model asks for it unless --no-bos. Each line shows an id and its piece ('%6d -> '%s'', as
llama-tokenize); --json prints {"ids": [...], "pieces": [...]}.`

  static override examples = [
    '<%= config.bin %> tokenize --model Mistral-7B-Instruct-v0.3-Q4_K_M.gguf --text "[INST] Hello[/INST]"',
    '<%= config.bin %> tokenize --model ./magistral-fragments --text "Hello world" --no-bos --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    model: Flags.string({char: 'm', description: 'a .gguf file or a fragment set directory', required: true}),
    text: Flags.string({char: 't', description: 'the text to tokenize', exactlyOne: ['text', 'file']}),
    file: Flags.string({char: 'f', description: 'read the text from this file (UTF-8)', exactlyOne: ['text', 'file']}),
    bos: Flags.boolean({description: 'add BOS (and EOS) as the model asks; --no-bos adds none', allowNo: true, default: true}),
    'parse-special': Flags.boolean({description: 'turn control-token text ([INST], <s>) into control tokens; --no-parse-special keeps it text', allowNo: true, default: true}),
    ids: Flags.boolean({description: 'print only the ids, as a list ([1, 2, 3])'}),
  }

  async run(): Promise<TokenizeResult> {
    const {flags} = await this.parse(Tokenize)
    const text = flags.file === undefined ? flags.text ?? '' : readText(flags.file)
    const tokenizer = loadTokenizer(flags.model)
    const result = tokenizeWithPieces(tokenizer, text, {addSpecial: flags.bos, parseSpecial: flags['parse-special']})
    if (!this.jsonEnabled()) {
      if (flags.ids) this.log(`[${result.ids.join(', ')}]`)
      else result.ids.forEach((id, i) => this.log(`${String(id).padStart(6)} -> '${result.pieces[i]}'`))
    }
    return result
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw ioError(err, file, 'read')
  }
}

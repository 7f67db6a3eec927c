#!/usr/bin/env node
// `npm start`: the main job on a bundled default. Synthesizes a small Mistral-layout model, splits it
// into a fragment set, verifies and inspects the set, then generates text from it -- each step the
// real CLI, so this is also what a user types. Scratch files go to .llmfrag-demo/ (git-ignored).
import {spawnSync} from 'node:child_process'
import {mkdirSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const demo = join(root, '.llmfrag-demo')
const model = join(demo, 'demo-mistral.gguf')
const fragments = join(demo, 'demo-mistral-fragments')

rmSync(demo, {recursive: true, force: true})
mkdirSync(demo, {recursive: true})

const steps = [
  ['synth', '--architecture', 'mistral_7b', '--layers', '4', '--dim', '512', '--ffn-hidden', '1536', '--heads', '8', '--kv-heads', '2', '--seed', '7', '-o', model],
  ['split', model, '-o', fragments],
  ['verify', fragments],
  ['inspect', fragments],
  ['run', '--fragments-dir', fragments, '-p', 'The fragments are', '-n', '24', '--seed', '42'],
]

for (const args of steps) {
  process.stdout.write(`\n$ llmfrag ${args.map((a) => a.replace(root + '/', '')).join(' ')}\n`)
  const r = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...args], {stdio: 'inherit'})
  if (r.status !== 0) {
    process.stderr.write(`llmfrag ${args[0]} failed with exit code ${r.status}\n`)
    process.exit(r.status ?? 1)
  }
}
process.stdout.write(`\nDone. Files are in ${demo.replace(root + '/', '')}/; see \`llmfrag --help\` for more.\n`)

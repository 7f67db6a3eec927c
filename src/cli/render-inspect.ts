/**
 * The human report of `llmfrag inspect`: a summary block (file, architecture, parameters, types,
 * memory), the metadata (arrays already cut by the core: first items, then the total count), and
 * with --tensors the tensor table.
 */
import chalk from 'chalk'

import type {InspectKV, InspectResult, InspectValue} from '../inspect/inspect.js'

const MiB = 1024 ** 2
const GiB = 1024 ** 3
/** Architecture problems listed before "and N more" (--json has them all). */
const PROBLEMS_SHOWN = 8

export function formatBytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / MiB).toFixed(2)} MiB`
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`
  return String(n)
}

function valueText(v: InspectValue): string {
  if (Array.isArray(v)) return `[${v.map(valueText).join(', ')}]`
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

function kvLine(e: InspectKV, width: number): string {
  const type = e.itemType === undefined ? e.type : `${e.itemType}[]`
  let text = valueText(e.value)
  if (e.count !== undefined && Array.isArray(e.value) && e.count > e.value.length) {
    text = `${text.slice(0, -1)}, …] (${e.count} items)`
  } else if (e.count !== undefined) {
    text = `${text} (${e.count} items)`
  }
  if (text.length > 200) text = `${text.slice(0, 199)}…`
  return `  ${e.key.padEnd(width)} ${chalk.dim(type.padEnd(10))} ${text}`
}

export function renderInspect(r: InspectResult): string[] {
  const a = r.architecture
  const label = (s: string): string => chalk.bold(s.padEnd(13))
  const lines: string[] = []
  const where = r.kind === 'fragments' ? `fragment set, ${r.fragments} fragments${r.compression === 'zstd' ? ', zstd' : ''}` : 'file'
  lines.push(`${label('Model')}${r.path} (GGUF v${r.version} ${where}, ${formatBytes(r.fileBytes)})`)
  lines.push(`${label('Architecture')}${a.profile ?? 'not a llama-family model'}${a.general === undefined ? '' : chalk.dim(` (general.architecture ${a.general})`)}`)
  if (a.dims) {
    const d = a.dims
    lines.push(`${label('')}dim ${d.dim}, hidden ${d.ffnHidden}, ${d.layers} layers, ${d.heads} heads, ${d.kvHeads} kv heads, head dim ${d.headDim}, ` +
      `vocab ${d.vocab}, context ${d.contextLength}, rope base ${d.ropeBase}${a.tiedOutput ? ', tied output' : ''}`)
  }
  if (a.nearest) lines.push(`${label('')}${chalk.dim(`nearest profile ${a.nearest.profile}: ${a.nearest.differences.join(', ')}`)}`)
  for (const p of a.problems.slice(0, PROBLEMS_SHOWN)) lines.push(`${label('')}${chalk.yellow('!')} ${p.message}`)
  if (a.problems.length > PROBLEMS_SHOWN) lines.push(`${label('')}${chalk.yellow('!')} and ${a.problems.length - PROBLEMS_SHOWN} more (see --json)`)
  lines.push(`${label('Parameters')}${formatCount(r.parameters)} (${r.parameters})`)
  lines.push(`${label('Tensors')}${r.tensorCount}${r.types.map((t, i) => `${i === 0 ? ': ' : ', '}${t.type} ${t.tensors} (${formatBytes(t.bytes)})`).join('')}`)
  if (r.memory) {
    const m = r.memory
    lines.push(`${label('Memory')}ctx ${m.ctx}: weights ${formatBytes(m.weightsBytes)} + KV cache f16 ${formatBytes(m.kvCacheBytes)} = ${formatBytes(m.totalBytes)}`)
  }
  lines.push('', chalk.bold(`Metadata (${r.metadata.length} keys)`))
  const width = Math.max(...r.metadata.map((e) => e.key.length), 10)
  for (const e of r.metadata) lines.push(kvLine(e, width))
  if (r.tensors) {
    lines.push('', chalk.bold(`Tensors (${r.tensors.length})`))
    const nameWidth = Math.max(...r.tensors.map((t) => t.name.length), 4)
    const shapeWidth = Math.max(...r.tensors.map((t) => t.shape.join(' x ').length), 5)
    const frag = r.kind === 'fragments'
    lines.push(chalk.dim(`  ${'name'.padEnd(nameWidth)}  ${'type'.padEnd(6)} ${'shape'.padEnd(shapeWidth)} ${'bytes'.padStart(12)}${frag ? '  fragment' : ''}`))
    for (const t of r.tensors) {
      lines.push(`  ${t.name.padEnd(nameWidth)}  ${t.type.padEnd(6)} ${t.shape.join(' x ').padEnd(shapeWidth)} ${String(t.bytes).padStart(12)}${t.fragment ? `  ${t.fragment}` : ''}`)
    }
  }
  return lines
}

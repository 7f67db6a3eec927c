/**
 * Starting a worker from a module beside the caller: `<name>.js` when built; `<name>.ts` under tsx
 * (tests, development), through the shared bootstrap that registers tsx's hooks in the worker first
 * (Node 20 workers do not inherit them).
 */
import {Worker} from 'node:worker_threads'

/** `callerUrl`: the caller's import.meta.url; `name`: the worker module's file name without extension. */
export function spawnWorker(callerUrl: string, name: string, workerData: object): Worker {
  if (callerUrl.endsWith('.ts')) {
    const tsxEntry = new URL(`./${name}.ts`, callerUrl).href
    return new Worker(new URL('../fragments/tsx-worker-bootstrap.mjs', import.meta.url), {workerData: {...workerData, tsxEntry}})
  }
  return new Worker(new URL(`./${name}.js`, callerUrl), {workerData})
}

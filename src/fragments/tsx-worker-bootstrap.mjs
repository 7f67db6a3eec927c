// Development and tests only (sources run under tsx): Node 20 workers do not inherit tsx's module
// hooks, so a worker started from a .ts module registers them here, then imports the .ts entry
// named in workerData.tsxEntry. Built code (dist/*.js) starts its workers directly and never loads this.
import {workerData} from 'node:worker_threads'

import {register} from 'tsx/esm/api'

register()
await import(workerData.tsxEntry)

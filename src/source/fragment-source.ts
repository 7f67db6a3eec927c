/**
 * A fragment set (DESIGN section 4) as a ModelSource. Placeholder until the streaming reader lands:
 * opening a set is refused with a clear error.
 */
import {LlmfragError} from '../errors.js'
import type {GGUFKV} from '../gguf/types.js'
import type {LoadReport, ModelSource, SourceTensor} from './model-source.js'

export class FragmentSetSource implements ModelSource {
  readonly kind = 'fragments'
  readonly version = 3
  readonly kv: readonly GGUFKV[] = []
  readonly tensors: readonly SourceTensor[] = []
  readonly totalBytes = 0

  constructor(readonly path: string) {
    throw new LlmfragError('UNSUPPORTED', `${path}: reading fragment sets is not implemented yet`)
  }

  load(): Promise<LoadReport> {
    return Promise.reject(new LlmfragError('UNSUPPORTED', 'not implemented'))
  }
}

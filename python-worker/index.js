// Where the worker's Python sources live, so a host can put them on the interpreter's sys.path.
import { fileURLToPath } from 'node:url'

export const workerRoot = fileURLToPath(new URL('.', import.meta.url))
export const workerEntryModule = 'capsule_worker'

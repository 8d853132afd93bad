// Test-only view of the package's internals: what unit tests read or build beyond the public API.
// Not exported from index.ts and not in the package's exports map; tests import it by path
// (../src/internal.ts), so no test casts into the engine's fields.
export { engineOf, type SequenceBase } from './SequenceBase.js'
export type { SeqEngine } from './SeqEngine.js'
export { SourceLog, appendDelRange, pushRange, type InsRun, type Run } from './SourceLog.js'
export type { Block, Leaf } from './BlockTree.js'
export { INSERT, DELETE, MOVE, opDeps } from './ops.js'

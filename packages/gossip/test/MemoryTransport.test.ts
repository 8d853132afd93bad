import { MemoryNetwork, MemoryTransport, type MemoryConnection } from '@hearsay/core'
import { transportSuite } from '@hearsay/core/testing'

// MemoryTransport lives in core; its conformance run lives here with the node that uses it.
let n = 0
transportSuite('MemoryTransport', (limits) => ({
  transport: new MemoryTransport({ ...limits, network: new MemoryNetwork() }),
  address: () => `mem://suite-${++n}`,
  stopReading: (c) => (c as MemoryConnection).pause(),
  resumeReading: (c) => (c as MemoryConnection).resume(),
}))

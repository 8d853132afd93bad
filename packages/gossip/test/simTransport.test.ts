import { transportSuite } from '@hearsay/core/testing'
import { SimNetwork, Simulation, type SimConnection } from '@hearsay/gossip/sim'

// The simulator's links pass the same conformance suite as every other transport. The suite
// runs in real time, so the simulation is driven in the background (events run as they come).
let n = 0
transportSuite('SimTransport', (limits) => {
  const sim = new Simulation({ seed: 1 })
  const net = new SimNetwork(sim, { maxFrame: limits.maxFrame, maxBuffered: limits.maxSendBuffer, latency: 5, jitter: 3 })
  const stop = sim.drive()
  return {
    transport: net.transport('suite'),
    address: () => `sim://suite-${++n}`,
    stopReading: (c) => (c as SimConnection).pause(),
    resumeReading: (c) => (c as SimConnection).resume(),
    teardown: () => stop(),
  }
})

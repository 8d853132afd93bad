/**
 * @hearsay/gossip/sim: a deterministic network simulator for hearsay nodes and your own types.
 *
 * - {@link simulate}: runs N nodes on virtual time with random writes and injected faults
 *   (lossy, duplicating, reordering links; partitions; crash and restart from the store; clock
 *   skew), heals, and reports whether and how fast every node converged to byte-identical state.
 * - {@link SimCluster}: the same network driven step by step (start, write, crash, restart,
 *   partition, run, check convergence) for custom scenarios and measurements.
 * - {@link Simulation}: virtual time, an {@link EventQueue}, one seeded PRNG, virtual timers.
 * - {@link SimNetwork} and {@link SimTransport}: links with latency, jitter, loss, duplication,
 *   reordering and partitions, behind the core `Transport` interface (scheme `sim:`).
 * - {@link SimDisk}: a store that survives crashes while the crashed incarnation loses its memory.
 *
 * A seed replays a run exactly.
 *
 * @example
 * ```ts
 * import { simulate } from '@hearsay/gossip/sim'
 * import { LWWMap } from '@hearsay/model'
 * const report = await simulate({
 *   seed: 7, nodes: 50, ops: 300,
 *   objects: [{ id: 'm', type: LWWMap, write: (m, r) => m.set(r.word(1), r.int(0, 9)) }],
 *   faults: { link: { loss: 0.2, duplicate: 0.05, reorder: 0.1 }, partitions: [{ at: 3000 }], crashes: 2 },
 * })
 * if (!report.ok) throw new Error(`seed 7 failed: ${report.divergence ?? report.errors.join('; ')}`)
 * ```
 * @packageDocumentation
 */
export { EventQueue } from './EventQueue.js'
export type { QueuedEvent } from './EventQueue.js'
export { Simulation, TimerScope } from './Simulation.js'
export type { RunOptions, SimTimerHandle, SimTimers, SimulationOptions } from './Simulation.js'
export { SimConnection, SimNetwork, SimTransport, hostOf } from './SimNetwork.js'
export type { LinkOptions, SimNetworkOptions, TrafficStats } from './SimNetwork.js'
export { SimDisk } from './SimDisk.js'
export type { SimDiskOptions } from './SimDisk.js'
export { SimCluster, createSimNode } from './SimCluster.js'
export type { SimClusterObject, SimClusterOptions, SimHost, SimNodeEnv, SimRandom, SimulatedNode } from './SimCluster.js'
export { simulate } from './simulate.js'
export { shrinkSimulation } from './shrink.js'
export type { ShrinkOptions, ShrinkResult } from './shrink.js'
export type { SimCrash, SimFaults, SimNodeReport, SimObject, SimPartition, SimReport, SimRollback, SimTailLoss, SimulateOptions } from './simulate.js'

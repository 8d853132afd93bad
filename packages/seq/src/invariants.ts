// The engine's invariants, checked by tests after every random run (checkInvariants). Its own
// file, reached only through checkInvariants: an app that never calls it does not bundle it.
import type { Block } from './BlockTree.js'
import type { SeqEngine } from './SeqEngine.js'
import { engineOf, type SequenceBase } from './SequenceBase.js'
import type { InsRun } from './SourceLog.js'

/**
 * Checks the internal consistency of a {@link List} or {@link Text}: the tree sums, fragment
 * chains, fragment indexes and per-source logs agree. For property tests (point it at a
 * sequence after every random run, e.g. as `checkConvergence`'s `invariant`).
 * @throws Error naming the first inconsistency.
 */
export function checkInvariants(sequence: SequenceBase<any, unknown, any>): void {
  checkEngine(engineOf(sequence))
}

function checkEngine<C>(e: SeqEngine<C>): void {
  e.tree.check()
  for (const a of e.agents) {
    let prev = 0
    let dels = 0
    for (let i = 0; i < a.runs.length; i++) {
      const run = a.runs[i]!
      if (a.starts[i]! !== prev + 1) throw new Error(`log of ${a.name} has a gap before ${a.starts[i]}`)
      prev = a.starts[i]! + a.rlenAt(i) - 1
      if (typeof run === 'number') {
        if (run !== dels) throw new Error(`delete record of ${a.name}:${a.starts[i]} at ${run}, not ${dels}`)
        dels = run + 2 + a.dels[run + 1]!
        let k = 0
        const f = a.delRanges(run)
        for (let j = 0; j < f.length; j += 4) k += f[j + 2]!
        if (k !== a.rlenAt(i)) throw new Error(`delete run ${a.name}:${a.starts[i]} has ${k} ids for ${a.rlenAt(i)} seqs`)
      } else {
        if (run.seq !== a.starts[i]) throw new Error(`run ${a.name}:${run.seq} listed as starting at ${a.starts[i]}`)
        let s = run.seq
        for (let b: Block<C> | null = run as InsRun<C>; b !== null; b = b.next) {
          if (b.seq !== s || (b.run as unknown) !== run) throw new Error(`fragment chain of ${a.name}:${run.seq} broken at ${s}`)
          if (b.leaf.blocks.indexOf(b) < 0) throw new Error(`fragment ${a.name}:${b.seq} is not in its leaf`)
          s += b.len
        }
        if (s !== run.seq + run.rlen) throw new Error(`fragments of ${a.name}:${run.seq} cover ${s - run.seq} of ${run.rlen}`)
        const idx = e.frags.get(run as InsRun<C>)
        if (idx !== undefined) {
          let j = 0
          for (let b: Block<C> | null = run as InsRun<C>; b !== null; b = b.next) if (idx[j++] !== b) throw new Error(`fragment index of ${a.name}:${run.seq} is out of step at ${b.seq}`)
          if (j !== idx.length) throw new Error(`fragment index of ${a.name}:${run.seq} has ${idx.length} entries for ${j} fragments`)
        }
      }
    }
    if (dels !== a.dels.length) throw new Error(`delete records of ${a.name} end at ${dels} of ${a.dels.length}`)
  }
}

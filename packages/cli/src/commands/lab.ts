import { randomInt } from 'node:crypto'
import { ExitCode, expectPositionals, parseCommand, parseDuration, parseInteger, parseProbability, UsageError } from '../args.js'
import { Lab, type LabSnapshot } from '../Lab.js'
import { formatBytes, formatDuration, progressBar } from '../format.js'
import type { Output } from './client.js'

/** `hearsay lab`: N nodes behind a fault proxy, a live view, a summary. */
export async function labCommand(args: readonly string[], io: Output, tty = process.stdout.isTTY === true): Promise<number> {
  const { values, positionals } = parseCommand('lab', args, {
    nodes: { type: 'string' },
    loss: { type: 'string' },
    'loss-mode': { type: 'string' },
    latency: { type: 'string' },
    jitter: { type: 'string' },
    partition: { type: 'string' },
    writes: { type: 'string' },
    interval: { type: 'string' },
    timeout: { type: 'string' },
    seed: { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  expectPositionals('lab', positionals, [])
  const str = (k: string): string | undefined => values[k] as string | undefined
  const nodes = str('nodes') === undefined ? 8 : parseInteger('lab', '--nodes', str('nodes')!, 2, 64)
  const loss = str('loss') === undefined ? 0 : parseProbability('lab', '--loss', str('loss')!)
  const lossMode = str('loss-mode') ?? 'drop'
  if (lossMode !== 'drop' && lossMode !== 'reset') throw new UsageError('lab', `--loss-mode is drop or reset, got ${JSON.stringify(lossMode)}`)
  const latency = str('latency') === undefined ? 0 : parseDuration('lab', '--latency', str('latency')!)
  const jitter = str('jitter') === undefined ? 0 : parseDuration('lab', '--jitter', str('jitter')!)
  const partition = str('partition') === undefined ? 0 : parseDuration('lab', '--partition', str('partition')!)
  const writes = str('writes') === undefined ? 20 : parseInteger('lab', '--writes', str('writes')!, 1, 100_000)
  const interval = str('interval') === undefined ? 250 : parseDuration('lab', '--interval', str('interval')!)
  if (interval < 10) throw new UsageError('lab', '--interval must be at least 10ms, e.g. --interval 250ms')
  const timeout = str('timeout') === undefined ? 60_000 : parseDuration('lab', '--timeout', str('timeout')!)
  const seed = str('seed') === undefined ? randomInt(1, 2 ** 31 - 1) : parseInteger('lab', '--seed', str('seed')!, 0, 2 ** 32 - 1)

  const lab = new Lab({
    nodes,
    loss,
    lossMode,
    latency,
    jitter,
    partition,
    writes,
    writeWindow: Math.min(2000, Math.max(200, partition > 0 ? partition / 2 : 2000)),
    interval,
    seed,
    keep: values['keep'] === true,
  })
  const faults = [
    loss > 0 ? `loss ${Math.round(loss * 1000) / 10}% (${lossMode})` : 'no loss',
    latency > 0 || jitter > 0 ? `latency ${latency}ms${jitter > 0 ? ` +0..${jitter}ms` : ''}` : 'no added latency',
    partition > 0 ? `partition into two halves for ${formatDuration(partition)}` : 'no partition',
  ]
  io.out(`lab: ${nodes} nodes on loopback (TCP through a fault proxy), ${writes} writes each, seed ${seed}`)
  io.out(`faults: ${faults.join(', ')}`)
  io.out(`replay this run with: hearsay lab --nodes ${nodes} --loss ${loss} --loss-mode ${lossMode} --latency ${latency}ms --jitter ${jitter}ms --partition ${partition}ms --writes ${writes} --interval ${interval}ms --seed ${seed}`)
  io.out('')

  let drawn = 0
  let lastPlain = -Infinity
  lab.on('snapshot', (s: LabSnapshot) => {
    if (tty) {
      const lines = render(s)
      // Redraw in place: move the cursor up over the previous frame and clear each line.
      const up = drawn > 0 ? `\x1b[${drawn}A` : ''
      process.stdout.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(''))
      drawn = lines.length
    } else if (s.elapsed - lastPlain >= 1000 || s.converged) {
      lastPlain = s.elapsed
      io.out(`${formatDuration(s.elapsed).padStart(6)} ${progressBar(s.progress, 20)} ${s.partitioned ? 'PARTITIONED ' : ''}frames ${s.proxy.frames} lost ${s.proxy.lostFrames}`)
    }
  })

  const interrupt = (): void => {
    io.err('interrupted: shutting the nodes down and removing their data directories...')
    lab.stop()
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  const summary = await lab.run(timeout).finally(() => {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
  })
  if (lab.stopped && !summary.converged) {
    io.err('interrupted before the nodes converged')
    return ExitCode.FAILURE
  }
  io.out('')
  const p = summary.proxy
  if (summary.converged) {
    io.out(`converged: all ${summary.nodes} nodes hold the same ${summary.updates} updates (byte-identical state)`)
    io.out(`  time to converge   ${formatDuration(summary.elapsed)} from the start${partition > 0 ? `, ${formatDuration(summary.sinceHeal)} after the partition healed` : ''}`)
  } else {
    io.out(`NOT converged after ${formatDuration(summary.elapsed)} (--timeout ${formatDuration(timeout)}); replay with --seed ${seed}`)
  }
  io.out(`  messages           ${p.frames} frames delivered, ${p.lostFrames} lost${p.resets > 0 ? `, ${p.resets} connections reset` : ''}, ${p.refused} connections refused by the partition`)
  io.out(`  bytes              ${formatBytes(p.bytes)} delivered through the proxies (${formatBytes(summary.bytesSent)} sent by the nodes)`)
  io.out(`  per update         ${formatBytes(Math.round(p.bytes / summary.updates))} on the wire, ${(p.frames / summary.updates).toFixed(1)} frames`)
  io.out(`  gossip rounds      ${summary.rounds} over all nodes; ${p.connections} connections opened`)
  if (values['keep'] === true) io.out(`  data directories   kept in ${summary.dataDir}`)
  return summary.converged ? ExitCode.OK : ExitCode.NOT_CONVERGED
}

function render(s: LabSnapshot): string[] {
  const lines = [
    `${formatDuration(s.elapsed).padStart(6)}  ${s.partitioned ? 'PARTITIONED (two halves)' : 'network whole'}   writes ${s.written}/${s.expected}   frames ${s.proxy.frames}  lost ${s.proxy.lostFrames}  ${formatBytes(s.proxy.bytes)}`,
  ]
  for (const n of s.nodes) {
    const sources = Object.keys(n.vector).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    const vec = sources.map((k) => `${k}:${n.vector[k]}`).join(' ')
    lines.push(`  ${n.id.padEnd(4)} ${progressBar(s.expected === 0 ? 0 : n.have / s.expected, 16)}  peers ${n.connected}  {${vec}}`)
  }
  lines.push(`  all  ${progressBar(s.progress, 40)}${s.converged ? '  converged' : ''}`)
  return lines
}

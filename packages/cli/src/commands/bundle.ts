import { resolve } from 'node:path'
import { ExitCode, UsageError, dataDirOf, expectPositionals, parseCommand } from '../args.js'
import { connectControl, requestDaemon } from '../control.js'
import { bundleError, exportFor, openDataNode, readBundleFile, writeFileAtomic } from '../Daemon.js'
import { formatBytes, printable } from '../format.js'
import type { Output } from './client.js'
import { networkKeyOf } from './peer.js'

/**
 * `hearsay bundle export --for PEER <file>` and `hearsay bundle import <file>`. Goes through the
 * daemon when one runs for the data directory (it holds the database), else opens the data
 * directory itself (then `--key` is needed: bundles are sealed with the network key).
 */
export async function bundleCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('bundle', args, {
    data: { type: 'string' },
    for: { type: 'string' },
    key: { type: 'string' },
    'max-bytes': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  const [action, ...rest] = positionals
  if (action !== 'export' && action !== 'import') {
    throw new UsageError('bundle', action === undefined ? 'say export or import: hearsay bundle export --for PEER <file>, or hearsay bundle import <file>' : `unknown action ${JSON.stringify(action)}: use export or import`)
  }
  const [fileArg] = expectPositionals(`bundle ${action}`, rest, ['file'])
  const file = resolve(fileArg!)
  const dataDir = dataDirOf(values)
  const peer = values['for'] as string | undefined
  if (action === 'export' && (peer === undefined || peer === '')) {
    throw new UsageError('bundle', "bundle export needs --for PEER: the id of the node that will import it ('hearsay status' on that node shows its id)")
  }
  if (action === 'import' && peer !== undefined) throw new UsageError('bundle', '--for is for export only; an import reads who the bundle is from out of the file')
  const maxArg = values['max-bytes'] as string | undefined
  if (action === 'import' && maxArg !== undefined) throw new UsageError('bundle', '--max-bytes is for export only')
  const maxBytes = maxArg === undefined ? undefined : parseBytes(maxArg)

  const socket = await connectControl(dataDir)
  if (socket !== undefined) {
    socket.destroy()
    if (action === 'export') {
      const r = (await requestDaemon(dataDir, { op: 'bundle-export', for: peer!, file, ...(maxBytes !== undefined && { maxBytes }) })) as { bytes: number; updates: number; complete: boolean }
      io.out(printable(exportLine(file, peer!, r)))
    } else {
      const r = (await requestDaemon(dataDir, { op: 'bundle-import', file })) as { from: string; objects: number; applied: number; waiting: number }
      io.out(printable(importLine(file, r)))
    }
    return ExitCode.OK
  }

  const key = networkKeyOf('bundle', values, false)
  if (key === undefined) {
    throw new UsageError('bundle', `no daemon runs for ${dataDir}, so the bundle is ${action}ed directly and needs the network key: add --key KEY (or set HEARSAY_KEY)`)
  }
  const node = await openDataNode({ dataDir, networkKey: key })
  try {
    if (action === 'export') {
      const r = await exportFor(node, peer!, maxBytes)
      await writeFileAtomic(file, r.bytes)
      io.out(printable(exportLine(file, peer!, { bytes: r.bytes.length, updates: r.updates, complete: r.complete })))
    } else {
      const bytes = await readBundleFile(file)
      let r
      try {
        r = await node.importBundle(bytes)
      } catch (err) {
        bundleError(err, file)
      }
      await node.flush()
      io.out(printable(importLine(file, r)))
    }
  } finally {
    await node.close()
  }
  return ExitCode.OK
}

function exportLine(file: string, peer: string, r: { bytes: number; updates: number; complete: boolean }): string {
  return `wrote ${file} (${formatBytes(r.bytes)}) for ${peer}: ${r.updates} update(s)${r.complete ? '' : '; more to send: export again for the rest'}`
}

/** A `--max-bytes` value: a positive integer of bytes, or with a k/K (1000), KiB (1024), M or MiB suffix. */
function parseBytes(text: string): number {
  const m = /^(\d+)(k|kb|kib|m|mb|mib)?$/i.exec(text.trim())
  const unit = m?.[2]?.toLowerCase()
  const n = m === null ? NaN : Number(m[1]) * (unit === undefined ? 1 : unit === 'kib' ? 1024 : unit === 'mib' ? 2 ** 20 : unit.startsWith('m') ? 1e6 : 1e3)
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError('bundle', `--max-bytes takes a positive number of bytes (such as 65536, 64KiB or 1M); got ${JSON.stringify(text)}`)
  return n
}

function importLine(file: string, r: { from: string; objects: number; applied: number; waiting: number }): string {
  return `imported ${file} from ${r.from}: ${r.objects} object(s), ${r.applied} update(s) applied${r.waiting > 0 ? `, ${r.waiting} waiting for earlier bundles` : ''}`
}

import { resolve } from 'node:path'
import { CliError, ExitCode, UsageError, dataDirOf, expectPositionals, parseCommand } from '../args.js'
import { connectControl, requestDaemon } from '../control.js'
import { bundleError, openDataNode, readBundleFile, writeFileAtomic } from '../Daemon.js'
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

  const socket = await connectControl(dataDir)
  if (socket !== undefined) {
    socket.destroy()
    if (action === 'export') {
      const r = (await requestDaemon(dataDir, { op: 'bundle-export', for: peer!, file })) as { bytes: number }
      io.out(printable(`wrote ${file} (${formatBytes(r.bytes)}) for ${peer}`))
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
      let bytes: Uint8Array
      try {
        bytes = await node.exportBundle({ for: peer! })
      } catch (err) {
        if (err instanceof TypeError) throw new CliError(`--for ${JSON.stringify(peer)} is not a node id`)
        throw err
      }
      await writeFileAtomic(file, bytes)
      io.out(printable(`wrote ${file} (${formatBytes(bytes.length)}) for ${peer}`))
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

function importLine(file: string, r: { from: string; objects: number; applied: number; waiting: number }): string {
  return `imported ${file} from ${r.from}: ${r.objects} object(s), ${r.applied} update(s) applied${r.waiting > 0 ? `, ${r.waiting} waiting for earlier bundles` : ''}`
}

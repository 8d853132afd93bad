import { getType, isHearsayError, restoreReplica, ErrorCodes } from '@hearsay/core'
import { LevelStore, repairLevelStore } from '@hearsay/adapters/level'
import { INDEX_OBJECT_ID } from '@hearsay/gossip'
import { CliError, ExitCode, dataDirOf, expectPositionals, parseCommand } from '../args.js'
import { databasePath, openError } from '../Daemon.js'
import { connectControl } from '../control.js'
import { formatBytes, printable } from '../format.js'
import type { Output } from './client.js'

// The metadata key under which a node keeps its id (see the gossip package's PROTOCOL.md).
const META_NODE_ID = 'node-id'

/**
 * `hearsay repair`: rebuilds a damaged data directory with LevelDB's repair and reports what it
 * kept. The node keeps its id: like every start, its next one writes under a fresh incarnation
 * of it, so it never reuses a sequence number that was lost here but exists at its peers; the
 * peers send back the rest.
 */
export async function repairCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('repair', args, { data: { type: 'string' }, help: { type: 'boolean', short: 'h' } })
  expectPositionals('repair', positionals, [])
  const dataDir = dataDirOf(values)
  const socket = await connectControl(dataDir)
  if (socket !== undefined) {
    socket.destroy()
    throw new CliError(`a hearsay daemon is running for ${dataDir}; stop it before repairing its data directory`)
  }
  const dir = databasePath(dataDir)
  let report
  try {
    report = await repairLevelStore(dir)
  } catch (err) {
    if (isHearsayError(err, ErrorCodes.STORE_CORRUPT)) throw new CliError(`cannot repair ${dataDir}: ${err.message}`)
    throw openError(dataDir, err)
  }
  const total = (files: readonly { size: number }[]) => formatBytes(files.reduce((n, f) => n + f.size, 0))
  io.out(`LevelDB repair of ${dir}: ${report.before.length} files (${total(report.before)}) before, ${report.after.length} files (${total(report.after)}) after`)

  const store = new LevelStore(dir)
  try {
    await store.open()
  } catch (err) {
    throw openError(dataDir, err)
  }
  try {
    const saved = await store.getMeta(META_NODE_ID)
    const oldId = saved === undefined ? undefined : new TextDecoder().decode(saved)
    // The node's object index is rebuilt from the objects' updates when it does not check.
    const objects = (await store.list()).filter((o) => o.objectId !== INDEX_OBJECT_ID)
    io.out(`kept ${objects.length} object${objects.length === 1 ? '' : 's'}:`)
    for (const { objectId, typeId } of objects) {
      const Type = getType(typeId)
      if (Type === undefined) {
        io.out(printable(`  ${objectId}: type ${typeId} (not loaded by this build)`))
        continue
      }
      const replica = new Type()
      try {
        await restoreReplica(store, objectId, replica)
        const clock = [...replica.clock.entries()].map(([s, n]) => `${s}:${n}`).join(' ')
        io.out(printable(`  ${objectId} (${Type.typeName}): ${clock || 'empty'}`))
      } catch (err) {
        io.out(printable(`  ${objectId} (${Type.typeName}): unreadable (${(err as Error).message}); its peers hold it`))
      } finally {
        replica.dispose()
      }
    }
    io.out(
      `anything written after the vectors above is not in this store any more: its peers send it back once it runs again.\n` +
        `${oldId === undefined ? 'the node id was lost (the node takes the id of its key, or --id)' : `the node keeps its id ${oldId}`}; its next start writes under a fresh incarnation of it, so it never reuses a sequence number its peers may hold.\n` +
        `start it with: hearsay peer --data ${dataDir} --key <network key>`,
    )
  } finally {
    await store.close()
  }
  return ExitCode.OK
}

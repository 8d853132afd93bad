import { HearsayError, ErrorCodes } from '@hearsay/core'
import { classifyLevelError } from './levelErrors.js'
import { clearDamaged, listFiles, type DirFile } from './levelFiles.js'

/** What {@link repairLevelStore} did: the directory's files before and after. */
export interface LevelRepairReport {
  readonly before: readonly DirFile[]
  readonly after: readonly DirFile[]
}

/**
 * Rebuilds the LevelDB database of a directory with LevelDB's own repair (`ClassicLevel.repair`:
 * it rebuilds the CURRENT and MANIFEST files from the table files, turns write-ahead logs into
 * tables and drops records whose checksums fail), then clears hearsay's damage marker so a
 * {@link LevelStore} opens the directory again. What LevelDB could not read is gone from this
 * store; a caller must get it back from elsewhere (peers) and must not write under sequence
 * numbers that may have been lost.
 * @throws HearsayError `HEARSAY_STORE_LOCKED` when another process has the database open,
 *   `HEARSAY_STORE_CORRUPT` when the directory holds no database files, or the cause of a
 *   failed repair.
 */
export async function repairLevelStore(dir: string): Promise<LevelRepairReport> {
  const before = await listFiles(dir)
  if (!before.some((f) => /^(CURRENT|MANIFEST-\d+|\d+\.(log|ldb|sst))$/.test(f.name))) {
    throw new HearsayError(ErrorCodes.STORE_CORRUPT, `${dir} holds no LevelDB files; there is nothing to repair`)
  }
  const { ClassicLevel } = await import('classic-level')
  // LevelDB's repair does not take the lock: try it first with an open that cannot create
  // anything (it takes the lock before it looks for CURRENT).
  const probe = new ClassicLevel(dir, { createIfMissing: false })
  try {
    await probe.open()
  } catch (err) {
    const e = classifyLevelError(`cannot repair ${dir}`, err)
    if (e.code === ErrorCodes.STORE_LOCKED || e.code === ErrorCodes.STORE_READ_ONLY) throw e
  } finally {
    if (probe.status === 'open') await probe.close()
  }
  try {
    await ClassicLevel.repair(dir)
  } catch (err) {
    throw classifyLevelError(`LevelDB could not repair ${dir}`, err)
  }
  await clearDamaged(dir)
  return { before, after: await listFiles(dir) }
}

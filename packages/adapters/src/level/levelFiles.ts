// Checks on the files of a LevelDB directory, made before and after classic-level opens it, so
// that damage is reported instead of being written over or silently dropped. Node only: the
// LevelStore loads this file only when it opens a directory path.
import { open, readFile, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { HearsayError, ErrorCodes } from '@hearsay/core'

/**
 * The file hearsay leaves in a database directory once it found damage there. While it exists
 * the store refuses to open, whatever LevelDB would do (LevelDB's own record of the damage, its
 * LOG file, is rotated away by the next open). `hearsay repair` removes it.
 */
export const DAMAGE_MARKER = 'HEARSAY-DAMAGED'

/** A file of the directory and its size in bytes. */
export interface DirFile {
  readonly name: string
  readonly size: number
}

/** The regular files of `dir` with their sizes, sorted by name; empty when `dir` does not exist. */
export async function listFiles(dir: string): Promise<DirFile[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const out: DirFile[] = []
  for (const name of names.sort()) {
    const s = await stat(join(dir, name)).catch(() => undefined)
    if (s?.isFile()) out.push({ name, size: s.size })
  }
  return out
}

// LevelDB's own files: CURRENT, LOCK, LOG, LOG.old, MANIFEST-n, n.log, n.ldb, n.sst, n.dbtmp.
const LEVEL_FILE = /^(CURRENT|LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(log|ldb|sst|dbtmp))$/

/**
 * Decides how `dir` may be opened: `create` when it holds no files (a new database), `existing`
 * when it holds a LevelDB database. Never lets LevelDB create a database over files that are
 * there: a directory with files but no CURRENT file (deleted, or never a database) is refused.
 * @throws HearsayError `HEARSAY_STORE_CORRUPT` naming what is wrong, when hearsay found damage
 *   here before ({@link DAMAGE_MARKER}) or the CURRENT file is missing.
 */
export async function checkBeforeOpen(dir: string): Promise<'create' | 'existing'> {
  const files = await listFiles(dir)
  const marker = files.find((f) => f.name === DAMAGE_MARKER)
  if (marker !== undefined) {
    const why = (await readFile(join(dir, DAMAGE_MARKER), 'utf8').catch(() => '')).trim()
    throw new HearsayError(ErrorCodes.STORE_CORRUPT, `the database in ${dir} was found damaged by an earlier start${why ? ` (${why})` : ''}; it is left as it is until it is repaired`)
  }
  if (files.length === 0) return 'create'
  if (files.some((f) => f.name === 'CURRENT')) return 'existing'
  const level = files.filter((f) => LEVEL_FILE.test(f.name))
  if (level.length === 0) throw new HearsayError(ErrorCodes.STORE_CORRUPT, `${dir} holds files (${files.slice(0, 3).map((f) => f.name).join(', ')}${files.length > 3 ? ', ...' : ''}) but no LevelDB database; refusing to create one over them`)
  const bytes = level.reduce((n, f) => n + f.size, 0)
  throw new HearsayError(ErrorCodes.STORE_CORRUPT, `LevelDB's CURRENT file is missing in ${dir} (${level.length} database files, ${bytes} bytes, are there); nothing was changed`)
}

/**
 * The lines of LevelDB's LOG (written by the open that just ran: LevelDB starts a new LOG at
 * every open) that report damage. LevelDB without paranoid checks (classic-level 3 offers no
 * option to turn them on) logs a damaged write-ahead log as "(ignoring error) ... dropping N
 * bytes; Corruption: ..." and opens anyway, without the dropped writes.
 */
export async function damageLogged(dir: string): Promise<string[]> {
  const log = await readFile(join(dir, 'LOG'), 'utf8').catch(() => '')
  return log.split('\n').filter((line) => /ignoring error|corruption|dropping \d+ bytes/i.test(line))
}

/** Leaves {@link DAMAGE_MARKER} in `dir`, synced, saying why. */
export async function markDamaged(dir: string, why: string): Promise<void> {
  const f = await open(join(dir, DAMAGE_MARKER), 'w')
  try {
    await f.writeFile(`${new Date().toISOString()} ${why}\n`)
    await f.sync()
  } finally {
    await f.close()
  }
}

/** Removes {@link DAMAGE_MARKER} from `dir` (after a repair). */
export async function clearDamaged(dir: string): Promise<void> {
  await rm(join(dir, DAMAGE_MARKER), { force: true })
}

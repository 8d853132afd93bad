// Names the cause of a LevelDB failure. No node:* imports: the LevelStore also runs in browsers.
import { HearsayError, ErrorCodes } from '@hearsay/core'

function causesOf(err: unknown): Array<{ code?: string | undefined; message: string }> {
  const out: Array<{ code?: string | undefined; message: string }> = []
  for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined; e && out.length < 8; e = e.cause as typeof e) {
    out.push({ code: e.code, message: String(e.message ?? e) })
  }
  return out
}

/**
 * Turns a failure of LevelDB (opening, reading or writing) into a HearsayError whose code names
 * the cause: `HEARSAY_STORE_LOCKED` (another process holds the lock), `HEARSAY_STORE_READ_ONLY`
 * (read-only file system, no write permission), `HEARSAY_STORE_FULL` (no space left),
 * `HEARSAY_STORE_CORRUPT` (LevelDB reported corruption or missing files), else
 * `HEARSAY_STORE_ERROR`. classic-level reports the first through its `LEVEL_LOCKED` code, the
 * rest through `LEVEL_IO_ERROR`/`LEVEL_CORRUPTION` with the operating system's error text.
 */
export function classifyLevelError(what: string, err: unknown): HearsayError {
  if (err instanceof HearsayError) return err
  const chain = causesOf(err)
  const detail = chain[chain.length - 1]?.message ?? String(err)
  const has = (re: RegExp) => chain.some((c) => re.test(c.message))
  let code: HearsayError['code'] = ErrorCodes.STORE_ERROR
  let reason = ''
  if (chain.some((c) => c.code === 'LEVEL_LOCKED')) {
    code = ErrorCodes.STORE_LOCKED
    reason = 'it is locked by another process'
  } else if (has(/read-only file system|EROFS/i)) {
    code = ErrorCodes.STORE_READ_ONLY
    reason = 'the file system is read-only'
  } else if (has(/permission denied|EACCES|EPERM/i)) {
    code = ErrorCodes.STORE_READ_ONLY
    reason = 'no permission to write there'
  } else if (has(/no space left|ENOSPC|disk quota/i)) {
    code = ErrorCodes.STORE_FULL
    reason = 'the disk is full'
  } else if (chain.some((c) => c.code === 'LEVEL_CORRUPTION') || has(/corruption|missing files/i)) {
    code = ErrorCodes.STORE_CORRUPT
    reason = 'the database is damaged'
  }
  return new HearsayError(code, `${what}: ${reason ? `${reason} (${detail})` : detail}`, { cause: err })
}

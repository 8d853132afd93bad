import { parseArgs, type ParseArgsConfig } from 'node:util'
import { resolve } from 'node:path'

/** Exit codes of the `hearsay` command. They are API: scripts may test them. */
export const ExitCode = {
  /** The command did what it was asked. */
  OK: 0,
  /** Something failed at run time (a store, a socket, a file); the message says what. */
  FAILURE: 1,
  /** The command line is wrong: an unknown command or flag, a missing or malformed value. */
  USAGE: 2,
  /** No daemon (`hearsay peer`) runs for the data directory a client command was pointed at. */
  NO_DAEMON: 3,
  /** `get` asked for an object or key that does not exist. */
  NOT_FOUND: 4,
  /** `lab` gave up: the peers had not converged when its timeout expired; `explain`: the two nodes differ. */
  NOT_CONVERGED: 5,
} as const

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * A mistake on the command line. Its message names the flag or argument at fault and how to fix
 * it; the CLI prints it with the command's usage line and exits with {@link ExitCode.USAGE}.
 */
export class UsageError extends Error {
  readonly command: string
  constructor(command: string, message: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

/**
 * A run-time failure with its own exit code and a message written for people (no stack trace
 * is printed for it).
 */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue
  constructor(message: string, exitCode: ExitCodeValue = ExitCode.FAILURE) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The option table of one command, as `node:util` `parseArgs` takes it. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>

/** What {@link parseCommand} returns: the flag values and the positional arguments. */
export interface ParsedCommand {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>
  readonly positionals: string[]
}

/**
 * Parses one command's arguments strictly with `node:util` `parseArgs`, and rewrites its errors
 * into a {@link UsageError} that names the flag and the fix.
 * @throws UsageError on an unknown flag, a flag without its value, or a value given to a switch.
 */
export function parseCommand(command: string, args: readonly string[], options: OptionTable): ParsedCommand {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true })
    return { values: values as ParsedCommand['values'], positionals }
  } catch (err) {
    throw new UsageError(command, explainParseError(command, err as Error & { code?: string }, options))
  }
}

function explainParseError(command: string, err: Error & { code?: string }, options: OptionTable): string {
  const msg = err.message
  const flag = /'(-{1,2}[^' ]+)/.exec(msg)?.[1]
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const name = flag?.replace(/^-+/, '').split('=')[0] ?? ''
      const near = closest(name, Object.keys(options))
      const hint = near ? `did you mean --${near}?` : `run 'hearsay ${command} --help' for the flags it takes`
      return `unknown flag ${flag ?? ''} for 'hearsay ${command}': ${hint}`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      if (/argument missing/.test(msg)) return `flag ${flag ?? ''} needs a value, e.g. ${flag ?? '--flag'} <value>`
      return `flag ${flag ?? ''} takes no value: write just ${flag?.split('=')[0] ?? '--flag'}`
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument: ${msg}`
    default:
      return msg
  }
}

/** The candidate closest to `word` by edit distance, when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDist = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const c of candidates) {
    const d = editDistance(word, c)
    if (d < bestDist) {
      bestDist = d
      best = c
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses a duration such as `50ms`, `5s`, `1.5s`, `2m` or a bare number of milliseconds.
 * @throws UsageError naming `flag` when the text is not a duration.
 */
export function parseDuration(command: string, flag: string, text: string): number {
  const m = DURATION_RE.exec(text.trim())
  if (!m) throw new UsageError(command, `${flag} takes a duration such as 50ms, 5s or 2m, got ${JSON.stringify(text)}`)
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!)
}

/**
 * Parses a probability written as `0.2` or `20%`.
 * @throws UsageError naming `flag` unless the value is in [0, 1).
 */
export function parseProbability(command: string, flag: string, text: string): number {
  const t = text.trim()
  const n = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t)
  if (t === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
    throw new UsageError(command, `${flag} takes a probability from 0 up to (not including) 1, such as 0.2 or 20%, got ${JSON.stringify(text)}`)
  }
  return n
}

/**
 * Parses a whole number within bounds.
 * @throws UsageError naming `flag` when the text is not an integer in [min, max].
 */
export function parseInteger(command: string, flag: string, text: string, min: number, max: number): number {
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(command, `${flag} takes a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`)
  }
  return n
}

const SCHEMES = ['ws:', 'wss:', 'tcp:']

/**
 * Checks a peer or listen address: `ws://host:port`, `wss://host:port` or `tcp://host:port`.
 * @throws UsageError naming `flag` with an example of a good address.
 */
export function parseAddress(command: string, flag: string, text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(command, `${flag} takes an address such as ws://127.0.0.1:7001 or tcp://127.0.0.1:7002, got ${JSON.stringify(text)}`)
  }
  if (!SCHEMES.includes(url.protocol)) {
    throw new UsageError(command, `${flag} ${text}: the scheme must be ws://, wss:// or tcp://, e.g. tcp://127.0.0.1:7002`)
  }
  if (url.port === '' && url.protocol === 'tcp:') {
    throw new UsageError(command, `${flag} ${text}: give a port, e.g. tcp://${url.hostname || '127.0.0.1'}:7002`)
  }
  return text
}

/** The data directory: `--data`, else `$HEARSAY_DATA`, else `./.hearsay`, as an absolute path. */
export function dataDirOf(values: ParsedCommand['values']): string {
  const v = values['data']
  return resolve(typeof v === 'string' && v !== '' ? v : process.env['HEARSAY_DATA'] || '.hearsay')
}

/**
 * Requires exactly the positional arguments a command takes.
 * @throws UsageError naming the first missing argument, or the first extra one.
 */
export function expectPositionals(command: string, positionals: readonly string[], required: readonly string[], optional: readonly string[] = []): string[] {
  if (positionals.length < required.length) {
    const missing = required[positionals.length]!
    throw new UsageError(command, `missing <${missing}>: usage is hearsay ${command} ${[...required.map((r) => `<${r}>`), ...optional.map((o) => `[${o}]`)].join(' ')}`)
  }
  if (positionals.length > required.length + optional.length) {
    const extra = positionals[required.length + optional.length]!
    throw new UsageError(command, `unexpected argument ${JSON.stringify(extra)}: 'hearsay ${command}' takes ${required.length + optional.length} argument(s); quote a value that contains spaces`)
  }
  return [...positionals]
}

import { CliError, ExitCode, UsageError, closest } from './args.js'
import { COMMAND_HELP, MAIN_HELP, usageLine } from './help.js'
import type { Output } from './commands/client.js'

/** The version printed by `hearsay --version`. */
export const VERSION = '0.1.0'

type Command = (args: readonly string[], io: Output) => Promise<number>

// Commands load lazily so that `--help` and the client commands do not load LevelDB.
const COMMANDS: Record<string, () => Promise<Command>> = {
  peer: async () => (await import('./commands/peer.js')).peerCommand,
  put: async () => (await import('./commands/client.js')).putCommand,
  get: async () => (await import('./commands/client.js')).getCommand,
  del: async () => (await import('./commands/client.js')).delCommand,
  watch: async () => (await import('./commands/client.js')).watchCommand,
  ls: async () => (await import('./commands/client.js')).lsCommand,
  status: async () => (await import('./commands/client.js')).statusCommand,
  explain: async () => (await import('./commands/client.js')).explainCommand,
  bundle: async () => (await import('./commands/bundle.js')).bundleCommand,
  lab: async () => (await import('./commands/lab.js')).labCommand,
  repair: async () => (await import('./commands/repair.js')).repairCommand,
}

/** Writes to the process's stdout and stderr. */
export const processOutput: Output = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
}

/**
 * Runs the `hearsay` command with `argv` (without `node` and the script) and resolves with its
 * exit code (see `ExitCode`). Usage errors and run-time failures are printed to `io.err`, never
 * thrown; an unexpected error prints its stack and resolves with `ExitCode.FAILURE`.
 */
export async function main(argv: readonly string[], io: Output = processOutput): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    if (topic !== undefined && COMMAND_HELP[topic] !== undefined) io.out(COMMAND_HELP[topic]!)
    else io.out(MAIN_HELP)
    return ExitCode.OK
  }
  if (name === '--version' || name === '-v') {
    io.out(VERSION)
    return ExitCode.OK
  }
  const load = COMMANDS[name]
  if (load === undefined) {
    const near = closest(name, Object.keys(COMMANDS))
    io.err(`hearsay: unknown command ${JSON.stringify(name)}${near ? `: did you mean 'hearsay ${near}'?` : ''}`)
    io.err("Run 'hearsay --help' for the list of commands.")
    return ExitCode.USAGE
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(COMMAND_HELP[name]!)
    return ExitCode.OK
  }
  try {
    const command = await load()
    return await command(rest, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`hearsay ${err.command}: ${err.message}`)
      io.err(usageLine(err.command))
      return ExitCode.USAGE
    }
    if (err instanceof CliError) {
      io.err(`hearsay ${name}: ${err.message}`)
      return err.exitCode
    }
    io.err(`hearsay ${name}: ${(err as Error)?.stack ?? String(err)}`)
    return ExitCode.FAILURE
  }
}

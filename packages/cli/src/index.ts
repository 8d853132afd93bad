/**
 * @hearsay/cli: the `hearsay` command and the pieces it is made of.
 *
 * - {@link main}: runs the command line (`hearsay peer`, `put`, `get`, `del`, `watch`, `ls`,
 *   `status`, `bundle`, `lab`) and resolves with its exit code ({@link ExitCode}).
 * - {@link Daemon} / {@link openDataNode}: a gossip node on a data directory's LevelDB database,
 *   served over a local control socket ({@link ControlServer}, {@link requestDaemon}).
 * - {@link Lab} and {@link FaultProxy}: N nodes on loopback behind a proxy that loses, delays
 *   and partitions their frames, as `hearsay lab` runs them.
 *
 * @example
 * ```ts
 * import { main } from '@hearsay/cli'
 * process.exitCode = await main(['lab', '--nodes', '4', '--loss', '0.1'])
 * ```
 * @packageDocumentation
 */
export { main, processOutput, VERSION } from './cli.js'
export { CliError, ExitCode, UsageError, parseCommand, parseDuration, parseProbability, parseInteger, parseAddress, dataDirOf } from './args.js'
export type { ExitCodeValue, OptionTable, ParsedCommand } from './args.js'
export { ControlServer, MAX_CONTROL_LINE, connectControl, controlSocketPath, noDaemonError, readDaemonInfo, requestDaemon } from './control.js'
export type { ControlContext, ControlHandler, ControlRequest, ControlResponse, DaemonInfo } from './control.js'
export { Daemon, databasePath, openDataNode } from './Daemon.js'
export type { DataNodeOptions } from './Daemon.js'
export { FaultProxy, createRandom } from './FaultProxy.js'
export type { FaultOptions, FaultStats, Random } from './FaultProxy.js'
export { Lab } from './Lab.js'
export type { LabNodeView, LabOptions, LabSnapshot, LabSummary } from './Lab.js'
export { COMMAND_HELP, MAIN_HELP } from './help.js'
export type { Output } from './commands/client.js'
export type { LsEntry, PeerReport, StatusReport } from './format.js'

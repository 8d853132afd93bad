/** Help texts of the `hearsay` command, one per subcommand. */

const EXIT_CODES = `Exit codes:
  0  done
  1  failed at run time (store, socket, file); the message says what
  2  bad command line (unknown command or flag, missing or malformed value)
  3  no daemon runs for the data directory (start one with 'hearsay peer')
  4  get: no such object or key
  5  lab: the peers had not converged before --timeout; explain: the two nodes differ`

const DATA = `  --data DIR        the node's data directory (default ./.hearsay, or $HEARSAY_DATA)`

/** The overview printed by `hearsay --help` and `hearsay` alone. */
export const MAIN_HELP = `hearsay: replicated data that converges by gossip, with no leader and no server.

Usage: hearsay <command> [flags]

Commands:
  peer      run a node: a LevelDB data directory, gossiping with its peers over ws/tcp
  put       set a key of a replicated map on the running node
  get       print an object, or one key of it, as JSON
  del       delete a key of a replicated map
  watch     print the changes of an object as they happen
  ls        list the objects the node holds
  status    show the node's peers, vectors, lag and traffic (--explain: why it lags)
  explain   say why two running nodes differ: missing ranges, buffered or refused updates
  bundle    export or import an offline bundle (a file carried by USB stick or email)
  lab       run N peers on loopback behind a fault proxy and watch them converge
  repair    rebuild a damaged data directory (the node stopped); its peers send back the rest

Run 'hearsay <command> --help' for the flags of a command.

Quick start (two terminals):
  hearsay peer --data ./a --key s3cret --listen tcp://127.0.0.1:7002
  hearsay peer --data ./b --key s3cret --listen tcp://127.0.0.1:7003 --peer tcp://127.0.0.1:7002
  hearsay put --data ./a inventory apples 12
  hearsay get --data ./b inventory apples          # 12

${EXIT_CODES}`

/** Per-command help, keyed by command name. */
export const COMMAND_HELP: Record<string, string> = {
  peer: `Usage: hearsay peer --key KEY [--data DIR] [--listen URL]... [--peer URL]...

Runs a node (a daemon): it keeps its objects in a LevelDB data directory, listens for peers,
connects to the peers it is given (and those it learns of through membership), and gossips
with them. It prints one line per peer event and a status line every --status-every.
Client commands (put, get, watch, status, ...) reach it through a socket in its data directory.
Ctrl-C or SIGTERM stops it cleanly: connections closed, the store flushed and closed.

Flags:
${DATA}
  --key KEY         the network key every peer of this network shares (or $HEARSAY_KEY);
                    a peer that cannot prove it holds the key is refused before any data moves
  --listen URL      accept peers at URL; repeatable. ws://HOST:PORT or tcp://HOST:PORT,
                    e.g. --listen ws://0.0.0.0:7001 --listen tcp://0.0.0.0:7002
  --peer URL        connect to a peer; repeatable, e.g. --peer ws://192.168.1.20:7001
  --id NAME         this node's id when the data directory is new (default: random)
  --fanout N        peers to gossip with each round (default 3)
  --interval DUR    time between gossip rounds (default 1s)
  --status-every DUR  time between status lines; 0 turns them off (default 10s)
  --peer-rate BYTES bytes per second one peer may send this node, with bursts of twice
                    that; a peer over it is slowed (its link stops reading), never cut;
                    0 for no cap (default 33554432, 32 MiB/s)
  -h, --help        show this help

${EXIT_CODES}`,

  repair: `Usage: hearsay repair [--data DIR]

Rebuilds the LevelDB database of a stopped node whose start was refused because its data is
damaged (a missing CURRENT file, a write-ahead log whose checksums fail). LevelDB's repair keeps
every record it can read; hearsay lists the objects and vectors it kept. Anything newer is
gone from this node: its peers send it back once it runs again. The node gets a new id (its old
id with a random suffix), so it never writes again under a sequence number of the old id that
a peer may already hold.

Flags:
${DATA}
  -h, --help        show this help

${EXIT_CODES}`,

  put: `Usage: hearsay put [--data DIR] [--writers IDS] <object> <key> <json>

Sets <key> of the replicated map <object> to a JSON value on the running node; the node
stores it durably and gossips it to its peers. The object is created as an LWW map if new.
Concurrent writes to a key resolve by last writer wins (hybrid time, then node id).

Examples:
  hearsay put inventory apples 12
  hearsay put inventory crate '{"kg": 4.5, "tags": ["fruit"]}'
  hearsay put --string notes monday 'buy rope'     # a plain string, no JSON quoting
  hearsay put --writers "$(hearsay status --json | jq -r .id)" prices bread 3
                    # a signed map only this node may write: prints its id, prices~w1.<digest>

Flags:
${DATA}
  --string          take <json> as a plain string instead of parsing it as JSON
  --writers IDS     the object is signed: only these node ids (comma-separated) may write it;
                    its id becomes <object>~w1.<digest of the writers>, printed by put. Other
                    nodes refuse writes from anyone else, also when relayed
  -h, --help        show this help

${EXIT_CODES}`,

  get: `Usage: hearsay get [--data DIR] <object> [key]

Prints the object as JSON, or the value of one key. Exits 4 when it does not exist.

Flags:
${DATA}
  -h, --help        show this help

${EXIT_CODES}`,

  del: `Usage: hearsay del [--data DIR] <object> <key>

Deletes <key> from the replicated map <object> (a tombstone that replicates like a write).

Flags:
${DATA}
  -h, --help        show this help

${EXIT_CODES}`,

  watch: `Usage: hearsay watch [--data DIR] <object>

Prints one line per change of <object>, local or from a peer, until Ctrl-C:
  <key> <json value>       or       <key> (deleted)

Flags:
${DATA}
  --json            print one JSON object per line: {"object","key","value"}
  -h, --help        show this help

${EXIT_CODES}`,

  ls: `Usage: hearsay ls [--data DIR]

Lists the objects the node holds: id, type, size and version vector.

Flags:
${DATA}
  --json            print JSON
  -h, --help        show this help

${EXIT_CODES}`,

  explain: `Usage: hearsay explain --with OTHER_DIR [--data DIR] [object]

Asks two running nodes on this machine (their daemons, through their data directories) why
they differ, object by object: the sources and seq ranges one lacks, the updates waiting in a
causal buffer and the dot they wait for (and whether either node has it), the updates refused
and why, equal vectors hiding different content (and which dots differ), and what each node
last heard the other offer (a digest older than the other's state means they have not
gossiped since). Prints nothing to explain and exits 0 when they hold the same.

Flags:
${DATA}
  --with DIR        the other node's data directory
  --json            print JSON
  -h, --help        show this help

${EXIT_CODES}`,

  status: `Usage: hearsay status [--data DIR] [--explain]

Shows the node's id and addresses, its peers (connected or suspected, last sync), the version
vector of each object and how far each peer lags behind it, and bytes in and out.
With --explain it also says why: per peer and object, what this node lacks of what the peer
last offered and what the peer lacked when it last told us, the updates waiting in causal
buffers (and for which dot), and the latest refused updates (and why).

Flags:
${DATA}
  --explain         add the reasons behind the lag
  --json            print JSON
  -h, --help        show this help

${EXIT_CODES}`,

  bundle: `Usage: hearsay bundle export [--data DIR] --for PEER [--max-bytes N] <file>
       hearsay bundle import [--data DIR] <file>

Offline links. 'export' writes everything PEER may lack (judged from the last digest seen from
it) into <file>; carry the file over (USB stick, email) and 'import' it on the other node.
Bundles apply in any order and more than once; each carries the sender's digest, so the next
bundle back acknowledges what arrived. Works with or without a running daemon.

Flags:
${DATA}
  --for PEER        export: the id of the node the bundle is for ('hearsay status' shows ids);
                    a peer never heard from gets everything
  --max-bytes N     export: a bundle of at most N bytes (65536, 64KiB, 1M): the oldest updates
                    PEER lacks that fit; the next export picks up where this one stopped (a
                    bundle back from PEER resets that to what it holds, so a lost file is
                    carried again)
  --key KEY         the network key (or $HEARSAY_KEY); needed only when no daemon runs,
                    since bundles are sealed with it
  -h, --help        show this help

${EXIT_CODES}`,

  lab: `Usage: hearsay lab [--nodes N] [--loss P] [--latency DUR] [--partition DUR] [...]

Runs N real nodes on loopback, each with its own LevelDB data directory in a temp folder,
connected over TCP through a fault proxy that loses, delays and partitions their frames.
Every node writes to a shared map; the lab shows their version vectors converging with a
progress bar and exits with a summary: time to converge, frames and bytes carried.

Flags:
  --nodes N         number of nodes, 2 to 64 (default 8)
  --loss P          probability that a frame is lost, e.g. 0.2 or 20% (default 0)
  --loss-mode MODE  drop: the frame is lost, the connection stays (default);
                    reset: the frame is lost and the connection is cut
  --latency DUR     one-way delay per frame, e.g. 50ms (default 0)
  --jitter DUR      extra random delay per frame, e.g. 20ms (default 0)
  --partition DUR   split the nodes in two halves from the start for DUR (the writes happen
                    meanwhile), then heal (default 0)
  --writes N        writes per node (default 20)
  --interval DUR    gossip interval of every node (default 250ms)
  --timeout DUR     give up after DUR (default 60s)
  --seed N          seed of the fault injection (default: random; printed)
  --keep            keep the data directories instead of removing them
  -h, --help        show this help

${EXIT_CODES}`,
}

/** The one-line usage of a command, printed under a usage error. */
export function usageLine(command: string): string {
  const help = COMMAND_HELP[command]
  if (help === undefined) return "Run 'hearsay --help' for the list of commands."
  const first = help.split('\n')[0]!
  return `${first}\nRun 'hearsay ${command} --help' for details.`
}

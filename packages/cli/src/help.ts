/** The commands `capsule` knows. */
export const COMMANDS = ['exec', 'run', 'repl', 'audit', 'bench', 'doctor', 'mcp'] as const

/** One of {@link COMMANDS}. */
export type CommandName = (typeof COMMANDS)[number]

const CAPSULE_FLAGS_HELP = `Grants and limits (flags override the config file; --allow/--deny and provider flags add to it):
  --level LEVEL          sandbox | restricted | standard (default) | trusted | unrestricted
  --allow ID             grant a capability id or pattern beyond the level (repeatable): fs.write_file, http.*
  --deny ID              never grant it; deny always wins (repeatable)
  --allow-host HOST      let fetch() reach HOST (repeatable; https only): api.github.com, *.example.org
  --allow-http           also allow plain http:// for the allowed hosts
  --fs-root PATH[:rw]    expose a directory to read_file/list_dir (:rw adds write_file…) (repeatable)
  --allow-command NAME   let run_command() run NAME, e.g. git (repeatable; needs level trusted)
  --sandbox MODE         auto (bubblewrap below unrestricted) | bwrap | none
  --timeout SECONDS      wall-time limit of the code (0 = none; default 300)
  --memory MB            memory limit of the worker (0 = none; default 1024)
  --python PATH          the Python interpreter (default: $CAPSULE_PYTHON, else python3)
  --config FILE          the config file (default: capsule.config.{json,mjs,js,ts} in the current directory)
  --no-config            ignore capsule.config.* in the current directory
  --audit-log FILE       append every capability decision and outcome to FILE (JSON lines)
  --output-dir DIR       where displayed images are saved (default: a new temp directory)
  -h, --help             this help`

const CHECKPOINT_KEY_HELP = `Checkpoints are signed (HMAC-SHA256) with $CAPSULE_CHECKPOINT_KEY (at least 32 bytes) when it is set,
else with the key in $XDG_CONFIG_HOME/capsule/checkpoint-key (~/.config/capsule/checkpoint-key), created
(0600) the first time a checkpoint is saved. A checkpoint signed with another key, or altered, is refused.
A config file's checkpointKey wins over both.`

const HELP: Record<CommandName | 'capsule', string> = {
  capsule: `capsule — run untrusted Python with the capabilities you choose

Usage:
  capsule exec -c CODE [flags]      run a piece of Python
  capsule run FILE [ARGS] [flags]   run a Python file (- reads stdin)
  capsule repl [flags]              an interactive Python prompt
  capsule audit FILE                pretty-print an audit log
  capsule bench [flags]             how fast Capsule is here, with these flags
  capsule doctor [flags]            check this machine, with the fix for each problem
  capsule mcp [--http] [flags]      serve Python sessions to MCP clients (stdio, or HTTP on 127.0.0.1)
  capsule --version

Run \`capsule COMMAND --help\` for a command's flags and examples.

Examples:
  capsule exec -c 'sum(range(10))'
  capsule run analysis.py --fs-root ./data --allow-host api.github.com
  capsule repl --level restricted --fs-root .

Exit codes: 0 ok; 1 the Python code failed (exception, timeout) or the worker died;
2 nothing ran (bad flags, bad config, no sandbox, no Python); 130 interrupted by Ctrl-C.
`,
  exec: `Usage: capsule exec -c CODE [flags]

Runs CODE in a fresh worker. Output streams as it is printed, the value of the last expression is
printed at the end, and a Python exception is printed on stderr with exit code 1.

  -c, --code CODE        the Python code (required)
  --json                 print one JSON object (status, value, stdout, stderr, displays, error, failure,
                         audit, durationMs, level, sandbox) and nothing else on stdout
  -v, --verbose          say on stderr which level, sandbox, interpreter, config and capabilities are in force
  --checkpoint-to FILE   after the code ran (ok or with an exception), save the namespace to FILE (0600,
                         atomically); \`capsule repl --restore FILE\` brings it back

${CAPSULE_FLAGS_HELP}

Examples:
  capsule exec -c 'import sys; sys.version'
  capsule exec -c 'print(read_file("notes.txt"))' --fs-root .
  capsule exec -c 'r = await fetch("https://api.github.com"); r.status_code' --allow-host api.github.com
  capsule exec --json -c '6 * 7' | jq .value
`,
  run: `Usage: capsule run FILE [ARGS...] [flags]

Runs a Python file like \`capsule exec\` runs code; sys.argv is [FILE, ARGS...]. FILE \`-\` reads the code
from stdin. Flags go before FILE; everything after FILE is the script's.

  --json                 print one JSON object and nothing else on stdout (see capsule exec --help)
  -v, --verbose          say on stderr which level, sandbox and capabilities are in force
  --checkpoint-to FILE   after the run (ok or with an exception), save the namespace to FILE (0600,
                         atomically): what was saved and lost is printed on stderr

${CHECKPOINT_KEY_HELP}

${CAPSULE_FLAGS_HELP}

Examples:
  capsule run --checkpoint-to state.ckpt prepare.py && capsule repl --restore state.ckpt
  capsule run report.py --fs-root ./data:rw
  capsule run --level trusted --allow-command git stats.py -- --since 2024-01-01
  echo 'print("hi")' | capsule run -
`,
  repl: `Usage: capsule repl [flags]

An interactive Python prompt over one session: the namespace persists between cells.

  >>> / ...              a cell ends when it is complete Python (as the Python REPL decides, with top-level
                         await); a compound statement ends with a blank line
  Ctrl-C                 interrupts the running cell (the REPL stays); at the prompt, clears the line
  Ctrl-D                 exits
  input(), getpass()     answered at the terminal (getpass is not echoed)
  display(image)         PNG and SVG images are saved to files; their path is printed

Commands:
  %capabilities          what the code may call, and what it may not (and why)
  %audit [N]             the last N capability calls of this session (default 20)
  %level                 the level, grants and sandbox in force
  %info                  session details: interpreter, pid, codec, counters
  %checkpoint [FILE]     save the namespace to FILE and say what was lost; without FILE, into the
                         --journal journal (printing its id), else to ./capsule-<time>.ckpt
  %restart               a fresh worker (the namespace is lost)
  %help                  this list

History is kept in $XDG_STATE_HOME/capsule/repl_history (~/.local/state/…); set CAPSULE_REPL_HISTORY to
another file, or to an empty string for none.

  --no-history           do not read or write the history file
  --journal SPEC         a journal for checkpoints: sqlite:PATH (a file, created when missing) or a
                         postgres:// URL
  --restore FILE|ID      start from a checkpoint: an existing FILE (written by %checkpoint or capsule run
                         --checkpoint-to), else a checkpoint ID in the --journal journal; what came back
                         and what did not is printed on stderr

${CHECKPOINT_KEY_HELP}

${CAPSULE_FLAGS_HELP}

Examples:
  capsule repl
  capsule repl --level restricted --fs-root ./data
  capsule repl --sandbox none --level trusted --allow-command git
  capsule repl --restore capsule-2026-01-01T10-00-00-000Z.ckpt
  capsule repl --journal sqlite:state.db --restore cp_5f0c…
`,
  audit: `Usage: capsule audit FILE [--session ID] [--capability ID] [--denied]

Pretty-prints an audit log written with --audit-log FILE: one line per capability call with its time,
execution, decision, arguments (secrets redacted), outcome, duration, bytes and the rule that decided.

  --session ID           only this session's calls
  --capability ID        only this capability (a trailing * matches a prefix: fs.*)
  --denied               only denied calls

Examples:
  capsule run job.py --fs-root . --audit-log audit.jsonl && capsule audit audit.jsonl
  capsule audit audit.jsonl --capability 'http.*' --denied
`,
  bench: `Usage: capsule bench [-n ITERATIONS] [--json] [flags]

Measures Capsule on this machine with the given interpreter, sandbox and limits: spawn-to-ready of a
worker, a trivial cell, a top-level-await cell and a capability round trip (a no-op capability).
The repository's \`pnpm bench\` compares more figures against their baselines.

  -n, --iterations N     cells and calls per figure (default 1000, at least 10)
  --json                 print one JSON object with the figures

${CAPSULE_FLAGS_HELP}

Examples:
  capsule bench
  capsule bench --sandbox none --python /usr/bin/python3 -n 5000
`,
  doctor: `Usage: capsule doctor [--json] [--bwrap-path PATH] [flags]

Checks what Capsule needs on this machine, with the interpreter, sandbox and config the other commands
would use, and says how to fix each problem: the config file, Node, the Python interpreter, msgpack,
bubblewrap (a real probe run), unprivileged user namespaces (sysctls, AppArmor), the uid drop of a root
host (a real sandboxed worker), cgroups, and numpy/pandas/matplotlib imported inside the sandbox.
Each check is ok, warn, fail or skip. Exit code 0 when none fails (warnings included), 1 otherwise.

  --json                 print one JSON object { ok, checks: [{ id, status, summary, details, fix }] }
  --bwrap-path PATH      the bubblewrap binary to check (the config's bwrapPath; default: bwrap on PATH)

${CAPSULE_FLAGS_HELP}

Examples:
  capsule doctor
  capsule doctor --python /usr/bin/python3
  capsule doctor --json | jq '.checks[] | select(.status != "ok")'
`,
  mcp: `Usage: capsule mcp [--http [--host HOST] [--port PORT] [--token-file FILE]] [flags]

Serves Capsule to an MCP client (an AI agent, an IDE): the tools run_python (persistent namespace per MCP
session; output, value, displays, images, capability calls), list_capabilities and reset_session. Level,
providers, sandbox and limits come from the config file and the flags below, as for capsule exec.

Over stdio (the default) stdout carries the protocol and messages go to stderr; the server ends when the
client closes stdin. With --http it serves Streamable HTTP at http://127.0.0.1:PORT/mcp until Ctrl-C;
requests from another Host or from a foreign web page (Origin) are refused.

  --http                 serve Streamable HTTP instead of stdio
  --host HOST            the address to bind (default 127.0.0.1; any other needs a token)
  --port PORT            the port (default 0: a free one, printed on stderr)
  --token-file FILE      require Authorization: Bearer <the file's content> (default: $CAPSULE_MCP_TOKEN if set)
  --allowed-host NAME    also accept this Host header, e.g. a reverse proxy's name (repeatable)
  --allowed-origin NAME  also accept browser requests from this origin's host name (repeatable)
  --max-sessions N       Python sessions open at once (default 16)
  --idle-timeout SECONDS close a Python session unused this long (default 1800; 0 = never)

${CAPSULE_FLAGS_HELP}

Examples:
  capsule mcp --level restricted --fs-root ./data
  CAPSULE_MCP_TOKEN=$(openssl rand -hex 24) capsule mcp --http --port 8765
  npx @modelcontextprotocol/inspector --cli capsule mcp --method tools/list
`,
}

/** The help text of a command (or of `capsule` itself). */
export function commandHelp(command: CommandName | 'capsule'): string {
  return HELP[command]
}

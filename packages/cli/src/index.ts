// Public API of @capsule/cli. Anything exported here is public: add intentionally. The package is mainly
// its `capsule` binary; these exports let tools embed the command (e.g. run it in-process).
export { CliError, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './cliError.js'
export type { JsonExecutionReport } from './commands/execCommand.js'
export { main } from './main.js'
export type { Terminal } from './output/terminal.js'
export { CLI_VERSION } from './version.js'

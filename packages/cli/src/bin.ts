#!/usr/bin/env node
import { main } from './main.js'

// Let pending output drain: exit through exitCode, not process.exit().
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`capsule: internal error: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exitCode = 1
  },
)

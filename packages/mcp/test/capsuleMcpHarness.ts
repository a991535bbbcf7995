import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Client, type ClientOptions } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'

import { REPO_ROOT, TEST_PYTHON } from './helpers.js'

// The `capsule` command from its sources (the CLI package depends on this one), so these tests drive
// exactly what an MCP client configuration starts, without a build of every package first.
const CLI_SOURCE = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url))

/** `node … capsule mcp ARGS` as a command and arguments, from the CLI's TypeScript sources. */
export function capsuleMcpCommand(args: readonly string[] = []): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      '--conditions=@capsule/source',
      CLI_SOURCE,
      'mcp',
      // A test's own --config brings its own settings.
      ...(args.includes('--config') ? [] : ['--sandbox', 'none', '--no-config', '--python', TEST_PYTHON]),
      ...args,
    ],
  }
}

/** An SDK client connected to `capsule mcp ARGS` over stdio. */
export async function connectStdio(
  args: readonly string[] = [],
  options: ClientOptions = {},
): Promise<Client> {
  const client = new Client({ name: 'capsule-test-client', version: '1.0.0' }, options)
  await client.connect(
    new StdioClientTransport({ ...capsuleMcpCommand(args), cwd: REPO_ROOT, stderr: 'ignore' }),
    { timeout: 30_000 },
  )
  return client
}

/** `capsule mcp --http ARGS` running, with the URL it printed. */
export interface HttpServerProcess {
  url: string
  child: ChildProcessWithoutNullStreams
  stderr(): string
  stop(): Promise<void>
}

/** Starts `capsule mcp --http ARGS` and waits for its `listening on URL` line. */
export function startHttpServer(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<HttpServerProcess> {
  const { command, args: fullArgs } = capsuleMcpCommand(['--http', ...args])
  const child = spawn(command, fullArgs, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: 'pipe' })
  let stderr = ''
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`capsule mcp --http did not start:\n${stderr}`)), 30_000)
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      const match = /listening on (http:\/\/\S+)/.exec(stderr)
      if (!match) return
      clearTimeout(timer)
      resolve({
        url: match[1]!,
        child,
        stderr: () => stderr,
        stop: async () => {
          child.kill('SIGTERM')
          await exited
        },
      })
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      reject(new Error(`capsule mcp --http exited with ${code}:\n${stderr}`))
    })
  })
}

/** The structured content of a tool result, typed loosely for assertions. */
export function structured(result: unknown): Record<string, unknown> {
  return ((result as { structuredContent?: Record<string, unknown> }).structuredContent ?? {}) as Record<
    string,
    unknown
  >
}

/** The text blocks of a tool result, joined. */
export function resultText(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? []
  return content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('\n')
}

// Finds the ```ts examples of the docs. A block fenced ```ts runs as pasted; one fenced ```ts nocheck is a
// fragment or a signature that is not meant to run on its own (it is counted, never run).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/** One fenced TypeScript block of a markdown file. */
export interface DocSnippet {
  /** The markdown file, relative to the repository root. */
  file: string
  /** The line of the opening fence (1-based). */
  line: number
  code: string
  /** False for blocks fenced ```ts nocheck. */
  runnable: boolean
}

const OPENING_FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/

/** The TypeScript blocks of one markdown text. Other languages are skipped. */
export function extractSnippets(markdown: string, file: string): DocSnippet[] {
  const snippets: DocSnippet[] = []
  const lines = markdown.split('\n')
  for (let index = 0; index < lines.length; index += 1) {
    const open = OPENING_FENCE.exec(lines[index]!)
    if (!open) continue
    const [, indent = '', fence = '', language = '', rest = ''] = open
    const body: string[] = []
    let end = index + 1
    while (end < lines.length && !isClosingFence(lines[end]!, fence)) {
      // Blocks inside list items are indented: drop the indentation of the fence.
      body.push(lines[end]!.startsWith(indent) ? lines[end]!.slice(indent.length) : lines[end]!)
      end += 1
    }
    if (language === 'ts' || language === 'typescript') {
      const flags = rest.split(/\s+/).filter(Boolean)
      snippets.push({
        file,
        line: index + 1,
        code: `${body.join('\n')}\n`,
        runnable: !flags.includes('nocheck'),
      })
    }
    index = end
  }
  return snippets
}

function isClosingFence(line: string, fence: string): boolean {
  const trimmed = line.trim()
  return trimmed.startsWith(fence) && /^[`~]+$/.test(trimmed)
}

/** The markdown files whose examples must run: README.md, docs/*.md and every package's README. */
export function docFiles(repo: string): string[] {
  const files = ['README.md']
  files.push(...markdownIn(repo, 'docs'))
  for (const parent of ['packages', 'examples']) {
    for (const name of readdirSync(join(repo, parent)).sort()) files.push(`${parent}/${name}/README.md`)
  }
  files.push('contract-tests/README.md', 'python-worker/README.md')
  return files.filter((file) => existsSync(join(repo, file)))
}

function markdownIn(repo: string, dir: string): string[] {
  return readdirSync(join(repo, dir), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => relative(repo, join(entry.parentPath, entry.name)))
    .sort()
}

/** Every TypeScript block of the docs, in file order. */
export function collectSnippets(repo: string): DocSnippet[] {
  return docFiles(repo).flatMap((file) => extractSnippets(readFileSync(join(repo, file), 'utf8'), file))
}

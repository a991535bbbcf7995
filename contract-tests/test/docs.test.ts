import { readFile } from 'node:fs/promises'
import { expect, test } from 'vitest'
import { REQUIREMENTS } from '../src/index.js'

// The requirement tables are written by hand; these tests keep them from falling behind the manifest.
const documents = {
  'contract-tests/README.md': new URL('../README.md', import.meta.url),
  'docs/writing-a-provider.md': new URL('../../docs/writing-a-provider.md', import.meta.url),
}

for (const [name, url] of Object.entries(documents)) {
  test(`${name} explains every requirement of the manifest`, async () => {
    const text = await readFile(url, 'utf8')
    const missing = REQUIREMENTS.map((requirement) => requirement.id).filter(
      (id) => !text.includes(`\`${id}\``),
    )
    expect(missing).toEqual([])
  })
}

import { describeJournalContract } from '@capsule/contract-tests/journal'
import { memoryJournal } from '@capsule/core'

describeJournalContract('memory', async () => {
  const journal = memoryJournal()
  return { journal, connect: async () => journal.connect(), cleanup: async () => {} }
})

export { Journal, DEFAULT_MAX_JOURNAL_BYTES } from './journal';
export type { JournalFsync, JournalFileOptions, JournalStats } from './journal';
export { recoverJournals, formatRecoveryNotice } from './recovery';
export type { RecoveredJournal, RecoverOptions } from './recovery';
export { isJournalName } from './names';

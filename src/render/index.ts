export { renderBatch, renderEntries, renderEntriesInSlices } from './batch';
export type { RenderedMail, RenderOptions, SliceOptions } from './batch';
export { defaultFingerprint, fingerprintId, resolveFingerprint } from './fingerprint';
export type { Fingerprint, FingerprintInput } from './fingerprint';
export { captureEntry, defaultLineFormat, entryCount } from './line';
export { NPM_LEVELS } from './severity';
export { estimateEntryMailBytes } from './size';
export type { EntryEstimateOptions } from './size';
export { describeBatch, timestampOf } from './subject';

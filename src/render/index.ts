export { renderBatch, renderBatchInSlices } from './batch';
export type { RenderedMail, RenderOptions, SliceOptions } from './batch';
export { defaultLineFormat, entryCount } from './line';
export { dropNotice, mergeNotice } from './notices';
export type { DropSummary } from './notices';
export { NPM_LEVELS } from './severity';
export { estimateEntryMailBytes } from './size';
export type { EntryEstimateOptions } from './size';
export { describeBatch, timestampOf } from './subject';

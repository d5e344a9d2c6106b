export { renderBatch, renderBatchInSlices } from './batch';
export type { RenderedMail, RenderOptions, SliceOptions } from './batch';
export { defaultLineFormat, entryCount } from './line';
export { NPM_LEVELS } from './severity';
export { estimateEntryMailBytes } from './size';
export type { EntryEstimateOptions } from './size';
export { describeBatch, timestampOf } from './subject';

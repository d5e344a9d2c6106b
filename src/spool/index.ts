export { Spool, DEFAULT_MAX_SPOOL_FILE_BYTES, DEFAULT_STALE_CLAIM_MS, DEFAULT_RELIST_INTERVAL_MS } from './spool';
export type { ClaimedMail, SpoolOptions } from './spool';
export type { SpooledMail } from './mail-file';

// Shared state in Redis for a fleet of transports, passed as the transport's `store` option. It
// needs the package ioredis, an optional peer dependency of this one, loaded when a store is made
// with `url`; one that is missing is reported with the command that installs it.
export { RedisStore } from './store/redis';
export type { RedisStoreOptions } from './store/redis';
export { groupFromRecipients } from './store/store';
export type { MailSlot, MailStore, ProblemCounts, ProblemNote, SharedStore, StoreError } from './store/store';

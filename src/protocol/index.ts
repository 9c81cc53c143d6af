export * from './byte-queue.js';
export * from './checksum.js';
export * from './messages.js';
export * from './tokens.js';

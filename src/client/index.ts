// The client library's public surface.
export { type DownloadOptions, FilehiveClient, type UploadOptions } from './client.js';
export type { DownloadResult } from './download.js';
export {
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  FilehiveClientError,
} from './errors.js';
export { EXIT_CODES, exitCodeFor } from './exit-codes.js';
export type { ConnectOptions, ServerInfo } from './greeting.js';
export type { DirEntry } from './replies.js';
export type { RetryPolicy } from './retry.js';
export type { TlsConnectOption } from './tls-connect.js';
export {
  downloadMany,
  type FileOutcome,
  type ManyOptions,
  type TransferSummary,
  uploadMany,
} from './transfer-many.js';
export type { ProgressListener, UploadResult } from './upload.js';

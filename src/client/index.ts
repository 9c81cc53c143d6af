// The client library's public surface.
export { type DownloadOptions, FilehiveClient, type UploadOptions } from './client.js';
export type { DownloadResult } from './download.js';
export {
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  FilehiveClientError,
} from './errors.js';
export type { ConnectOptions, ServerInfo } from './greeting.js';
export type { TlsConnectOption } from './tls-connect.js';
export type { DirEntry } from './replies.js';
export type { ProgressListener, UploadResult } from './upload.js';

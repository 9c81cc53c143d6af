import type { Request, Verb } from '../../protocol/messages.js';
import type { Session } from '../session.js';
import { chdir, noop, pwd } from './chdir.js';
import { checksumOutOfPlace } from './checksum.js';
import { del } from './delete.js';
import { dir } from './dir.js';
import { download } from './download.js';
import { login } from './login.js';
import { mkdir } from './mkdir.js';
import { move } from './move.js';
import { partial } from './partial.js';
import { rmdir } from './rmdir.js';
import { upload } from './upload.js';
import { uploadResumable } from './upload-resumable.js';

export type Handler<V extends Verb> = (
  session: Session,
  request: Extract<Request, { verb: V }>,
) => Promise<void>;

/** One handler per verb. QUIT is handled by the session loop itself. */
export const COMMANDS: { [V in Verb]: Handler<V> } = {
  UPLOAD: (session, request) =>
    request.resume
      ? uploadResumable(session, { ...request, resume: request.resume })
      : upload(session, request),
  DOWNLOAD: download,
  DELETE: del,
  DIR: dir,
  MKDIR: mkdir,
  RMDIR: rmdir,
  CHDIR: chdir,
  MOVE: move,
  PWD: pwd,
  NOOP: noop,
  QUIT: noop,
  LOGIN: login,
  CHECKSUM: checksumOutOfPlace,
  PARTIAL: partial,
};

import { FilehiveError } from '../../errors.js';

/** A CHECKSUM line is only valid right after an upload's bytes (PROTOCOL.md#upload). */
export async function checksumOutOfPlace(): Promise<void> {
  throw new FilehiveError('BAD_REQUEST', 'CHECKSUM only follows the bytes of an UPLOAD');
}

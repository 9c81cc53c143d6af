// `filehive-server user add|passwd|remove|list`: edits the users file (docs/SECURITY.md#accounts).
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { encodeToken } from '../protocol/tokens.js';
import {
  readFirstLine,
  readSecretFromTerminal,
  SecretCancelled,
  type SecretInput,
} from '../terminal/read-secret.js';
import { hashPassword } from './password-hash.js';
import { loadUsersFile, UsersFileError, writeUsersFile } from './user-store.js';
import { defaultHome, isValidUserName, normalizeHome, type UserEntry } from './users-file.js';

export interface UserCommandIo {
  stdin: Readable & SecretInput;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** NIST SP 800-63B's minimum for passwords a person chooses. */
export const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_BYTES = 1024;

export const USER_USAGE = `Usage: filehive-server user add NAME [--home DIR] [--read-only]
       filehive-server user passwd NAME
       filehive-server user remove NAME
       filehive-server user list

Edits the users file named by --users FILE or FILEHIVE_USERS (created by the first add, mode 0600).
add and passwd ask for the password twice on a terminal without showing it, or read it from the
first line of stdin when stdin is not a terminal. A running server reads the file again on SIGHUP.

Options:
  --users FILE   the users file (default: $FILEHIVE_USERS)
  --home DIR     the account's folder inside the storage root (default: /NAME); its "/"
  --read-only    the account may DOWNLOAD, DIR, CHDIR and PWD, nothing that changes files

Exit codes: 0 done, 1 failed (e.g. the user exists or the file is bad), 2 usage error.
`;

class UsageError extends Error {}
class CommandError extends Error {}

const FLAGS = {
  users: { type: 'string' },
  home: { type: 'string' },
  'read-only': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runUserCommand(argv: string[], io: UserCommandIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`filehive-server user: ${err.message} (see filehive-server user --help)\n`);
      return 2;
    }
    if (err instanceof CommandError || err instanceof UsersFileError || err instanceof SecretCancelled) {
      io.stderr.write(`filehive-server user: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function run(argv: string[], io: UserCommandIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USER_USAGE);
    return 0;
  }
  const [action, name, ...extra] = positionals;
  const file = values.users ?? io.env.FILEHIVE_USERS;
  if (action === undefined) throw new UsageError('expected add, passwd, remove or list');
  if (file === undefined || file === '')
    throw new UsageError('name the users file with --users FILE or FILEHIVE_USERS');
  const wantsName = action === 'add' || action === 'passwd' || action === 'remove';
  if (!wantsName && action !== 'list') throw new UsageError(`unknown action ${JSON.stringify(action)}`);
  if (wantsName && name === undefined) throw new UsageError(`${action} needs a user name`);
  if (extra.length > 0 || (!wantsName && name !== undefined)) throw new UsageError('too many arguments');
  if (action !== 'add' && (values.home !== undefined || values['read-only'])) {
    throw new UsageError('--home and --read-only go with add');
  }
  switch (action) {
    case 'add':
      return add(file, name as string, values.home, values['read-only'] === true, io);
    case 'passwd':
      return passwd(file, name as string, io);
    case 'remove':
      return remove(file, name as string, io);
    default:
      return list(file, io);
  }
}

async function add(
  file: string,
  name: string,
  homeArg: string | undefined,
  readOnly: boolean,
  io: UserCommandIo,
) {
  if (!isValidUserName(name)) {
    throw new UsageError(
      `bad user name ${JSON.stringify(name)}: letters, digits, . _ @ -, at most 64, starting with a letter or digit`,
    );
  }
  const wanted =
    homeArg === undefined ? defaultHome(name) : homeArg.startsWith('/') ? homeArg : `/${homeArg}`;
  const home = normalizeHome(wanted);
  if (!home.ok) throw new UsageError(home.reason);
  const { users } = await loadUsersFile(file, { missingOk: true });
  if (users.some((u) => u.name === name))
    throw new CommandError(`user ${name} exists in ${file} (change the password with passwd)`);
  const password = await askPassword(name, io);
  const entry: UserEntry = {
    name,
    hash: await hashPassword(password),
    home: home.home,
    access: readOnly ? 'read-only' : 'read-write',
  };
  await writeUsersFile(file, [...users, entry]);
  io.stdout.write(`added user ${name} (home ${encodeToken(entry.home)}, ${entry.access}) to ${file}\n`);
  return 0;
}

async function passwd(file: string, name: string, io: UserCommandIo) {
  const { users } = await loadUsersFile(file);
  const index = users.findIndex((u) => u.name === name);
  if (index < 0) throw new CommandError(`no user ${name} in ${file}`);
  const password = await askPassword(name, io);
  const updated = users.slice();
  updated[index] = { ...(users[index] as UserEntry), hash: await hashPassword(password) };
  await writeUsersFile(file, updated);
  io.stdout.write(`changed the password of ${name} in ${file}\n`);
  return 0;
}

async function remove(file: string, name: string, io: UserCommandIo) {
  const { users } = await loadUsersFile(file);
  const kept = users.filter((u) => u.name !== name);
  if (kept.length === users.length) throw new CommandError(`no user ${name} in ${file}`);
  await writeUsersFile(file, kept);
  io.stdout.write(`removed user ${name} from ${file} (the home folder is left as it is)\n`);
  return 0;
}

async function list(file: string, io: UserCommandIo) {
  const { users, warnings } = await loadUsersFile(file);
  for (const warning of warnings) io.stderr.write(`filehive-server user: warning: ${warning}\n`);
  for (const user of users) io.stdout.write(`${user.name} ${encodeToken(user.home)} ${user.access}\n`);
  return 0;
}

/** On a terminal: twice, without echo. Otherwise: the first line of stdin. */
async function askPassword(name: string, io: UserCommandIo): Promise<string> {
  let password: string;
  if (io.stdin.isTTY === true) {
    password = await readSecretFromTerminal(io.stdin, io.stderr, `Password for ${name}: `);
    checkPassword(password);
    const again = await readSecretFromTerminal(io.stdin, io.stderr, 'Repeat the password: ');
    if (again !== password) throw new CommandError('the passwords differ; nothing was changed');
  } else {
    password = await readFirstLine(io.stdin).catch((err: unknown) => {
      throw err instanceof SecretCancelled ? new CommandError('no password on stdin') : err;
    });
    checkPassword(password);
  }
  return password;
}

function checkPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new CommandError(
      `the password must have at least ${MIN_PASSWORD_LENGTH} characters; nothing was changed`,
    );
  }
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new CommandError(`the password must be at most ${MAX_PASSWORD_BYTES} bytes; nothing was changed`);
  }
}

// The CLI's commands: one table drives dispatch, argument checks and HELP.

import type { CliSession } from './cli-session.js';
import { entryJson, runTransferCommand, transferOptions } from './cli-transfer.js';
import { parsePort } from './command-line.js';
import { FilehiveClientError } from './errors.js';
import { displayName, formatListing } from './format.js';

export type CommandOutcome = 'exit' | undefined;

export interface Command {
  name: string;
  aliases: string[];
  /** Arguments as shown in help, e.g. `host port`. */
  usage: string;
  summary: string;
  minArgs: number;
  maxArgs: number;
  /** Set for EXIT: the runner stops after it. */
  exits?: boolean;
  /** Options such as `--resume`, for HELP CMD and tab completion. */
  options?: readonly CommandOption[];
  /** More lines for HELP CMD. */
  notes?: readonly string[];
  /** It applies --retry itself (CONNECT: the password is asked once, then connecting is retried). */
  retriesItself?: true;
  /** `options`: the command's own options as given (cli-options.ts), by name. */
  run(session: CliSession, args: string[], options: ReadonlyMap<string, string | true>): Promise<void>;
}

export interface CommandOption {
  /** As typed, e.g. `--resume`. */
  name: string;
  summary: string;
  /** For an option that takes a value (`--parallel N`): its placeholder. */
  value?: string;
}

const arg = (args: string[], i: number): string => args[i] as string;

export const COMMANDS: readonly Command[] = [
  {
    name: 'CONNECT',
    aliases: ['OPEN'],
    usage: 'host port [user]',
    summary: 'connect (and log in as user), replacing the connection',
    notes: ['The password comes from FILEHIVE_PASSWORD, or is asked for without echo.'],
    minArgs: 2,
    maxArgs: 3,
    retriesItself: true,
    async run(session, args) {
      await session.connect(arg(args, 0), requirePort(arg(args, 1)), args[2]);
      session.print(
        `connected to ${session.address()} (${session.requireClient().server.software || 'filehive'})`,
      );
    },
  },
  {
    name: 'DISCONNECT',
    aliases: ['CLOSE'],
    usage: '',
    summary: 'close the connection',
    minArgs: 0,
    maxArgs: 0,
    async run(session) {
      const address = session.address();
      await session.disconnect();
      session.print(address ? `disconnected from ${address}` : 'not connected');
    },
  },
  {
    name: 'EXIT',
    aliases: ['QUIT', 'BYE'],
    usage: '',
    summary: 'disconnect and leave',
    minArgs: 0,
    maxArgs: 0,
    exits: true,
    run: async () => {},
  },
  {
    name: 'HELP',
    aliases: ['?'],
    usage: '[command]',
    summary: 'list the commands, or describe one',
    minArgs: 0,
    maxArgs: 1,
    async run(session, args) {
      for (const line of formatCommandHelp(args[0])) session.print(line);
    },
  },
  {
    name: 'UPLOAD',
    aliases: ['PUT'],
    usage: 'local... [remote]',
    summary: 'send local files (wildcards, -r) into the remote folder',
    options: [
      ...transferOptions(),
      {
        name: '--resume',
        summary: 'if cut off, the server keeps the bytes: the same UPLOAD --resume sends only the rest',
      },
    ],
    notes: [
      "With two or more names the last says where they go: a remote folder, or one file's new name.",
      'Wildcards * ? [abc] work in the last part of a local name; -r sends whole folders.',
      'The file appears on the server only once every byte arrived and the checksums match.',
      'Ctrl-C cancels it: the server discards it (keeps it, with --resume), and the prompt reconnects.',
    ],
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    run: (session, args, options) => runTransferCommand(session, 'upload', args, options),
  },
  {
    name: 'DOWNLOAD',
    aliases: ['GET'],
    usage: 'remote... [local]',
    summary: 'fetch remote files (wildcards, -r) into the download folder',
    options: [
      ...transferOptions(),
      {
        name: '--resume',
        summary: 'if cut off, .NAME.filehive-partial stays: the same DOWNLOAD --resume fetches the rest',
      },
    ],
    notes: [
      "With two or more names the last says where they go: a local folder, or one file's new name.",
      'Wildcards * ? [abc] work in the last part of a remote name (one DIR); -r fetches whole folders.',
      'A local file of that name is replaced only once all bytes arrived and the checksum matched.',
      'Ctrl-C cancels it without leaving a partial file (unless --resume), and the prompt reconnects.',
    ],
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    run: (session, args, options) => runTransferCommand(session, 'download', args, options),
  },
  {
    name: 'DELETE',
    aliases: ['DEL', 'RM'],
    usage: 'path',
    summary: 'delete a remote file',
    minArgs: 1,
    maxArgs: 1,
    async run(session, args) {
      session.print(`deleted ${displayName(await session.requireClient().delete(arg(args, 0)))}`);
    },
  },
  {
    name: 'DIR',
    aliases: ['LS', 'LIST'],
    usage: '[path]',
    summary: 'list a remote folder (default: the current one)',
    minArgs: 0,
    maxArgs: 1,
    async run(session, args) {
      const entries = await session.requireClient().list(args[0]);
      if (session.settings.json) for (const entry of entries) session.emit(entryJson(entry));
      else for (const line of formatListing(entries)) session.print(line);
    },
  },
  {
    name: 'MKDIR',
    aliases: ['MD'],
    usage: 'path',
    summary: 'create a remote folder',
    minArgs: 1,
    maxArgs: 1,
    async run(session, args) {
      session.print(`created ${displayName(await session.requireClient().mkdir(arg(args, 0)))}`);
    },
  },
  {
    name: 'CHDIR',
    aliases: ['CD'],
    usage: 'path',
    summary: 'change the remote folder',
    minArgs: 1,
    maxArgs: 1,
    async run(session, args) {
      session.print(`now in ${displayName(await session.requireClient().chdir(arg(args, 0)))}`);
    },
  },
  {
    name: 'RMDIR',
    aliases: ['RD'],
    usage: 'path',
    summary: 'remove an empty remote folder',
    minArgs: 1,
    maxArgs: 1,
    async run(session, args) {
      session.print(`removed ${displayName(await session.requireClient().rmdir(arg(args, 0)))}`);
    },
  },
  {
    name: 'MOVE',
    aliases: ['MV', 'RENAME'],
    usage: 'src dst',
    summary: 'move src into folder dst, or rename it (no overwrite)',
    minArgs: 2,
    maxArgs: 2,
    async run(session, args) {
      const moved = await session.requireClient().move(arg(args, 0), arg(args, 1));
      session.print(`moved ${displayName(moved.from)} to ${displayName(moved.to)}`);
    },
  },
  {
    name: 'PWD',
    aliases: [],
    usage: '',
    summary: 'show the remote folder',
    minArgs: 0,
    maxArgs: 0,
    async run(session) {
      session.print(displayName(await session.requireClient().pwd()));
    },
  },
];

export function findCommand(name: string): Command | undefined {
  const upper = name.toUpperCase();
  return COMMANDS.find((c) => c.name === upper || c.aliases.includes(upper));
}

/** Checks the argument count against the table, naming the fix. */
export function checkArgs(command: Command, args: string[]): void {
  if (args.length >= command.minArgs && args.length <= command.maxArgs) return;
  throw new FilehiveClientError('USAGE', `usage: ${[command.name, command.usage].filter(Boolean).join(' ')}`);
}

function requirePort(text: string): number {
  const port = parsePort(text);
  if (port === null)
    throw new FilehiveClientError('USAGE', `port must be a number from 1 to 65535, not ${text}`);
  return port;
}

/** The command section of --help and HELP: one line per command. */
export function formatCommandList(indent = '  '): string[] {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.usage}`.length));
  return COMMANDS.map((c) => {
    const also = c.aliases.length > 0 ? `; also ${c.aliases.join(', ')}` : '';
    return `${indent}${`${c.name} ${c.usage}`.padEnd(width)}  ${c.summary}${also}`;
  });
}

/** HELP's output: the list, or one command's usage, aliases and summary. */
export function formatCommandHelp(name?: string): string[] {
  if (name === undefined) {
    return [
      'commands (case-insensitive; quote arguments with spaces: "my file.txt"):',
      ...formatCommandList(),
      'HELP command describes one command and its options; Tab completes commands and names.',
    ];
  }
  const command = findCommand(name);
  if (!command) throw new FilehiveClientError('USAGE', `unknown command ${name.toUpperCase()} (try HELP)`);
  const lines = [`${[command.name, command.usage].filter(Boolean).join(' ')}: ${command.summary}`];
  if (command.aliases.length > 0) lines.push(`also: ${command.aliases.join(', ')}`);
  const options = command.options ?? [];
  if (options.length > 0) {
    const label = (o: CommandOption) => (o.value ? `${o.name} ${o.value}` : o.name);
    const width = Math.max(...options.map((o) => label(o).length));
    lines.push('options:', ...options.map((o) => `  ${label(o).padEnd(width)}  ${o.summary}`));
  }
  return [...lines, ...(command.notes ?? [])];
}

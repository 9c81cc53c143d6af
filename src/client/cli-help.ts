// `filehive --help`: the CLI's interface, in one place.
import { COMMANDS, formatCommandList } from './cli-commands.js';
import { formatExitCodes } from './exit-codes.js';

const COLUMNS = 100;

/** `left` then `text`, the text wrapped at word breaks to stay within 100 columns, aligned. */
export function wrapAfter(left: string, text: string): string[] {
  const lines: string[] = [];
  let line = left;
  for (const word of text.split(' ')) {
    if (line.length > left.length && line.length + 1 + word.length > COLUMNS) {
      lines.push(line);
      line = ' '.repeat(left.length) + word;
    } else line += line.length > left.length ? ` ${word}` : word;
  }
  return [...lines, line];
}

/** Each command's own options, under the command's name. */
function formatCommandOptions(): string[] {
  return COMMANDS.filter((c) => (c.options ?? []).length > 0).flatMap((c) => {
    const options = c.options ?? [];
    const label = (o: (typeof options)[number]) => (o.value ? `${o.name} ${o.value}` : o.name);
    const width = Math.max(...options.map((o) => label(o).length));
    return [
      `  ${c.name}:`,
      ...options.flatMap((o) => wrapAfter(`    ${label(o).padEnd(width)}  `, o.summary)),
    ];
  });
}

export function formatUsage(): string {
  return `Usage: filehive [options] [HOST PORT]

Command-line client for a filehive server (protocol filehive/1).

With HOST PORT it connects first. Commands are read from -b or -c when given; otherwise from an
interactive prompt when stdin is a terminal, or else from stdin, one per line.

Options:
  -b, --batch FILE        run the commands in FILE, one per line ("-" reads stdin)
  -c, --commands "LIST"   run commands separated by ';' (a ';' inside double quotes is kept)
      --download-dir DIR  folder DOWNLOAD saves into (default: the current folder)
      --checksum ALGO     transfer checksum: xxh3-64 or sha256 (default: the server's first choice)
      --tls               speak TLS; the server's certificate must be valid for HOST and trusted
      --ca FILE           trust the CA (or self-signed certificate) in FILE, PEM; implies --tls
  -u, --user NAME         log in as NAME after connecting (the password: see Accounts)
      --progress          show transfer progress on stderr even when it is not a terminal
      --no-progress       never show transfer progress (default: only when stderr is a terminal)
      --no-history        do not read or save the prompt's command history (see Interactive mode)
      --parallel N        transfers of several files: up to N at once over N connections (1-32)
      --retry N           try a failed command (or file) again up to N times (see Retries)
      --json              DIR entries, transfers and totals as JSON, one object per line (Output)
      --no-verify         keep downloads without checking their checksum (see Integrity)
  -h, --help              show this help and exit
      --version           print the version and exit

Commands (case-insensitive):
${formatCommandList().join('\n')}

Command options (before or after the names; -- ends them):
${formatCommandOptions().join('\n')}

Arguments are separated by spaces. An argument with spaces or quotes is written in double quotes,
with the escapes \\" \\\\ \\n \\t \\xHH, exactly as on the wire: UPLOAD "my report \\"final\\".pdf".
Remote paths are relative to the remote folder unless they start with /. UPLOAD stores a file under
its own name in the remote folder; DOWNLOAD saves under the remote file's name, replacing a local
file of that name only once the whole file arrived and its checksum matched.

Accounts:
  A server started with --users asks every session to log in first (otherwise commands fail with
  AUTH_REQUIRED). With --user NAME, or CONNECT host port NAME, the password comes from the
  environment variable FILEHIVE_PASSWORD when set; otherwise it is asked for on the terminal,
  without echo. It is never taken from the command line. A wrong name or password is AUTH_FAILED;
  after too many failures the server answers BANNED. Once logged in, / is the account's home folder.

Many files (UPLOAD, DOWNLOAD):
  Wildcards * ? [abc] [!abc] [a-z] work in the last part of a name (logs/*.log, not */a.log): UPLOAD
  matches local files, DOWNLOAD the remote folder's listing. * and ? do not match a leading dot;
  [*] is a literal *. -r takes folders with everything in them, creating folders on the other side.
  With two or more names the last one says where they go: an existing folder (remote for UPLOAD,
  local for DOWNLOAD, relative to --download-dir), or, for one file, its new name. Every name is
  checked before the first byte moves. Each file prints its line; a command that could give several
  files ends with a total, and fails with PARTIAL if any file failed (the others are kept):
    total: 20 files, 1.2 MiB in 0.45 s (2.6 MiB/s), 0 failed
  --parallel N sends up to N files at once over N connections, each opened like the first (server,
  TLS, account, folder); small files also go out pipelined on one connection.

Output:
  Transfers print one line:  uploaded report.pdf 12.4 MiB in 0.21 s (59.0 MiB/s)
  DIR prints one line per entry: type (d folder, - file, ? other), size in bytes, modification time
  (YYYY-MM-DD HH:MM, UTC) and name, quoted when it contains spaces or special characters.
  Other commands print a short confirmation. While a transfer runs, a progress line on stderr shows
  a bar, percent, bytes, the current rate and the time left; only when stderr is a terminal, unless
  --progress. It is erased before the summary line, which stays the same either way.
  Errors print one line on stderr:  error: CODE: message
  Codes are the server's (NOT_FOUND, EXISTS, BUSY, RESUME_MISMATCH, ...) or the client's own:
  CONNECT_FAILED, CONNECTION_LOST, PROTOCOL_ERROR, LOCAL_ERROR, CHECKSUM_MISMATCH, NOT_CONNECTED,
  CANCELLED, UNSUPPORTED (the server lacks a feature, e.g. resuming), PARTIAL, USAGE.
  --json: stdout has one JSON object per line instead: {"event":"entry",...} per DIR entry,
  {"event":"upload"|"download","status":"ok"|"failed",...} per file, {"event":"total",...} after
  several files, {"event":"message","text":...} for other commands. Errors stay text on stderr.

Retries (--retry N):
  Waits 0.5 s, 1 s, 2 s, ... (at most 10 s, each cut by up to half at random) between tries. BUSY,
  LOCK_LOST and TOO_MANY_CONNECTIONS are retried for every command. A lost connection
  (CONNECTION_LOST, CONNECT_FAILED, TIMEOUT, SHUTTING_DOWN) is retried after reconnecting to the
  same server, account and folder, for connecting, DIR, CHDIR, PWD and each file of a transfer; not
  for MKDIR, RMDIR, DELETE and MOVE, which may have been done before the connection broke. Other
  errors (NOT_FOUND, AUTH_FAILED, CHECKSUM_MISMATCH, TOO_LARGE, ...) are never retried.

Integrity:
  UPLOAD: the server compares the bytes with the client's checksum and keeps nothing on a mismatch,
  always. DOWNLOAD: the client compares them with the server's checksum before keeping the file;
  --no-verify skips that check (and the hashing), so a file damaged on the way would be kept.

Resuming (UPLOAD --resume, DOWNLOAD --resume):
  A transfer started with --resume that is cut off (network, Ctrl-C, a killed client) leaves its
  bytes behind: an upload on the server (for the server's --partial-ttl, default 24 h), a download
  in .NAME.filehive-partial in the download folder. Running the same command with --resume again
  sends only the rest. Before that, the server checks that the SHA-256 of the part both sides have
  is the same; if not, it refuses with RESUME_MISMATCH, the partial is discarded, and the next
  --resume starts over. The final checksum always covers the whole file.

Interactive mode:
  The prompt shows the server and remote folder:  filehive 127.0.0.1:9400:/docs>
  An error is printed and the prompt comes back. EXIT or end of input (Ctrl-D) leaves.
  Ctrl-C during a command cancels it: the connection is closed (the server discards a partial
  upload, a partial download is deleted), then the client reconnects to the same server and
  folder. At the prompt Ctrl-C clears the line; on an empty line, a second Ctrl-C leaves.
  Tab completes command names, remote names (UPLOAD: local paths), quoting them when needed.
  Up and down recall earlier commands, also those of earlier sessions: the newest 1000 are kept
  in $XDG_STATE_HOME/filehive/history (default ~/.local/state/filehive/history, mode 0600).
  FILEHIVE_HISTORY=FILE uses another file, FILEHIVE_HISTORY=off or --no-history none. Lines
  typed with a leading space are not saved.

Batch mode (-b, -c, or stdin that is not a terminal):
  Blank lines and lines starting with # are skipped. The first failing command stops the run with
  its exit status (below), and its error names the line (-b, stdin) or position (-c) of the command.
  A command written with a leading - (-DELETE old.txt) goes on after a failure, like sftp -b.
  Ctrl-C cancels the running command (a partial download is deleted, the server discards a partial
  upload) and stops the run with status 130; a second Ctrl-C ends the client at once.

Exit status (batch mode; the same for connecting to HOST PORT):
${formatExitCodes()
  .flatMap((row) => wrapAfter(row.slice(0, 6), row.slice(6)))
  .join('\n')}

Examples:
  filehive 127.0.0.1 9400
  filehive -c 'MKDIR docs; CD docs; UPLOAD "my report.pdf"; DIR' 127.0.0.1 9400
  filehive --download-dir ~/Downloads -b nightly.txt files.example.org 9400
  FILEHIVE_PASSWORD=... filehive --user alice -c 'UPLOAD report.pdf' files.example.org 9400
  filehive --ca ca.pem -c DIR files.example.org 9400
  filehive --parallel 4 --retry 3 -c 'CD logs; UPLOAD -r 2026-11 /archive' 127.0.0.1 9400
  filehive --json -c 'DOWNLOAD "*.log" ./logs' 127.0.0.1 9400
`;
}

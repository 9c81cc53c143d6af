// `filehive --help`: the CLI's interface, in one place.
import { formatCommandList } from './cli-commands.js';

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
  -h, --help              show this help and exit
      --version           print the version and exit

Commands (case-insensitive):
${formatCommandList().join('\n')}

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
  CANCELLED, UNSUPPORTED (the server lacks a feature, e.g. resuming), USAGE.

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
  Blank lines and lines starting with # are skipped. The first failing command stops the run, and
  its error names the line (-b, stdin) or position (-c) of the command.

Exit status:
  0  every command succeeded (interactive: left with EXIT or end of input)
  1  a command failed (batch mode), or connecting to HOST PORT failed
  2  usage error: unknown option, bad option value, wrong number of arguments

Examples:
  filehive 127.0.0.1 9400
  filehive -c 'MKDIR docs; CD docs; UPLOAD "my report.pdf"; DIR' 127.0.0.1 9400
  filehive --download-dir ~/Downloads -b nightly.txt files.example.org 9400
  FILEHIVE_PASSWORD=... filehive --user alice -c 'UPLOAD report.pdf' files.example.org 9400
  filehive --ca ca.pem -c DIR files.example.org 9400
`;
}

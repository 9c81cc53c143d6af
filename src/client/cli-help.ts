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
  Other commands print a short confirmation. On a terminal, transfers show progress on stderr.
  Errors print one line on stderr:  error: CODE: message
  Codes are the server's (NOT_FOUND, EXISTS, BUSY, ...) or the client's own: CONNECT_FAILED,
  CONNECTION_LOST, PROTOCOL_ERROR, LOCAL_ERROR, CHECKSUM_MISMATCH, NOT_CONNECTED, CANCELLED, USAGE.

Interactive mode:
  The prompt shows the server and remote folder:  filehive 127.0.0.1:9400:/docs>
  An error is printed and the prompt comes back. EXIT or end of input (Ctrl-D) leaves; Ctrl-C
  clears the line, or cancels a running command by closing the connection.

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

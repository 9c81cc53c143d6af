// The help text is the CLI's interface spec: it must name every command, alias and error code.
import test from 'ava';
import { FLAGS } from '../../src/client/cli.js';
import { COMMANDS, formatCommandHelp } from '../../src/client/cli-commands.js';
import { formatUsage } from '../../src/client/cli-help.js';
import { CLIENT_ERROR_CODES } from '../../src/client/errors.js';

const usage = formatUsage();

test('--help lists every command with its aliases', (t) => {
  for (const command of COMMANDS) {
    t.regex(usage, new RegExp(`^  ${command.name} `, 'm'), command.name);
    for (const alias of command.aliases) t.true(usage.includes(alias), alias);
  }
});

test('--help names every client-side error code', (t) => {
  for (const code of Object.keys(CLIENT_ERROR_CODES)) t.true(usage.includes(code), code);
});

test('--help lines fit 100 columns', (t) => {
  for (const line of usage.split('\n')) t.true(line.length <= 100, line);
});

test('HELP CMD describes one command and accepts aliases', (t) => {
  t.deepEqual(formatCommandHelp('cd'), ['CHDIR path: change the remote folder', 'also: CD']);
  t.throws(() => formatCommandHelp('nope'), { message: /unknown command NOPE/ });
});

test('--help lists every option', (t) => {
  for (const [name, flag] of Object.entries(FLAGS)) {
    t.regex(usage, new RegExp(`^ {2}(-\\w, )? *--${name}\\b`, 'm'), name);
    if ('short' in flag) t.true(usage.includes(`-${flag.short}, --${name}`), name);
  }
});

test('HELP CMD adds options and notes when a command has them', (t) => {
  const lines = formatCommandHelp('get');
  t.regex(lines[0] as string, /^DOWNLOAD .*: fetch /);
  t.true(lines.some((line) => line.includes('Ctrl-C cancels')));
  const download = COMMANDS.find((c) => c.name === 'DOWNLOAD');
  for (const option of download?.options ?? []) t.true(lines.some((l) => l.startsWith(`  ${option.name} `)));
});

// The help text is the CLI's interface spec: it must name every command, alias and error code.
import test from 'ava';
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

import test from 'ava';
import { findCommand } from '../../src/client/cli-commands.js';
import { isSkippable, parseCommandLine, splitCommandList } from '../../src/client/command-line.js';
import { FilehiveClientError } from '../../src/client/errors.js';

test('splitCommandList splits on ; outside double quotes', (t) => {
  t.deepEqual(splitCommandList('MKDIR a; CD a;DIR'), ['MKDIR a', ' CD a', 'DIR']);
  t.deepEqual(splitCommandList('UPLOAD "a;b.txt"; PWD'), ['UPLOAD "a;b.txt"', ' PWD']);
  t.deepEqual(splitCommandList('PWD;'), ['PWD', '']);
  t.deepEqual(splitCommandList(''), ['']);
});

test('splitCommandList honours escaped quotes inside quotes, like the tokenizer', (t) => {
  t.deepEqual(splitCommandList('UPLOAD "a\\";b"; PWD'), ['UPLOAD "a\\";b"', ' PWD']);
  t.deepEqual(splitCommandList('UPLOAD "a\\\\"; PWD'), ['UPLOAD "a\\\\"', ' PWD']);
  // Outside quotes a backslash is an ordinary character (PROTOCOL.md: bare tokens).
  t.deepEqual(splitCommandList('UPLOAD a\\; PWD'), ['UPLOAD a\\', ' PWD']);
});

test('parseCommandLine upper-cases the command and keeps arguments exact', (t) => {
  t.deepEqual(parseCommandLine('  upload   report.pdf '), { name: 'UPLOAD', args: ['report.pdf'] });
  t.deepEqual(parseCommandLine('move "my file.txt" "dir with \\"quotes\\""'), {
    name: 'MOVE',
    args: ['my file.txt', 'dir with "quotes"'],
  });
  t.deepEqual(parseCommandLine('upload "\\x41\\t"'), { name: 'UPLOAD', args: ['A\t'] });
  t.deepEqual(parseCommandLine('cd C:\\dir'), { name: 'CD', args: ['C:\\dir'] });
  t.is(parseCommandLine('   '), null);
});

test('parseCommandLine keeps key=value arguments whole', (t) => {
  t.deepEqual(parseCommandLine('mkdir a=b'), { name: 'MKDIR', args: ['a=b'] });
  t.deepEqual(parseCommandLine('mkdir a="b c"'), { name: 'MKDIR', args: ['a=b c'] });
  t.deepEqual(parseCommandLine('mkdir "x=y"'), { name: 'MKDIR', args: ['x=y'] });
});

test('parseCommandLine reports bad quoting as USAGE', (t) => {
  for (const bad of ['cd "open', 'cd "bad \\q escape"', 'cd a"b"']) {
    const err = t.throws(() => parseCommandLine(bad), { instanceOf: FilehiveClientError });
    t.is(err?.code, 'USAGE', bad);
  }
});

test('isSkippable: blank lines and # comments', (t) => {
  t.true(isSkippable(''));
  t.true(isSkippable('   \t'));
  t.true(isSkippable('# upload later'));
  t.true(isSkippable('  #x'));
  t.false(isSkippable('PWD # not a comment'));
});

test('findCommand knows names and aliases, case-insensitively', (t) => {
  t.is(findCommand('quit')?.name, 'EXIT');
  t.is(findCommand('Cd')?.name, 'CHDIR');
  t.is(findCommand('dir')?.name, 'DIR');
  t.is(findCommand('frobnicate'), undefined);
});

// Tab completion rules: the word under the cursor, argument kinds, and candidates quoted the way the
// command line reads them.
import test from 'ava';
import { parseCommandLine } from '../../src/client/command-line.js';
import {
  argumentIndex,
  argumentKind,
  completeCommandName,
  completePath,
  findWordAtCursor,
  splitPathPrefix,
} from '../../src/client/completion.js';

test('findWordAtCursor: the words before, and the unfinished one decoded', (t) => {
  t.deepEqual(findWordAtCursor(''), { before: [], raw: '', value: '', quoted: false });
  t.deepEqual(findWordAtCursor('DOWN'), { before: [], raw: 'DOWN', value: 'DOWN', quoted: false });
  t.deepEqual(findWordAtCursor('get '), { before: ['get'], raw: '', value: '', quoted: false });
  t.deepEqual(findWordAtCursor('mv "a b" "c\\"d'), {
    before: ['mv', 'a b'],
    raw: '"c\\"d',
    value: 'c"d',
    quoted: true,
  });
  t.deepEqual(findWordAtCursor('get "x\\x41\\'), {
    before: ['get'],
    raw: '"x\\x41\\',
    value: 'xA',
    quoted: true,
  });
  t.deepEqual(findWordAtCursor('get "a b" '), { before: ['get', 'a b'], raw: '', value: '', quoted: false });
});

test('command names complete in the case they are typed in; aliases when no name fits', (t) => {
  t.deepEqual(completeCommandName('DOWN'), ['DOWNLOAD ']);
  t.deepEqual(completeCommandName('down'), ['download ']);
  t.deepEqual(completeCommandName('D').sort(), ['DELETE ', 'DIR ', 'DISCONNECT ', 'DOWNLOAD ']);
  t.deepEqual(completeCommandName('ge'), ['get ']);
  t.deepEqual(completeCommandName('XYZ'), []);
});

test('argument kinds: UPLOAD is local, folders for CD, HELP takes commands, aliases count', (t) => {
  t.is(argumentKind('UPLOAD', 0), 'local');
  t.is(argumentKind('put', 0), 'local');
  t.is(argumentKind('UPLOAD', 3), 'local');
  t.is(argumentKind('get', 2), 'remote');
  t.is(argumentKind('get', 0), 'remote');
  t.is(argumentKind('cd', 0), 'remote-folder');
  t.is(argumentKind('MOVE', 1), 'remote');
  t.is(argumentKind('MOVE', 2), 'none');
  t.is(argumentKind('help', 0), 'command');
  t.is(argumentKind('CONNECT', 0), 'none');
  t.is(argumentKind('nonsense', 0), 'none');
  t.is(argumentIndex(['MOVE', '--x', 'a']), 1);
});

test('splitPathPrefix: folder part and name prefix', (t) => {
  t.deepEqual(splitPathPrefix('re'), { folder: '', prefix: 're' });
  t.deepEqual(splitPathPrefix('docs/re'), { folder: 'docs/', prefix: 're' });
  t.deepEqual(splitPathPrefix('/'), { folder: '/', prefix: '' });
});

const entries = [
  { name: 'report.pdf', dir: false },
  { name: 'reports', dir: true },
  { name: 'my file.txt', dir: false },
  { name: 'my folder', dir: true },
  { name: '.hidden', dir: false },
  { name: 'quote"d', dir: false },
];

test('path candidates: files end with a space, folders with a slash; hidden names need a dot', (t) => {
  t.deepEqual(completePath({ value: 're', quoted: false }, entries), ['report.pdf ', 'reports/']);
  t.deepEqual(completePath({ value: 're', quoted: false }, entries, true), ['reports/']);
  t.deepEqual(completePath({ value: 'docs/rep', quoted: false }, entries), [
    'docs/report.pdf ',
    'docs/reports/',
  ]);
  t.deepEqual(completePath({ value: '.', quoted: false }, entries), ['.hidden ']);
  t.deepEqual(completePath({ value: 'zzz', quoted: false }, entries), []);
});

test('names that need quotes are offered quoted, and all candidates share the opening quote', (t) => {
  t.deepEqual(completePath({ value: 'my', quoted: false }, entries), ['"my file.txt" ', '"my folder/']);
  t.deepEqual(completePath({ value: 'my f', quoted: true }, entries), ['"my file.txt" ', '"my folder/']);
  t.deepEqual(completePath({ value: 'quo', quoted: false }, entries), ['"quote\\"d" ']);
  t.deepEqual(completePath({ value: 'rep', quoted: true }, entries), ['"report.pdf" ', '"reports/']);
});

test('a completed line parses back to the real name', (t) => {
  for (const candidate of completePath({ value: '', quoted: false }, entries)) {
    if (candidate.endsWith('/')) continue;
    const parsed = parseCommandLine(`DOWNLOAD ${candidate}`);
    t.true(
      entries.some((e) => e.name === parsed?.args[0]),
      candidate,
    );
  }
});

// Wildcards of UPLOAD and DOWNLOAD: what a pattern matches, and where a path's pattern is.
import test from 'ava';
import { compileGlob, hasWildcard, splitLast } from '../../src/client/glob.js';

const matches = (pattern: string, names: string[]) => names.filter(compileGlob(pattern));

test('* and ? match any run and any one character', (t) => {
  const names = ['a.log', 'b.log', 'ab.log', 'a.txt', '.log', 'log'];
  t.deepEqual(matches('*.log', names), ['a.log', 'b.log', 'ab.log']);
  t.deepEqual(matches('?.log', names), ['a.log', 'b.log']);
  t.deepEqual(matches('a*', names), ['a.log', 'ab.log', 'a.txt']);
  t.deepEqual(matches('*', names), ['a.log', 'b.log', 'ab.log', 'a.txt', 'log']);
  t.deepEqual(matches('*g', ['log', 'lg', 'g', 'gx']), ['log', 'lg', 'g']);
  t.deepEqual(matches('a*b*c', ['abc', 'aXbYc', 'acb', 'abcc', 'abcb']), ['abc', 'aXbYc', 'abcc']);
});

test('sets, ranges and negated sets match one character', (t) => {
  const names = ['a1', 'b1', 'c1', 'd1', 'a-', 'A1'];
  t.deepEqual(matches('[ab]1', names), ['a1', 'b1']);
  t.deepEqual(matches('[a-c]1', names), ['a1', 'b1', 'c1']);
  t.deepEqual(matches('[!a-c]1', names), ['d1', 'A1']);
  t.deepEqual(matches('[^a-c]1', names), ['d1', 'A1']);
  t.deepEqual(matches('a[-1]', names), ['a1', 'a-']);
  // `]` first in a set belongs to it; `[*]` is how to write a literal star.
  t.deepEqual(matches('[]x]', [']', 'x', 'y']), [']', 'x']);
  t.deepEqual(matches('a[*]', ['a*', 'ab']), ['a*']);
});

test('a lone [ is an ordinary character', (t) => {
  t.false(hasWildcard('a[b'));
  t.deepEqual(matches('a[b', ['a[b', 'ab']), ['a[b']);
  t.deepEqual(matches('a[*', ['a[', 'a[xyz', 'ab']), ['a[', 'a[xyz']);
});

test('a leading dot is matched only by a pattern that starts with one', (t) => {
  const names = ['.hidden', 'shown', '.x.log'];
  t.deepEqual(matches('*', names), ['shown']);
  t.deepEqual(matches('?hidden', names), []);
  t.deepEqual(matches('.*', names), ['.hidden', '.x.log']);
  t.deepEqual(matches('.*.log', names), ['.x.log']);
});

test('** is the same as * within a name, and unicode counts as one character', (t) => {
  t.deepEqual(matches('**.log', ['a.log', 'x/y.log']), ['a.log', 'x/y.log']);
  t.deepEqual(matches('?.txt', ['é.txt', '😀.txt', 'ab.txt']), ['é.txt', '😀.txt']);
});

test('hasWildcard: only *, ? and complete sets', (t) => {
  for (const p of ['*.log', 'a?', '[ab]', 'x[!y]z', '**']) t.true(hasWildcard(p), p);
  for (const p of ['plain.txt', 'a[b', 'a]b', 'dir/file', '']) t.false(hasWildcard(p), p);
});

test('a long name against many stars stays fast (no exponential backtracking)', (t) => {
  const started = Date.now();
  const match = compileGlob('*a*a*a*a*a*a*a*a*b');
  t.false(match('a'.repeat(255)));
  t.true(Date.now() - started < 1000);
});

test('splitLast: folder and last component', (t) => {
  t.deepEqual(splitLast('*.log'), { dir: '', name: '*.log' });
  t.deepEqual(splitLast('logs/*.log'), { dir: 'logs', name: '*.log' });
  t.deepEqual(splitLast('/a/b/c'), { dir: '/a/b', name: 'c' });
  t.deepEqual(splitLast('/x'), { dir: '/', name: 'x' });
  t.deepEqual(splitLast('docs/'), { dir: '', name: 'docs' });
  t.deepEqual(splitLast('/'), { dir: '/', name: '' });
});

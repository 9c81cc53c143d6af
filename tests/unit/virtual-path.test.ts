import test from 'ava';
import fc from 'fast-check';
import { FilehiveError } from '../../src/errors.js';
import {
  isPlaceholderName,
  isReservedName,
  isWithin,
  resolveVirtualPath,
} from '../../src/storage/virtual-path.js';

const badPath = (cwd: string, input: string) => {
  const err = (() => {
    try {
      resolveVirtualPath(cwd, input);
      return null;
    } catch (e) {
      return e;
    }
  })();
  return err instanceof FilehiveError && err.code === 'BAD_PATH';
};

test('relative and absolute paths resolve against the session folder', (t) => {
  t.is(resolveVirtualPath('/', 'a'), '/a');
  t.is(resolveVirtualPath('/docs', 'a.bin'), '/docs/a.bin');
  t.is(resolveVirtualPath('/docs', '/x'), '/x');
  t.is(resolveVirtualPath('/docs', '..'), '/');
  t.is(resolveVirtualPath('/docs/sub', '../other/./f'), '/docs/other/f');
  t.is(resolveVirtualPath('/', './/a//b/'), '/a/b');
  t.is(resolveVirtualPath('/', '.'), '/');
  t.is(resolveVirtualPath('/', '/'), '/');
});

test('legal names that look like tricks stay legal', (t) => {
  t.is(resolveVirtualPath('/', '..notes'), '/..notes');
  t.is(resolveVirtualPath('/', '...'), '/...');
  t.is(resolveVirtualPath('/', 'a..b'), '/a..b');
  t.is(resolveVirtualPath('/', 'filehive'), '/filehive');
  t.is(resolveVirtualPath('/', '.filehiv'), '/.filehiv');
  t.is(resolveVirtualPath('/', 'my file %2e%2e'), '/my file %2e%2e');
  t.is(resolveVirtualPath('/', 'a\\..\\b'), '/a\\..\\b');
});

test('.. above the root, NUL, reserved names, over-long names are BAD_PATH', (t) => {
  for (const input of ['..', '../x', '/..', 'a/../..', '/a/../../b']) t.true(badPath('/', input), input);
  t.true(badPath('/docs', '../..'));
  t.true(badPath('/', ''));
  t.true(badPath('/', 'a\0b'));
  for (const input of ['.filehive', '.filehive/locks', 'a/.filehive-x.tmp', '.FILEHIVE', '.FileHive-1']) {
    t.true(badPath('/', input), input);
  }
  t.true(badPath('/', 'n'.repeat(256)));
  t.false(badPath('/', 'n'.repeat(255)));
  t.true(badPath('/', 'é'.repeat(128)), '256 bytes in 128 letters');
  t.true(badPath('/', 'd/'.repeat(2100)));
});

test('property: a resolved path is normalized and never climbs out', (t) => {
  const segment = fc.oneof(fc.constantFrom('..', '.', '', 'a', 'b c', 'é'), fc.string({ maxLength: 5 }));
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 12 }), (segments) => {
      const input = segments.join('/');
      try {
        const out = resolveVirtualPath('/', input || '.');
        t.true(out.startsWith('/'));
        t.false(out.split('/').includes('..'));
        t.false(out.split('/').includes('.'));
        t.false(out.length > 1 && out.endsWith('/'));
      } catch (err) {
        t.true(err instanceof FilehiveError && err.code === 'BAD_PATH');
      }
    }),
    { numRuns: 500 },
  );
});

test('helpers: reserved names, containment', (t) => {
  t.true(isReservedName('.filehive-abc.tmp'));
  t.false(isReservedName('x.filehive'));
  t.true(isWithin('/a', '/a/b'));
  t.true(isWithin('/a', '/a'));
  t.false(isWithin('/a', '/ab'));
  t.true(isWithin('/', '/x'));
});

test('network filesystem placeholders (sshfs/FUSE, NFS) are reserved; names that merely look alike are not', (t) => {
  for (const name of [
    '.fuse_hidden0000012200000004',
    '.FUSE_HIDDEN0000ABCD0000EF01',
    '.nfs000000000012345600000001',
  ]) {
    t.true(isPlaceholderName(name), name);
    t.true(isReservedName(name), name);
    const err = t.throws(() => resolveVirtualPath('/', `d/${name}`));
    t.is((err as { code?: string }).code, 'BAD_PATH');
  }
  for (const name of [
    '.fuse_hidden',
    '.fuse_hidden000001220000000',
    '.fuse_hidden0000012200000004x',
    '.nfs',
    '.nfsconfig',
    '.nfs00000000001234560000000',
    'a.fuse_hidden0000012200000004',
  ]) {
    t.false(isReservedName(name), name);
    t.is(resolveVirtualPath('/', name), `/${name}`);
  }
});

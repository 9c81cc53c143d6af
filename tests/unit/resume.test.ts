// The pure and file-level parts of resuming (docs/PROTOCOL.md#resume): the resume options of the
// codec, partial names and their sweep, the CLI's per-command options, and --partial-ttl.
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { splitCommandOptions } from '../../src/client/cli-options.js';
import { formatTransfer } from '../../src/client/format.js';
import { partialDownloadName } from '../../src/client/resume.js';
import { loadServerConfig } from '../../src/config/server-config.js';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { parseRequest } from '../../src/protocol/messages.js';
import {
  isPartialExpired,
  lockIdOfPartialName,
  partialNameFor,
  statPartial,
  sweepPartials,
} from '../../src/storage/partial-store.js';
import { bytes } from '../_helpers/protocol.js';

const HEX = 'ab'.repeat(32);

function refusal(line: string): string | null {
  const result = parseRequest(bytes(line));
  return result.ok ? null : result.message;
}

test('resume options: offset needs a hash past 0, stays within the size, and belongs to resume=yes', (t) => {
  t.regex(refusal(`UPLOAD a 10 offset=4 sha256=${HEX}`) ?? '', /needs resume=yes/);
  t.regex(refusal('UPLOAD a 10 resume=yes offset=4') ?? '', /needs sha256/);
  t.regex(refusal(`UPLOAD a 10 resume=yes offset=11 sha256=${HEX}`) ?? '', /larger than the size/);
  t.regex(refusal(`UPLOAD a 10 resume=yes offset=-1 sha256=${HEX}`) ?? '', /offset must be/);
  t.regex(refusal(`UPLOAD a 10 resume=yes offset=4 sha256=${HEX.toUpperCase()}`) ?? '', /lower-case hex/);
  t.regex(refusal(`UPLOAD a 10 resume=yes offset=4 sha256=${HEX.slice(2)}`) ?? '', /64/);
  t.regex(refusal('UPLOAD a 10 resume=1') ?? '', /resume must be yes or no/);
  t.regex(refusal(`DOWNLOAD a sha256=${HEX}`) ?? '', /sha256 needs offset/);
  t.regex(refusal('DOWNLOAD a offset=3') ?? '', /needs sha256/);
  t.regex(refusal('DOWNLOAD a resume=yes') ?? '', /unknown option resume/);
  t.regex(refusal('PARTIAL a') ?? '', /number of arguments/);
  t.regex(refusal('PARTIAL a 1e3') ?? '', /size/);
  // Accepted: the whole file as offset, offset 0 without a hash, resume=no as if absent.
  t.is(refusal(`UPLOAD a 10 resume=yes offset=10 sha256=${HEX}`), null);
  t.is(refusal('DOWNLOAD a offset=0'), null);
  const plain = parseRequest(bytes('UPLOAD a 10 resume=no'));
  t.deepEqual(plain.ok && plain.value, { verb: 'UPLOAD', path: 'a', size: 10, checksum: 'xxh3-64' });
  const fresh = parseRequest(bytes('UPLOAD a 10 resume=yes go=no'));
  t.like(fresh.ok && fresh.value, { immediate: true, resume: { offset: 0 } });
});

test('partial names are hashes: the lock id of the name, then account, key and size', (t) => {
  const key = 'docs/../../etc/passwd "x"';
  const name = partialNameFor(lockIdOf(key), 'alice', key, 1000);
  t.regex(name, /^[0-9a-f]{40}-[0-9a-f]{32}\.part$/);
  t.is(lockIdOfPartialName(name), lockIdOf(key));
  t.is(partialNameFor(lockIdOf(key), 'alice', key, 1000), name, 'the same upload finds its partial');
  const others = [
    partialNameFor(lockIdOf(key), 'bob', key, 1000),
    partialNameFor(lockIdOf(key), '', key, 1000),
    partialNameFor(lockIdOf(key), 'alice', key, 1001),
    partialNameFor(lockIdOf('other'), 'alice', 'other', 1000),
  ];
  t.is(new Set([name, ...others]).size, 5, 'account, size and name each make another partial');
  for (const other of [
    'x.part',
    `${'a'.repeat(40)}-${'b'.repeat(32)}.tmp`,
    `.filehive-${'a'.repeat(40)}.part`,
  ]) {
    t.is(lockIdOfPartialName(other), null, other);
  }
});

test('expiry counts from the last write', (t) => {
  t.false(isPartialExpired(1_000, 500, 1_499));
  t.true(isPartialExpired(1_000, 500, 1_500));
});

test('sweepPartials removes expired partials nobody holds, and nothing else', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-partials-'));
  try {
    const name = (id: string, n: string) => `${id.repeat(40)}-${n.repeat(32)}.part`;
    const files = {
      expired: name('1', 'a'),
      held: name('2', 'a'),
      fresh: name('3', 'a'),
      foreign: 'notes.txt',
    };
    for (const file of Object.values(files)) await writeFile(join(dir, file), 'x');
    await mkdir(join(dir, name('4', 'a')));
    const old = new Date(Date.now() - 10_000);
    for (const file of [files.expired, files.held, files.foreign]) await utimes(join(dir, file), old, old);
    const { scanned, removed } = await sweepPartials({
      dir,
      ttlMs: 5_000,
      isHeld: async (id) => id === '2'.repeat(40),
    });
    t.is(scanned, 3);
    t.deepEqual(removed, [join(dir, files.expired)]);
    t.deepEqual((await readdir(dir)).sort(), [files.held, files.fresh, name('4', 'a'), files.foreign].sort());
    t.deepEqual(await sweepPartials({ dir: join(dir, 'missing'), ttlMs: 1, isHeld: async () => false }), {
      scanned: 0,
      removed: [],
    });
    t.like(await statPartial(join(dir, files.fresh), 5_000), { bytes: 1 });
    t.is(await statPartial(join(dir, files.held), 5_000), null, 'expired counts as none');
    t.is(await statPartial(join(dir, 'missing.part'), 5_000), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a resumable download keeps its bytes beside the file, under a name that always fits', (t) => {
  t.is(partialDownloadName('report.pdf'), '.report.pdf.filehive-partial');
  const long = 'é'.repeat(127);
  t.regex(partialDownloadName(long), /^\.[0-9a-f]{32}\.filehive-partial$/);
  t.is(partialDownloadName(long), partialDownloadName(long));
});

test('commands read their own options; -- ends them; others take every word', (t) => {
  const specs = [{ name: '--resume' }, { name: '--parallel', value: 'N' }];
  t.deepEqual(splitCommandOptions('UPLOAD', specs, ['--resume', 'a b']), {
    args: ['a b'],
    options: new Map([['--resume', true]]),
  });
  t.deepEqual(
    splitCommandOptions('UPLOAD', specs, ['x', '--parallel', '4', '--resume', '--', '--resume', '-']),
    {
      args: ['x', '--resume', '-'],
      options: new Map<string, string | true>([
        ['--parallel', '4'],
        ['--resume', true],
      ]),
    },
  );
  t.deepEqual(splitCommandOptions('UPLOAD', specs, ['--parallel=2', 'f']).options.get('--parallel'), '2');
  t.throws(() => splitCommandOptions('UPLOAD', specs, ['--resum', 'f']), {
    message: /unknown option --resum for UPLOAD .*--resume.*put -- before/,
  });
  t.throws(() => splitCommandOptions('UPLOAD', specs, ['--resume=yes', 'f']), { message: /takes no value/ });
  t.throws(() => splitCommandOptions('UPLOAD', specs, ['f', '--parallel']), { message: /needs a value N/ });
  t.deepEqual(splitCommandOptions('DELETE', undefined, ['--resume']).args, ['--resume']);
});

test('a resumed transfer says where it resumed, and its rate counts the bytes that moved', (t) => {
  t.is(
    formatTransfer('uploaded', 'a.bin', 4 << 20, 1, 3 << 20),
    'uploaded a.bin 4.0 MiB in 1.00 s (1.0 MiB/s), resumed at 3.0 MiB',
  );
  t.is(
    formatTransfer('downloaded', 'a.bin', 4 << 20, 1, 0),
    'downloaded a.bin 4.0 MiB in 1.00 s (4.0 MiB/s)',
  );
});

test('--partial-ttl: seconds, a day by default', (t) => {
  const load = (argv: string[], env: Record<string, string> = {}) => loadServerConfig(argv, env, '/srv');
  const defaults = load([]);
  t.true(defaults.ok && defaults.config.partialTtlMs === 86_400_000);
  const set = load(['--partial-ttl', '1.5']);
  t.true(set.ok && set.config.partialTtlMs === 1_500);
  const env = load([], { FILEHIVE_PARTIAL_TTL: '3600' });
  t.true(env.ok && env.config.partialTtlMs === 3_600_000);
  const bad = load(['--partial-ttl', '0']);
  t.false(bad.ok);
  if (!bad.ok) t.regex(bad.errors.join('\n'), /--partial-ttl must be a number of seconds/);
});

// An account's home as a jail: its own `/`, links out of it refused, lock keys still from the storage root.
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { openHomeJail } from '../../src/accounts/home.js';
import { Jail } from '../../src/storage/jail.js';

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-home-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  await mkdir(join(root, 'team/alice'), { recursive: true });
  await writeFile(join(root, 'team/alice/a.txt'), 'a');
  await writeFile(join(root, 'secret.txt'), 's');
  await mkdir(join(dir, 'outside'));
  return { dir, root, jail: await Jail.open(root) };
}

test('paths resolve inside the home, keys stay relative to the storage root', async (t) => {
  const { jail } = await setup(t);
  const home = await openHomeJail(jail, '/team/alice');
  const file = await home.resolveExisting('/a.txt');
  t.is(file.key, 'team/alice/a.txt');
  t.is(file.key, (await jail.resolveExisting('/team/alice/a.txt')).key);
  t.is((await home.resolveName('/new.bin')).key, 'team/alice/new.bin');
  await t.throwsAsync(home.resolveExisting('/secret.txt'), { message: /no such file/ });
});

test('a missing home is created, folder by folder; the root itself is a valid home', async (t) => {
  const { root, jail } = await setup(t);
  const home = await openHomeJail(jail, '/new/deep/home');
  t.true((await stat(join(root, 'new/deep/home'))).isDirectory());
  t.is((await home.resolveName('/x')).key, 'new/deep/home/x');
  t.is(await openHomeJail(jail, '/'), jail);
});

test('links leading out of the home are refused, even when they stay in the root', async (t) => {
  const { root, jail } = await setup(t);
  await symlink('../../secret.txt', join(root, 'team/alice/up'));
  const home = await openHomeJail(jail, '/team/alice');
  await t.throwsAsync(home.locate('/up'), { message: /outside the share/ });
  t.not(await jail.locate('/team/alice/up'), null);
});

test('a home behind a link that leads out of the root is refused and nothing is created outside', async (t) => {
  const { dir, root, jail } = await setup(t);
  await symlink(join(dir, 'outside'), join(root, 'escape'));
  await t.throwsAsync(openHomeJail(jail, '/escape/alice'), { message: /outside the share/ });
  await t.throwsAsync(stat(join(dir, 'outside/alice')));
  await writeFile(join(root, 'file'), 'x');
  await t.throwsAsync(openHomeJail(jail, '/file'), { message: /not a folder/ });
});

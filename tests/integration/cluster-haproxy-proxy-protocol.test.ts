// A real HAProxy (deploy/haproxy.cfg with its send-proxy-v2 line switched on) in front of a server
// started with --proxy-protocol --trusted-proxies 127.0.0.1: clients connecting to HAProxy from
// 127.0.0.7 and 127.0.0.8 are counted, refused and logged as themselves, not as HAProxy's 127.0.0.1;
// HAProxy's health checks (PROXY v2 LOCAL) keep the instance UP.
import { readFile } from 'node:fs/promises';
import { type ToolCommand, testWithClusterTools } from '../_helpers/cluster-tools.js';
import { DEPLOY_HAPROXY_CFG, startHaproxy } from '../_helpers/haproxy.js';
import { RawClient, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

const clusterTest = testWithClusterTools(['haproxy']);

/** The shipped file with its commented `default-server send-proxy-v2 ...` line in force. */
function withProxyProtocol(shipped: string): string {
  return shipped.replace(/^(\s*)# (default-server send-proxy-v2\b.*)$/m, '$1$2');
}

clusterTest(
  'through HAProxy with send-proxy-v2, limits and logs see the client address, not the balancer',
  async (t, tools) => {
    t.timeout(60_000);
    const shipped = await readFile(DEPLOY_HAPROXY_CFG, 'utf8');
    const template = withProxyProtocol(shipped);
    t.not(template, shipped, 'deploy/haproxy.cfg carries a commented send-proxy-v2 line');
    const server = await startServer({
      workers: 2,
      args: ['--proxy-protocol', '--trusted-proxies', '127.0.0.1', '--max-connections-per-ip', '2'],
    });
    t.teardown(() => server.stop());
    // Resolves once HAProxy's health checks (which must carry a PROXY header too) see the instance UP.
    const haproxy = await startHaproxy(tools.haproxy as ToolCommand, [{ name: 'fh1', port: server.port }], {
      template,
    });
    t.teardown(() => haproxy.stop());
    t.regex(haproxy.config, /^\s*default-server send-proxy-v2 check-send-proxy$/m);

    const from = (localAddress: string) => RawClient.connect(haproxy.port, { localAddress });
    const open: RawClient[] = [];
    t.teardown(() => {
      for (const c of open) c.close();
    });
    for (let i = 0; i < 2; i++) {
      const c = await from('127.0.0.7');
      open.push(c);
      t.regex(c.greeting, /^HELLO /, `session ${i + 1} from 127.0.0.7`);
    }
    const third = await from('127.0.0.7');
    t.regex(third.greeting, /^ERR TOO_MANY_CONNECTIONS /, 'the third from 127.0.0.7 is over its own limit');
    third.close();
    const other = await from('127.0.0.8');
    open.push(other);
    t.regex(
      other.greeting,
      /^HELLO /,
      '127.0.0.8 has its own count, though HAProxy connects from 127.0.0.1 for all',
    );

    // The sessions work as usual through the balancer.
    const data = Buffer.from('through the balancer\n'.repeat(1000));
    t.is((await other.upload('via-haproxy.txt', data)).status, 'OK');
    const back = await open[0]?.download('via-haproxy.txt');
    t.is(back?.data ? sha256(back.data) : back?.reply.line, sha256(data));

    t.true(
      await waitFor(() => /connection refused .*peer=127\.0\.0\.7 /.test(server.output())),
      'the refusal is logged with the client address',
    );
    t.notRegex(
      server.output(),
      /peer=127\.0\.0\.1 .*TOO_MANY/,
      'HAProxy itself was never counted over the limit',
    );
    t.notRegex(
      server.output(),
      /no valid PROXY header/,
      'every connection from HAProxy, checks included, had a header',
    );
    t.is((await haproxy.states()).fh1, 'UP');
  },
);

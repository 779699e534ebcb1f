import { expect, test } from 'vitest';
import { parseDsn } from '../../../lib/core/dsn.ts';
import {
  awkwardPassword,
  clusterKeyword,
  clusterUrl,
  sandboxConf,
  sandboxExports,
  type ClusterInfo,
} from '../../../lib/sandbox/clusters.ts';

const cluster: ClusterInfo = {
  name: 'source',
  host: '127.0.0.1',
  port: 54321,
  user: 'rehearsal',
  password: awkwardPassword(),
  database: 'postgres',
  dataDir: '/nowhere/data',
  logFile: '/nowhere/postgres.log',
};

test('clusterUrl and clusterKeyword: the awkward password survives both forms', () => {
  for (const text of [clusterUrl(cluster, 'app'), clusterKeyword(cluster, 'app')]) {
    const d = parseDsn(text);
    expect(d).toMatchObject({ host: '127.0.0.1', port: 54321, user: 'rehearsal', database: 'app' });
    expect(d.password).toBe(cluster.password);
  }
});

test('sandboxConf: loopback only, the socket in the cluster directory, no durability', () => {
  const conf = sandboxConf(5555, '/sb/source', 20);
  expect(conf).toContain('port = 5555');
  expect(conf).toContain("listen_addresses = '127.0.0.1'");
  expect(conf).toContain("unix_socket_directories = '/sb/source'");
  expect(conf).toContain('max_connections = 20');
  expect(conf).toContain('fsync = off');
  expect(sandboxConf(1, '/x')).toContain('max_connections = 100');
});

test('sandboxExports: one shell-quoted export per cluster, in URL form with the keyword form as a comment', () => {
  const out = sandboxExports(
    { root: '/sb', password: cluster.password, pgBin: '/bin', clusters: { source: cluster } },
    { source: 'app' },
  );
  const lines = out.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^export SRC_DATABASE_URL='postgresql:\/\//);
  expect(lines[1]).toMatch(/^# keyword form: export SRC_DATABASE_URL='/);
});

import { expect, test } from 'vitest';
import { classifyEndpoint, conninfoEndpoint, describeEndpoint } from '../../../lib/core/endpoint.ts';

const target = { host: '127.0.0.1', port: 5433 };
const source = { host: 'db.example.internal', port: 5432 };

test('classifyEndpoint: the target itself, the source, elsewhere', () => {
  expect(classifyEndpoint({ hosts: ['localhost'], port: 5433 }, target, source)).toBe('target');
  expect(classifyEndpoint({ hosts: [], port: 5433 }, target, source)).toBe('target');
  expect(classifyEndpoint({ hosts: ['/var/run/postgresql'], port: 5433 }, target, source)).toBe('target');
  expect(classifyEndpoint({ hosts: ['127.0.0.1'], port: 5432 }, target, source)).toBe('elsewhere');
  expect(classifyEndpoint({ hosts: ['DB.example.internal'] }, target, source)).toBe('source');
  expect(classifyEndpoint({ hosts: ['127.0.0.1', 'db.example.internal'], port: 5432 }, target, source)).toBe('source');
  expect(classifyEndpoint({ hosts: ['198.51.100.1'], port: 5433 }, target, source)).toBe('elsewhere');
  // a remote target: a local host on the target's machine at another port is another cluster
  expect(classifyEndpoint({ hosts: ['localhost'], port: 5432 }, { host: 'staging', port: 5432 })).toBe('elsewhere');
});

test('conninfoEndpoint: keyword and URL forms; unparseable keyword text still yields the host', () => {
  // secret-scan:allow-next-line (a made-up password in a parsing fixture)
  expect(conninfoEndpoint("host=192.0.2.3 port=6000 dbname=app user=u password='p w'")).toEqual({
    hosts: ['192.0.2.3'],
    port: 6000,
    dbname: 'app',
  });
  expect(conninfoEndpoint('postgresql://u:pw@prod.example:5439/app')).toMatchObject({
    hosts: ['prod.example'],
    port: 5439,
  });
  expect(conninfoEndpoint('host=192.0.2.3 bogus_key=1 port=7')).toEqual({ hosts: ['192.0.2.3'], port: 7 });
  expect(conninfoEndpoint('dbname=x')).toMatchObject({ hosts: [] });
  expect(describeEndpoint({ hosts: [], port: undefined })).toBe('(local socket):5432');
});

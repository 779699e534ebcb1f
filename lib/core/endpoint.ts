/**
 * Where a libpq connection goes, seen from the target server: the target itself, the source, or elsewhere. Shared by
 * the restore (which neutralises links leading away from the target, lib/phases/isolation.ts) and the isolation check
 * (lib/checks/families/isolation/isolation.ts).
 */
import { parseDsn, type Dsn } from './dsn.ts';
import { redactor } from './redact.ts';

/** Where a connection goes. */
export interface Endpoint {
  /** Host names, addresses or socket directories (libpq allows a comma list); empty: the server's local socket. */
  hosts: string[];
  /** Undefined: libpq's default (5432). */
  port?: number;
  dbname?: string;
}

/** `target`: the target's own server; `source`: the source server; `elsewhere`: any other server. */
export type Where = 'target' | 'source' | 'elsewhere';

/** The host a detached foreign server is pointed at: the `.invalid` TLD is guaranteed never to resolve (RFC 6761). */
export const ISOLATED_HOST = 'rehearsal-isolated.invalid';

const LOCAL = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/i;

function isLocal(h: string | undefined): boolean {
  return !h || h.startsWith('/') || h.startsWith('@') || LOCAL.test(h);
}

/**
 * Where `e` points, seen from the target server (a foreign server or subscription connects FROM the target server).
 * A local host (none, a socket directory, localhost, 127.x, ::1) is the target server's own machine. Same machine and
 * port as the target (or same host name and port) → `target`; same as the source → `source`; anything else →
 * `elsewhere`. Every host of a multi-host list must be the target for the link to count as `target`.
 */
export function classifyEndpoint(
  e: Endpoint,
  target: Pick<Dsn, 'host' | 'port'>,
  source?: Pick<Dsn, 'host' | 'port'>,
): Where {
  const hosts = e.hosts.length ? e.hosts : [''];
  const port = e.port ?? 5432;
  const same = (h: string, d: Pick<Dsn, 'host' | 'port'>) =>
    port === (d.port ?? 5432) &&
    ((isLocal(h) && isLocal(d.host)) || (!!d.host && h.toLowerCase() === d.host.toLowerCase()));
  if (hosts.every((h) => same(h, target))) return 'target';
  if (source && hosts.some((h) => same(h, source))) return 'source';
  // A local host on the target's machine but another port: another cluster there, not the target.
  return 'elsewhere';
}

export function describeEndpoint(e: Endpoint | undefined): string {
  if (!e) return 'an unknown server (its connection string could not be read)';
  const hosts = e.hosts.length ? e.hosts.join(',') : '(local socket)';
  return `${hosts}:${e.port ?? 5432}${e.dbname ? `/${e.dbname}` : ''}`;
}

export function describeWhere(w: Where): string {
  return w === 'source' ? 'the SOURCE' : w === 'target' ? 'the target itself' : 'a server other than the target';
}

/** Endpoint of a libpq connection string (keyword or URL form); undefined when it cannot be parsed. */
export function conninfoEndpoint(conninfo: string): Endpoint | undefined {
  try {
    const d = parseDsn(conninfo, 'connection string');
    redactor.add(d.password);
    const host = d.params.hostaddr ?? d.host;
    return { hosts: host ? host.split(',') : [], port: d.port, dbname: d.database || undefined };
  } catch {
    const kw = (k: string) => new RegExp(`(?:^|\\s)${k}\\s*=\\s*('(?:[^'\\\\]|\\\\.)*'|\\S+)`).exec(conninfo)?.[1];
    const host = kw('hostaddr') ?? kw('host');
    if (!host) return undefined;
    const port = Number(kw('port'));
    const dbname = kw('dbname')?.replace(/^'|'$/g, '');
    return {
      hosts: host.replace(/^'|'$/g, '').split(','),
      port: Number.isFinite(port) && port > 0 ? port : undefined,
      ...(dbname ? { dbname } : {}),
    };
  }
}

/** Endpoint from foreign-server options (postgres_fdw / dblink_fdw take libpq keywords as options). */
export function optionsEndpoint(o: Record<string, string>): Endpoint {
  const host = o.hostaddr ?? o.host;
  const port = Number(o.port);
  return {
    hosts: host ? host.split(',') : [],
    port: Number.isFinite(port) && port > 0 ? port : undefined,
    dbname: o.dbname,
  };
}

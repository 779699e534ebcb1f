/**
 * Staging isolation at restore time: the archive's objects that can reach outside the target — foreign servers (and
 * the user mappings that carry their credentials) and subscriptions — read from the archive itself, classified by
 * where they point (the target's own server, the SOURCE, or elsewhere), and neutralised unless ISOLATION=keep:
 *
 * - a user mapping of a server pointing away from the target is left out of the restore (TOC filter): production
 *   credentials never land on staging, and postgres_fdw / dblink refuse to connect without a mapping;
 * - the foreign server itself is restored (foreign tables and the views over them depend on it) and then pointed
 *   nowhere: `ALTER SERVER … OPTIONS (SET host 'rehearsal-isolated.invalid')` (`.invalid` never resolves, RFC 6761);
 * - a subscription pointing away from the target is left out (pg_dump writes it with `connect = false` and the
 *   source's slot name: enabling it on staging would consume the production subscriber's slot).
 *
 * Publications reach nothing (others subscribe to them): they are counted and listed, not touched.
 * The check family (lib/checks/families/isolation/isolation.ts) lists what the target holds after the restore and judges it.
 */
import type { Config } from '../core/config.ts';
import type { Dsn } from '../core/dsn.ts';
import {
  classifyEndpoint,
  conninfoEndpoint,
  describeEndpoint,
  describeWhere,
  ISOLATED_HOST,
  optionsEndpoint,
  type Endpoint,
  type Where,
} from '../core/endpoint.ts';
import { quoteIdent } from '../core/ident.ts';
import { redactor } from '../core/redact.ts';

import type { TocEntry, TocRule } from './toc-filter.ts';

/** An archive object that connects somewhere, with where it points. */
export interface OutwardLink {
  kind: 'foreign server' | 'user mapping' | 'subscription';
  /** Server or subscription name; for a user mapping `<user> SERVER <server>` (the TOC tag without the type). */
  name: string;
  /** The foreign server a user mapping belongs to. */
  server?: string;
  /** The foreign-data wrapper of a server (postgres_fdw, dblink_fdw, ...). */
  wrapper?: string;
  endpoint?: Endpoint;
  where: Where;
  /** The server's options have a `host` (SET) or not (ADD); whether `hostaddr` must be dropped. */
  hasHost?: boolean;
  hasHostaddr?: boolean;
}

/** `key 'value', "key" 'value'` (pg_dump's OPTIONS list) → map. */
export function parseOptionList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s+'((?:[^']|'')*)'/g)) {
    const key = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1];
    out[key] = m[2].replace(/''/g, "'");
  }
  return out;
}

const IDENT = `("(?:[^"]|"")+"|[^\\s(]+)`;
const unq = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);

/**
 * The outward links in SQL rendered by `pg_restore --file=-` for the archive's SERVER, USER MAPPING and SUBSCRIPTION
 * entries. Passwords found are registered with the redactor (they must never be printed). Pure apart from that.
 */
export function linksFromSql(
  sql: string,
  target: Pick<Dsn, 'host' | 'port'>,
  source?: Pick<Dsn, 'host' | 'port'>,
): OutwardLink[] {
  const links: OutwardLink[] = [];
  const servers = new Map<string, OutwardLink>();
  for (const m of sql.matchAll(
    new RegExp(
      `CREATE SERVER ${IDENT}(?:\\s+TYPE\\s+'(?:[^']|'')*')?(?:\\s+VERSION\\s+'(?:[^']|'')*')?\\s+FOREIGN DATA WRAPPER ${IDENT}(\\s+OPTIONS\\s*\\(([\\s\\S]*?)\\n?\\))?;`,
      'g',
    ),
  )) {
    const opts = parseOptionList(m[4] ?? '');
    const endpoint = optionsEndpoint(opts);
    const link: OutwardLink = {
      kind: 'foreign server',
      name: unq(m[1]),
      wrapper: unq(m[2]),
      endpoint,
      where: classifyEndpoint(endpoint, target, source),
      hasHost: 'host' in opts,
      hasHostaddr: 'hostaddr' in opts,
    };
    servers.set(link.name, link);
    links.push(link);
  }
  for (const m of sql.matchAll(
    new RegExp(`CREATE USER MAPPING FOR ${IDENT} SERVER ${IDENT}(\\s+OPTIONS\\s*\\(([\\s\\S]*?)\\n?\\))?;`, 'g'),
  )) {
    const opts = parseOptionList(m[4] ?? '');
    redactor.add(opts.password);
    const server = unq(m[2]);
    const s = servers.get(server);
    links.push({
      kind: 'user mapping',
      name: `${unq(m[1])} SERVER ${server}`,
      server,
      wrapper: s?.wrapper,
      endpoint: s?.endpoint,
      where: s?.where ?? 'elsewhere',
    });
  }
  // pg_dump writes ` PUBLICATION ` right after the connection literal; a redacted password may have taken the closing
  // quote with it (`password=*** PUBLICATION …`), so the literal ends at the quote or at that keyword.
  for (const m of sql.matchAll(
    new RegExp(`CREATE SUBSCRIPTION ${IDENT} CONNECTION '((?:[^']|'')*?)'?\\s+PUBLICATION\\s`, 'g'),
  )) {
    const endpoint = conninfoEndpoint(m[2].replace(/''/g, "'"));
    links.push({
      kind: 'subscription',
      name: unq(m[1]),
      endpoint,
      where: endpoint ? classifyEndpoint(endpoint, target, source) : 'elsewhere',
    });
  }
  return links;
}

/** The TOC entries whose SQL holds an outward link (what is rendered to find them). */
export function isOutwardEntry(e: TocEntry): boolean {
  return e.type === 'SERVER' || e.type === 'FOREIGN SERVER' || e.type === 'USER MAPPING' || e.type === 'SUBSCRIPTION';
}

/** Links that point away from the target (and so are neutralised unless ISOLATION=keep). */
export function pointsAway(l: OutwardLink): boolean {
  return l.where !== 'target';
}

/**
 * TOC rules that neutralise the links pointing away from the target (none with ISOLATION=keep): user mappings of such
 * servers, and such subscriptions with their comments and security labels, are left out of the restore.
 */
export function isolationTocRules(config: Pick<Config, 'isolation'>, links: readonly OutwardLink[]): TocRule[] {
  if (config.isolation === 'keep') return [];
  const away = links.filter(pointsAway);
  const mapping = new Map(away.filter((l) => l.kind === 'user mapping').map((l) => [l.name, l]));
  const subs = new Map(away.filter((l) => l.kind === 'subscription').map((l) => [l.name, l]));
  const because = (l: OutwardLink) => `points at ${describeWhere(l.where)} (${describeEndpoint(l.endpoint)})`;
  return [
    {
      id: 'isolation-user-mapping',
      exclude(e) {
        if (e.type !== 'USER MAPPING') return undefined;
        const l = mapping.get(e.tag.replace(/^USER MAPPING /, ''));
        return l
          ? `the credentials of foreign server ${l.server}, which ${because(l)}; ISOLATION=keep restores it`
          : undefined;
      },
    },
    {
      id: 'isolation-subscription',
      exclude(e) {
        const name =
          e.type === 'SUBSCRIPTION'
            ? e.tag
            : (e.type === 'COMMENT' || e.type === 'SECURITY LABEL') && e.tag.startsWith('SUBSCRIPTION ')
              ? e.tag.slice('SUBSCRIPTION '.length)
              : undefined;
        const l = name !== undefined ? subs.get(name) : undefined;
        return l
          ? `subscription ${l.name} ${because(l)}: enabled on staging it would consume that server's replication slot; ISOLATION=keep restores it`
          : undefined;
      },
    },
  ];
}

/** The SQL that points each foreign server that leads away from the target at ISOLATED_HOST (nothing with ISOLATION=keep). */
export function detachServersSql(config: Pick<Config, 'isolation'>, links: readonly OutwardLink[]): string[] {
  if (config.isolation === 'keep') return [];
  return links
    .filter((l) => l.kind === 'foreign server' && pointsAway(l))
    .map(
      (l) =>
        `ALTER SERVER ${quoteIdent(l.name)} OPTIONS (${l.hasHostaddr ? 'DROP hostaddr, ' : ''}${l.hasHost ? 'SET' : 'ADD'} host '${ISOLATED_HOST}');`,
    );
}

/** One line per link for the console, the restore log and the phase evidence: what it is, where it points, what was done. */
export function isolationLines(config: Pick<Config, 'isolation'>, links: readonly OutwardLink[]): string[] {
  const keep = config.isolation === 'keep';
  return links.map((l) => {
    const what = `${l.kind} ${l.name}${l.wrapper && l.kind === 'foreign server' ? ` (${l.wrapper})` : ''} → ${describeEndpoint(l.endpoint)}, ${describeWhere(l.where)}`;
    if (!pointsAway(l)) return `ISOLATION: ${what}: restored as is`;
    if (keep) return `ISOLATION: ${what}: RESTORED AS IS (ISOLATION=keep): staging is wired to it`;
    if (l.kind === 'foreign server') return `ISOLATION: ${what}: restored, then pointed at ${ISOLATED_HOST} (detached)`;
    return `ISOLATION: ${what}: LEFT OUT of the restore (detached)`;
  });
}

/**
 * The restore phase's one-line summary of isolation (it reaches the console summary, the phase test and the
 * manifest): empty when the archive has no link pointing away from the target.
 */
export function isolationSummary(config: Pick<Config, 'isolation'>, links: readonly OutwardLink[]): string {
  const away = links.filter(pointsAway);
  if (!away.length) return '';
  const names = away.map((l) => `${l.kind} ${l.name}`).join(', ');
  return config.isolation === 'keep'
    ? `; ISOLATION=keep: ${away.length} object(s) still point away from the target (${names})`
    : `; ISOLATION: ${away.length} object(s) pointing away from the target neutralised (${names})`;
}

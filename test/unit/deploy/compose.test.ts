/**
 * The contract of deploy/prod/docker-compose.dryrun.yml, checked by parsing it (there is no Docker engine in CI):
 * pgvector image, Redis, project-scoped named volumes only, loopback ports from DRYRUN_* with non-default defaults,
 * health checks, placeholder credentials.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';

const FILE = path.resolve(import.meta.dirname, '../../../deploy/prod/docker-compose.dryrun.yml');
const text = fs.readFileSync(FILE, 'utf8');
const doc = parse(text) as any;
const services: Record<string, any> = doc.services ?? {};

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` interpolation (`$$` is a literal `$`). */
function interpolate(s: string, env: Record<string, string | undefined>): string {
  return s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (m, name, op, dflt) => {
    if (m === '$$') return '$';
    const v = env[name];
    if (op === ':-') return v ? v : dflt;
    if (op === '-') return v !== undefined ? v : dflt;
    return v ?? '';
  });
}

/** Host side of a port mapping: `ip:host:container` → { ip, host }; long syntax too. */
function hostBinding(
  p: unknown,
  env: Record<string, string | undefined>,
): { ip?: string; host?: string; container: string } {
  if (typeof p === 'object' && p) {
    const o = p as Record<string, unknown>;
    return {
      ip: o.host_ip as string | undefined,
      host: o.published === undefined ? undefined : interpolate(String(o.published), env),
      container: String(o.target),
    };
  }
  const parts = interpolate(String(p), env).split(':');
  if (parts.length === 3) return { ip: parts[0], host: parts[1], container: parts[2] };
  if (parts.length === 2) return { host: parts[0], container: parts[1] };
  return { container: parts[0] };
}

/** Volume source of a service volume entry, and whether it is a bind mount. */
function volumeSource(v: unknown): { source: string; bind: boolean } {
  if (typeof v === 'object' && v) {
    const o = v as Record<string, unknown>;
    return { source: String(o.source ?? ''), bind: o.type === 'bind' };
  }
  const s = String(v);
  const parts = s.split(':');
  const source = parts.length > 1 ? parts[0] : '';
  // Compose treats a source that starts with /, ., ~ or ${...} (a path) as a bind mount.
  return { source, bind: parts.length > 1 && /^(\/|\.|~|\$)/.test(source) };
}

const EXPECTED_PORTS = {
  postgres: { variable: 'DRYRUN_POSTGRES_PORT', dflt: '55432', container: '5432' },
  redis: { variable: 'DRYRUN_REDIS_PORT', dflt: '56379', container: '6379' },
};

describe('deploy/prod/docker-compose.dryrun.yml', () => {
  test('has a postgres service on a pgvector image and a redis service', () => {
    expect(Object.keys(services).sort()).toEqual(['postgres', 'redis']);
    expect(services.postgres.image, 'the postgres service must use a pgvector/pgvector image').toMatch(
      /^pgvector\/pgvector:/,
    );
    expect(services.redis.image).toMatch(/^redis:/);
  });

  for (const [name, want] of Object.entries(EXPECTED_PORTS)) {
    test(`${name}: host port from ${want.variable} (default ${want.dflt}), on 127.0.0.1 only`, () => {
      const ports: unknown[] = services[name].ports ?? [];
      expect(ports.length).toBe(1);
      const raw = typeof ports[0] === 'string' ? ports[0] : JSON.stringify(ports[0]);
      expect(raw).toContain(`\${${want.variable}:-${want.dflt}}`);
      const dflt = hostBinding(ports[0], {});
      expect(dflt).toEqual({ ip: '127.0.0.1', host: want.dflt, container: want.container });
      const overridden = hostBinding(ports[0], { [want.variable]: '61000' });
      expect(overridden.host).toBe('61000');
    });
  }

  test('never publishes the default host ports 5432 or 6379', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const p of svc.ports ?? []) {
        const { host } = hostBinding(p, {});
        expect(host, `${name} publishes ${JSON.stringify(p)}`).toBeDefined();
        expect(['5432', '6379']).not.toContain(host);
      }
      expect(svc.network_mode, `${name} must not use the host network`).toBeUndefined();
    }
  });

  test('keeps data in project-scoped named volumes, never in a host bind mount', () => {
    const declared = Object.keys(doc.volumes ?? {});
    // No top-level `name:` (Debian's docker-compose 1.29 rejects it): each volume carries a fixed, project-scoped name.
    expect(doc.name, 'a top-level name: breaks docker-compose 1.29').toBeUndefined();
    for (const [vol, def] of Object.entries<any>(doc.volumes ?? {}))
      expect(def?.name, `${vol} has a fixed dry-run name`).toMatch(/^migration-rehearsal-dryrun-/);
    for (const [name, svc] of Object.entries(services)) {
      for (const v of svc.volumes ?? []) {
        const { source, bind } = volumeSource(v);
        expect(bind, `${name} mounts a host path: ${JSON.stringify(v)}`).toBe(false);
        expect(declared, `${name} uses volume "${source}" that is not a declared named volume`).toContain(source);
      }
    }
    for (const [vol, def] of Object.entries<any>(doc.volumes ?? {})) {
      expect(def?.external, `${vol} must be created by this project, not external`).toBeFalsy();
      expect(def?.driver_opts, `${vol} must not map to a host directory through driver_opts`).toBeUndefined();
    }
    expect(services.postgres.volumes.map((v: unknown) => String(v).split(':')[1])).toContain(
      '/var/lib/postgresql/data',
    );
    expect(JSON.stringify(doc), 'nothing may point under /root/dockers/para').not.toMatch(/\/root\/dockers\/para/);
  });

  test('every service has a health check', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.healthcheck?.test, `${name} has no healthcheck`).toBeDefined();
    }
    expect(JSON.stringify(services.postgres.healthcheck.test)).toMatch(/pg_isready/);
    expect(JSON.stringify(services.redis.healthcheck.test)).toMatch(/redis-cli.*ping/);
  });

  test('credentials are placeholders from the environment, nothing that looks like a real password', () => {
    const env = services.postgres.environment as Record<string, string>;
    for (const key of ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB']) {
      expect(env[key], `${key} must come from the environment with a placeholder default`).toMatch(
        /^\$\{DRYRUN_[A-Z_]+:-[^}]+\}$/,
      );
    }
    const password = interpolate(env.POSTGRES_PASSWORD, {});
    expect(password).toMatch(/placeholder|change-?me/i);
    expect(interpolate(env.POSTGRES_PASSWORD, { DRYRUN_POSTGRES_PASSWORD: 'from-my-shell' })).toBe('from-my-shell');
    for (const [name, svc] of Object.entries(services)) {
      const envs = Array.isArray(svc.environment)
        ? svc.environment
        : Object.entries(svc.environment ?? {}).map(([k, v]) => `${k}=${v}`);
      for (const e of envs) {
        if (/PASSWORD|SECRET|TOKEN/i.test(String(e).split('=')[0])) {
          expect(String(e), `${name}: ${String(e).split('=')[0]} must be taken from the environment`).toMatch(
            /=\$\{[A-Z_]+:-[^}]*(placeholder|change-?me)[^}]*\}$/i,
          );
        }
      }
    }
  });
});

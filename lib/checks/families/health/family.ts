/**
 * Health: `health GET /health` against the staging API (STAGING_API_BASE_URL + STAGING_HEALTH_PATH), bounded by
 * HEALTH_TIMEOUT_MS; a 2xx answer passes. HEALTH_CHECK=0 skips it, visibly.
 */
import type request from 'supertest';
import { redact } from '../../../core/redact.ts';
import { failed, type Entry, type Family } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';

/** What went wrong with the request, in words (supertest: timeout → ECONNABORTED; refused → "ECONNREFUSED: ..."). */
export function describeFailure(e: unknown, timeoutMs: number): string {
  const err = e as { code?: string; message?: string; timeout?: number };
  const msg = err?.message ?? String(e);
  if (err?.code === 'ECONNABORTED' || err?.timeout !== undefined || /timeout/i.test(msg))
    return `no answer within HEALTH_TIMEOUT_MS=${timeoutMs} ms (timed out)`;
  if (err?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg))
    return 'connection refused (nothing is listening there)';
  if (err?.code === 'ENOTFOUND' || /ENOTFOUND/.test(msg)) return 'host not found';
  return `request failed: ${msg}`;
}

/** The probed path (STAGING_HEALTH_PATH). */
type Probe = { path: string };

function subjects(ctx: CheckContext): Array<Entry<Probe>> {
  if (!ctx.config) return [{ name: 'health (not checked)', verdict: { status: 'not-checked', reason: ctx.blocked! } }];
  const probe = { path: ctx.config.stagingHealthPath };
  if (!ctx.config.healthCheck) return [{ skip: health.name(probe), reason: 'skipped: HEALTH_CHECK=0' }];
  return [{ subject: probe }];
}

export const health: Family<Probe> = {
  id: 'health',
  label: 'health probe',
  spec: 'specs/health.spec.ts',
  prefixes: ['health'],
  needsSource: false,
  reads: ['STAGING_API_BASE_URL', 'STAGING_API_PORT', 'STAGING_HEALTH_PATH', 'HEALTH_CHECK', 'HEALTH_TIMEOUT_MS'],
  passesWhen: 'the staging API answers 2xx in time',
  planLines: ({ config }) => {
    const name = health.name({ path: config.stagingHealthPath });
    return {
      head: config.healthCheck
        ? `GET ${config.stagingApiBaseUrl}${config.stagingHealthPath}`
        : 'skipped (HEALTH_CHECK=0)',
      checks: [config.healthCheck ? name : `${name} (skipped: HEALTH_CHECK=0)`],
    };
  },
  concurrent: false,
  subjects,
  name: (p) => `health GET ${p.path}`,
  async check(_probe, ctx, notes) {
    const config = configOf(ctx);
    const url = redact(`${config.stagingApiBaseUrl}${config.stagingHealthPath}`);
    const timeoutMs = config.healthTimeoutMs;
    const t0 = performance.now();
    const elapsed = () => Math.round(performance.now() - t0);
    let res: request.Response;
    try {
      // supertest is loaded only when the probe runs (HEALTH_CHECK=0 runs never pay for it).
      const { default: supertest } = await import('supertest');
      res = await supertest(config.stagingApiBaseUrl)
        .get(config.stagingHealthPath)
        .ok(() => true) // judge the status here, with the body in the message
        .timeout({ response: timeoutMs, deadline: timeoutMs });
    } catch (e) {
      const what = describeFailure(e, timeoutMs);
      await notes(`GET ${url}: ${what} after ${elapsed()} ms`, 'evidence');
      return failed(`health GET ${url}: expected a 2xx answer, got ${what}`);
    }
    const body = redact((res.text ?? '').slice(0, 200).replace(/\s+/g, ' '));
    await notes(`GET ${url}: HTTP ${res.status} in ${elapsed()} ms; body: ${body || '(empty)'}`, 'evidence');
    if (res.status < 200 || res.status >= 300)
      return failed(`health GET ${url}: expected a 2xx status, got HTTP ${res.status}; body: ${body || '(empty)'}`);
  },
};

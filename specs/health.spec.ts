/**
 * Health: `health GET /health` against the staging API (STAGING_API_BASE_URL + STAGING_HEALTH_PATH), bounded by
 * HEALTH_TIMEOUT_MS; a 2xx answer passes. HEALTH_CHECK=0 skips it, visibly.
 */
import type request from 'supertest';
import { test } from 'vitest';
import { checkConfig, rehearsalContext } from '../lib/checks/shared/context.ts';
import { redact } from '../lib/core/redact.ts';
import { failNotChecked } from '../lib/checks/shared/verdict.ts';

const ctx = rehearsalContext();
const config = checkConfig();
const name = `health GET ${config.stagingHealthPath}`;

/** What went wrong with the request, in words (supertest: timeout → ECONNABORTED; refused → "ECONNREFUSED: ..."). */
function describeFailure(e: unknown, timeoutMs: number): string {
  const err = e as { code?: string; message?: string; timeout?: number };
  const msg = err?.message ?? String(e);
  if (err?.code === 'ECONNABORTED' || err?.timeout !== undefined || /timeout/i.test(msg))
    return `no answer within HEALTH_TIMEOUT_MS=${timeoutMs} ms (timed out)`;
  if (err?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg))
    return 'connection refused (nothing is listening there)';
  if (err?.code === 'ENOTFOUND' || /ENOTFOUND/.test(msg)) return 'host not found';
  return `request failed: ${msg}`;
}

if (!config.healthCheck) {
  test.skip(`${name} (skipped: HEALTH_CHECK=0)`, () => {});
} else {
  test(name, async ({ annotate, expect }) => {
    if (ctx.blockedBy) failNotChecked(ctx.blockedBy);
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
      await annotate(`GET ${url}: ${what} after ${elapsed()} ms`, 'evidence');
      return expect.fail(`health GET ${url}: expected a 2xx answer, got ${what}`);
    }
    const body = redact((res.text ?? '').slice(0, 200).replace(/\s+/g, ' '));
    await annotate(`GET ${url}: HTTP ${res.status} in ${elapsed()} ms; body: ${body || '(empty)'}`, 'evidence');
    if (res.status < 200 || res.status >= 300) {
      expect.fail(`health GET ${url}: expected a 2xx status, got HTTP ${res.status}; body: ${body || '(empty)'}`);
    }
  });
}

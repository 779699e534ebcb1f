import { expect, test } from 'vitest';
import { startHealthServer } from '../../../lib/sandbox/health-server.ts';

test('the health server answers its path with the status set, 404 elsewhere, and closes', async () => {
  const h = await startHealthServer({ path: '/health' });
  try {
    const ok = await fetch(`${h.url}/health`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    h.setStatus(503);
    const bad = await fetch(`${h.url}/health?probe=1`);
    expect(bad.status).toBe(503);
    expect(await bad.json()).toEqual({ status: 'error' });
    expect((await fetch(`${h.url}/other`)).status).toBe(404);
  } finally {
    await h.close();
  }
});

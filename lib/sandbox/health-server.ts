/**
 * A tiny HTTP server standing in for the staging API's health endpoint (demo and tests).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthServer {
  url: string;
  port: number;
  /** Change the status code answered from now on (e.g. 500 to simulate an unhealthy API). */
  setStatus(code: number): void;
  /** Delay every answer (to exercise timeouts). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export async function startHealthServer(
  opts: { port?: number; path?: string; status?: number } = {},
): Promise<HealthServer> {
  let status = opts.status ?? 200;
  let delay = 0;
  const healthPath = opts.path ?? '/health';
  const server = http.createServer((req, res) => {
    const answer = () => {
      if (req.url?.split('?')[0] === healthPath) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: status < 300 ? 'ok' : 'error' }));
      } else {
        res.writeHead(404).end();
      }
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setStatus: (c) => (status = c),
    setDelay: (ms) => (delay = ms),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

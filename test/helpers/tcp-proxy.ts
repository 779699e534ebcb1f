/**
 * A TCP proxy on loopback: a second name (another port) for the same server, closed when the test finishes. Used to
 * prove the identity guard does not trust host:port (hardening-steer, safety-guards).
 */
import net from 'node:net';
import { onTestFinished } from 'vitest';

/** A TCP proxy on loopback to `port`: a second name for the same server. */
export async function tcpProxy(port: number): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

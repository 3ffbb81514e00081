/**
 * One API port for both plain HTTP and HTTPS. kubectl (client-go) sends bearer tokens only over
 * TLS — it drops the kubeconfig's credentials for an http:// server — so the kubeconfig points at
 * https://, while the machine's raw HTTP clients (tests, benchmarks, scripts) keep using
 * http:// on the same port with an `Authorization` header. Every connection is handed to the
 * HTTPS server when its first byte starts a TLS handshake (0x16) and to the HTTP server otherwise;
 * both serve the same request handler, so access control applies to both.
 *
 * Hand-written (about 40 lines) rather than the `httpolyglot` package, which is unmaintained and
 * predates Node's connection tracking; the peek is `pauseOnConnect` + read(1) + unshift.
 */
import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** A TLS ClientHello record starts with content type 22 (handshake). */
const TLS_HANDSHAKE = 0x16;
/** A client that connects and sends nothing for this long is dropped before it reaches either server. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

export interface TlsFront {
  front: net.Server;
  tlsServer: https.Server;
  /** Sockets still waiting for their first byte (destroyed on close). */
  pending: Set<net.Socket>;
}

export function createTlsFront(plain: http.Server, tls: { cert: string; key: string }, handler: http.RequestListener): TlsFront {
  const tlsServer = https.createServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: plain.keepAliveTimeout, requestTimeout: 0 }, handler);
  const pending = new Set<net.Socket>();
  const front = net.createServer({ pauseOnConnect: true }, (socket) => {
    pending.add(socket);
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('close', () => pending.delete(socket));
    socket.once('readable', () => {
      pending.delete(socket);
      socket.setTimeout(0);
      const first = socket.read(1) as Buffer | null;
      if (!first) { socket.destroy(); return; }
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? tlsServer : plain).emit('connection', socket);
      socket.resume();
    });
    socket.on('error', () => socket.destroy());
  });
  return { front, tlsServer, pending };
}

/**
 * Starts connection tracking on servers that receive their connections from the front instead of
 * listening themselves (node:http sets it up on 'listening'; closeIdleConnections and the
 * headers/request timeout checks need it).
 */
export function trackInjectedConnections(...servers: http.Server[]): void {
  for (const s of servers) s.emit('listening');
}

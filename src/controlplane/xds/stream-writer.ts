/**
 * Writes messages to a gRPC server stream with backpressure: when the transport's buffer is full
 * (`write` returns false) the next write waits for 'drain', so a slow proxy holds up only its own
 * push slot, never the control process's memory. Shared by the SotW and Delta connections.
 */
import type * as grpc from '@grpc/grpc-js';

export type AdsCall = grpc.ServerDuplexStream<any, any>;

export class StreamWriter {
  private readonly call: AdsCall;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(call: AdsCall) {
    this.call = call;
    call.on('close', () => { this.closed = true; });
  }

  async write(message: object | Buffer): Promise<void> {
    while (this.draining) await this.draining;
    if (this.closed || this.call.cancelled || this.call.writableEnded) return;
    const ok = this.call.write(message);
    if (!ok) {
      this.draining = new Promise<void>((resolve) => {
        const done = (): void => {
          this.call.off('drain', done);
          this.call.off('close', done);
          this.draining = undefined;
          resolve();
        };
        this.call.on('drain', done);
        this.call.on('close', done);
      });
    }
  }
}

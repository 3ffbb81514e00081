/**
 * A one-method gRPC service (`/sluice.test.Who/WhoAmI`, JSON-encoded messages) for the
 * proxyless-gRPC acceptance test: each backend answers with its own name, so the client can
 * count how the xDS route split the calls. JSON serializers keep the test free of .proto files.
 */
import * as grpc from '@grpc/grpc-js';

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v ?? {})),
  deserialize: (b: Buffer): any => (b.length ? JSON.parse(b.toString('utf8')) : {}),
};

export const whoService: grpc.ServiceDefinition = {
  WhoAmI: {
    path: '/sluice.test.Who/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

/** Starts a backend on 127.0.0.1:0 answering `{ name }`; resolves to its port and a stop function. */
export async function startWhoBackend(name: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = new grpc.Server();
  server.addService(whoService, {
    WhoAmI: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { name }),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { port, stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

// The HTTP side of the emulator: one server on 127.0.0.1 for every emulated service. A request goes
// to the service its SigV4 credential scope names (ec2, rds, monitoring), as AWS's per-service
// hostnames would send it; the service answers, or asks for the connection to be dropped without an
// answer (a lost response).
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { verifySignature } from './sigv4';
import type { EmulatorCredentials, RequestAuth } from './sigv4';

export interface SignedRequest {
  body: string;
  headers: IncomingHttpHeaders;
  auth: RequestAuth;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An answer, or 'drop': close the connection without one. */
export type Reply = HttpReply | 'drop';

export interface EmulatedService {
  /** The SigV4 signing name the SDK uses for it (ec2, rds, monitoring). */
  readonly signingName: string;
  serve(request: SignedRequest): Reply;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export class EmulatorHttpServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async listen(
    services: readonly EmulatedService[],
    credentials: EmulatorCredentials,
  ): Promise<EmulatorHttpServer> {
    const bySigningName = new Map(services.map((service) => [service.signingName, service]));
    const server = createServer((request, response) => {
      void EmulatorHttpServer.answer(bySigningName, credentials, request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new EmulatorHttpServer(server, `http://127.0.0.1:${port}`);
  }

  private static async answer(
    services: ReadonlyMap<string, EmulatedService>,
    credentials: EmulatorCredentials,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const body = await readBody(request).catch(() => null);
    if (body === null) return;
    const auth = verifySignature(
      credentials,
      request.method ?? 'POST',
      request.url ?? '/',
      request.headers,
      body,
    );
    const service = auth.service === null ? undefined : services.get(auth.service);
    if (service === undefined) {
      response.writeHead(400, { 'content-type': 'text/plain' });
      response.end(`no emulated service for signing name ${auth.service ?? '(unsigned request)'}`);
      return;
    }
    const reply = service.serve({ body: body.toString('utf8'), headers: request.headers, auth });
    if (reply === 'drop') {
      request.socket.destroy();
      return;
    }
    response.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
    response.end(reply.body);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Keep-alive sockets of SDK clients would hold the server open.
      this.server.closeAllConnections();
    });
  }
}

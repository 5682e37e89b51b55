// The protocol handshake over real sockets: a controller refuses a worker of another protocol version (older,
// unversioned, or newer) with a message naming both, and a worker refuses a controller of another version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { InfaasError, invalid, unavailable } from '../core/errors.ts';
import { PROTOCOL_VERSION } from '../protocol/worker-protocol.ts';
import { attachFrames, writeFrame, type Frame } from './frame.ts';
import { errorHeader } from './protocol.ts';
import { serveWorker, type WorkerService } from './worker-server.ts';
import { TcpWorkerClient } from './worker-connection.ts';

/** A worker that answers every request with `answer(frame)`: stands in for workers of other releases. */
async function fakeWorker(answer: (f: Frame) => InfaasError | object) {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    attachFrames(socket, (f) => {
      const a = answer(f);
      writeFrame(socket, a instanceof InfaasError ? errorHeader(f.header.id, a) : { id: f.header.id, type: 'ok', result: a });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { address: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

const refusedWith = (re: RegExp) => (e: unknown) => e instanceof InfaasError && e.code === 'UNAVAILABLE' && re.test(e.message);

test('a controller refuses an unversioned (protocol 1) worker, saying so', async () => {
  const w = await fakeWorker((f) => invalid(`unknown request type "${f.header.type}"`));
  await assert.rejects(TcpWorkerClient.connect('old', w.address, { timeoutMs: 1000 }), refusedWith(new RegExp(`worker old at .* speaks worker protocol 1 and this controller speaks ${PROTOCOL_VERSION}`)));
  await w.close();
});

test('a controller refuses a worker that answers hello with another version', async () => {
  const w = await fakeWorker(() => ({ protocol: PROTOCOL_VERSION + 1, id: 'new', workerClass: 'cpu-1' }));
  await assert.rejects(TcpWorkerClient.connect('new', w.address, { timeoutMs: 1000 }), refusedWith(new RegExp(`speaks worker protocol ${PROTOCOL_VERSION + 1} and this controller speaks ${PROTOCOL_VERSION}`)));
  await w.close();
  const refusing = await fakeWorker(() => unavailable('worker w3 speaks worker protocol 3 but the controller speaks 2', { workerProtocol: 3, controllerProtocol: 2 }));
  await assert.rejects(TcpWorkerClient.connect('w3', refusing.address, { timeoutMs: 1000 }), refusedWith(/speaks worker protocol 3 and this controller speaks/));
  await refusing.close();
});

test('a worker answers hello with who it is, and refuses a controller of another version', async () => {
  const service = { id: 'w7', workerClass: 'cpu-2' } as WorkerService;
  const server = await serveWorker(service, { host: '127.0.0.1', port: 0 });
  const client = await TcpWorkerClient.connect('w7', server.address, { timeoutMs: 1000 });
  assert.deepEqual(client.hello, { protocol: PROTOCOL_VERSION, id: 'w7', workerClass: 'cpu-2' });
  client.close();
  const [host, port] = server.address.slice('tcp://'.length).split(':');
  const socket = connect(Number(port), host);
  const reply = await new Promise<Frame>((resolve) => {
    attachFrames(socket, resolve);
    writeFrame(socket, { id: 1, type: 'hello', protocol: 1 });
  });
  socket.destroy();
  assert.equal(reply.header.type, 'error');
  assert.equal(reply.header.code, 'UNAVAILABLE');
  assert.match(String(reply.header.message), new RegExp(`worker w7 speaks worker protocol ${PROTOCOL_VERSION} but the controller speaks 1`));
  await server.close();
});

test('a controller refuses a process that answers as another worker (a wrong advertised address)', async () => {
  const w = await fakeWorker(() => ({ protocol: PROTOCOL_VERSION, id: 'someone-else', workerClass: 'cpu-1' }));
  await assert.rejects(TcpWorkerClient.connect('w5', w.address, { timeoutMs: 1000 }), refusedWith(/answered as worker "someone-else", not w5: check the address the worker advertises/));
  await w.close();
});

// Tests of the binary framing: split and coalesced chunks, large payloads, alignment, real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { FrameDecoder, attachFrames, encodeFrame, float32View, writeFrame, type Frame } from './frame.ts';

function frames(header: { id: number; type: string; [k: string]: unknown }, payload?: Float32Array): Buffer {
  return Buffer.concat(encodeFrame(header, payload ? [payload] : []));
}

function decodeAll(chunks: Buffer[]): Frame[] {
  const out: Frame[] = [];
  const d = new FrameDecoder((f) => out.push(f));
  for (const c of chunks) d.push(c);
  assert.equal(d.buffered, 0);
  return out;
}

test('a frame split at every byte position decodes identically', () => {
  const data = Float32Array.from([1.5, -2, 3.25, 1e-7, 42]);
  const bytes = frames({ id: 7, type: 'infer', shape: [1, 5], note: 'héllo' }, data);
  assert.equal((bytes.readUInt32LE(4) + 8) % 8, 0, 'payload is 8-byte aligned in the frame');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const [f] = decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
    assert.deepEqual(f.header, { id: 7, type: 'infer', shape: [1, 5], note: 'héllo' });
    assert.deepEqual(float32View(f.payload), data);
  }
  // one byte at a time
  const one = decodeAll([...bytes].map((b) => Buffer.from([b])));
  assert.equal(one.length, 1);
  assert.deepEqual(float32View(one[0].payload), data);
});

test('many frames coalesced in one chunk, and odd re-chunking, decode in order', () => {
  const all = Buffer.concat(Array.from({ length: 50 }, (_, i) => frames({ id: i, type: 't' }, i % 3 ? Float32Array.from([i, i + 1]) : undefined)));
  const check = (fs: Frame[]) => {
    assert.equal(fs.length, 50);
    fs.forEach((f, i) => {
      assert.equal(f.header.id, i);
      assert.deepEqual([...float32View(f.payload)], i % 3 ? [i, i + 1] : []);
    });
  };
  check(decodeAll([all]));
  const pieces: Buffer[] = [];
  for (let at = 0, k = 1; at < all.length; at += k, k = (k * 7 + 3) % 97 || 1) pieces.push(all.subarray(at, at + k));
  check(decodeAll(pieces));
});

test('a large payload arriving in 64 KiB chunks is assembled once and correctly', () => {
  const data = new Float32Array(4 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = i * 0.5;
  const bufs = encodeFrame({ id: 1, type: 'big' }, [data]);
  assert.equal(bufs.length, 2, 'large payload is not copied into the head');
  const all = Buffer.concat(bufs);
  const pieces: Buffer[] = [];
  for (let at = 3; at < all.length; at += 65536) pieces.push(all.subarray(at, Math.min(all.length, at + 65536)));
  const [f] = decodeAll([all.subarray(0, 3), ...pieces]);
  const back = float32View(f.payload);
  assert.equal(back.length, data.length);
  assert.equal(back[12345], 12345 * 0.5);
  assert.equal(back[data.length - 1], (data.length - 1) * 0.5);
});

test('float32View copies an unaligned payload and rejects a ragged one', () => {
  const b = Buffer.alloc(13);
  new Float32Array([3.5, -1, 9]).forEach((v, i) => b.writeFloatLE(v, 1 + i * 4));
  assert.deepEqual([...float32View(b.subarray(1))], [3.5, -1, 9]);
  assert.throws(() => float32View(b.subarray(0, 6)), RangeError);
});

test('a corrupt length prefix is a protocol error', () => {
  const d = new FrameDecoder(() => undefined);
  assert.throws(() => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])), RangeError);
  const d2 = new FrameDecoder(() => undefined);
  const bad = Buffer.alloc(12);
  bad.writeUInt32LE(8, 0);
  bad.writeUInt32LE(4, 4);
  bad.write('nope', 8);
  assert.throws(() => d2.push(bad));
});

test('frames cross a real loopback socket both ways, with TCP_NODELAY', async () => {
  const server = createServer((s) => attachFrames(s, (f) => writeFrame(s, { id: f.header.id, type: 'echo' }, [float32View(f.payload)])));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const got = new Map<number, Float32Array>();
  const done = new Promise<void>((resolve) =>
    attachFrames(sock, (f) => {
      got.set(f.header.id, float32View(f.payload));
      if (got.size === 20) resolve();
    }),
  );
  for (let i = 0; i < 20; i++) writeFrame(sock, { id: i, type: 'req' }, [new Float32Array(i * 5000).fill(i)]);
  await done;
  for (let i = 0; i < 20; i++) {
    assert.equal(got.get(i)!.length, i * 5000);
    assert.ok(got.get(i)!.every((v) => v === i));
  }
  sock.destroy();
  await new Promise((r) => server.close(r));
});

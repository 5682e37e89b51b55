// Test kit: a real redis-server child process on a free loopback port with its own temp dir, fsync'd AOF
// persistence, and stop / kill (SIGKILL) / restart for outage tests. It never outlives the test process.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** The loopback address to bind (default 127.0.0.1; e.g. 127.0.0.2 for a second "host"). */
  host?: string;
  /** Extra redis-server arguments, e.g. ['--requirepass', 'secret']. */
  args?: string[];
  /** How long to wait for the server to answer PING (default 10 s). */
  startTimeoutMs?: number;
  /** The redis-server binary (default: `redis-server` on the PATH). */
  binary?: string;
}

/** A running redis-server started by `startRedis`. */
export interface RedisServer {
  /** `redis://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Its working directory (the AOF lives here); removed by `stop`. */
  readonly dir: string;
  /** Shuts it down (SIGTERM, then SIGKILL after 5 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs it, as a crash would; the directory stays for `restart`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (stopping it first if it runs); resolves once it answers PING. */
  restart(): Promise<void>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;
/** With util-linux's setpriv the server also dies with SIGKILL if this process is killed outright. */
const SETPRIV = '/usr/bin/setpriv';

/** Starts a redis-server on a free port of `host`; resolves once it answers PING. */
export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  installExitHook();
  const host = opts.host ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'infaas-redis-'));
  dirs.add(dir);
  let child: ChildProcess | undefined;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort(host);
      try {
        child = await launch(opts, host, port, dir);
        break;
      } catch (e) {
        // another process may have taken the port between the probe and redis binding it
        if (attempt >= 5 || !String((e as Error).message).includes('Address already in use')) throw e;
      }
    }
  } catch (e) {
    dirs.delete(dir);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  let stopped = false;
  const server: RedisServer = {
    url: `redis://${host}:${port}`,
    host,
    port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(child, 'SIGTERM');
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      dirs.delete(dir);
    },
    async kill() {
      await terminate(child, 'SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error('redis-server was stopped (its directory is gone); start a new one');
      await terminate(child, 'SIGTERM');
      child = await launch(opts, host, port, dir);
    },
  };
  return server;
}

/** Spawns the server and waits until it answers PING; rejects with its output if it exits first. */
async function launch(opts: RedisServerOptions, host: string, port: number, dir: string): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', host, '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
    '--daemonize', 'no', '--protected-mode', 'no', '--loglevel', 'warning',
    ...(opts.args ?? []),
  ];
  const binary = opts.binary ?? 'redis-server';
  const child = existsSync(SETPRIV)
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString('utf8')).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited = `exited (${signal ?? `code ${code}`})`;
  });
  child.once('error', (e) => void (exited = `failed to start: ${e.message}`));
  const until = Date.now() + (opts.startTimeoutMs ?? 10_000);
  while (!(await ping(host, port))) {
    if (exited !== undefined || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on ${host}:${port} ${exited ?? 'did not answer PING in time'}: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return child;
}

/** Sends `signal` and waits for the process to exit (SIGKILL after 5 s). */
async function terminate(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Whether a Redis server answers PING on host:port right now. */
function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH')); // NOAUTH: up, with a password
    });
  });
}

/** A port that was free on `host` a moment ago (the OS picks it). */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Kills every server still running and removes their directories when the process exits, however it exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // a server still dying may be writing there; the OS temp dir cleaner gets the rest
      }
    }
  });
}

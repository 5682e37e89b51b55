// Test kit: several "hosts" on this machine for multi-process tests. Where the test may create network
// namespaces (`ip netns`, as root), each host is a namespace of its own with one address on a private bridge,
// so processes on different hosts talk only over TCP through a real network stack; elsewhere each host is a
// distinct loopback address (127.0.0.2, 127.0.0.3, …). The test process itself sits on the bridge (or on
// loopback), where servers every host must reach (Redis) listen. Everything is removed when the process exits.

import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface TestHost {
  name: string;
  /** The address processes on this host listen on and are reached at. */
  ip: string;
  /** Spawns a process on this host. */
  spawn(command: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
}

export interface TestHosts {
  mode: 'netns' | 'loopback';
  /** The test process's own address, reachable from every host. */
  rootIp: string;
  hosts: TestHost[];
  cleanup(): void;
}

const run = (args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });

/** `n` hosts: namespaces when they can be made here (unless INFAAS_TEST_NETNS=0), otherwise loopback addresses. */
export function makeHosts(n: number): TestHosts {
  if (process.env.INFAAS_TEST_NETNS !== '0') {
    const made = tryNamespaces(n);
    if (made) return made;
  }
  const hosts = Array.from({ length: n }, (_, i) => ({ name: `host${i + 1}`, ip: `127.0.0.${i + 2}`, spawn: (c: string, a: readonly string[], o: SpawnOptions = {}) => spawn(c, a, o) }));
  return { mode: 'loopback', rootIp: '127.0.0.1', hosts, cleanup: () => undefined };
}

function tryNamespaces(n: number): TestHosts | undefined {
  const tag = String(process.pid % 100000);
  const subnet = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const bridge = `ib${tag}`;
  const names = Array.from({ length: n }, (_, i) => `infaas-${tag}-${i + 1}`);
  const cleanup = () => {
    for (const ns of names) run(['netns', 'del', ns]);
    run(['link', 'del', bridge]);
  };
  const steps: string[][] = [
    ['link', 'add', 'name', bridge, 'type', 'bridge'],
    ['addr', 'add', `${subnet}.1/24`, 'dev', bridge],
    ['link', 'set', bridge, 'up'],
  ];
  names.forEach((ns, i) => {
    const host = `ih${tag}h${i}`;
    const peer = `ih${tag}n${i}`;
    steps.push(
      ['netns', 'add', ns],
      ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer],
      ['link', 'set', host, 'master', bridge],
      ['link', 'set', host, 'up'],
      ['link', 'set', peer, 'netns', ns],
      ['-n', ns, 'addr', 'add', `${subnet}.${i + 2}/24`, 'dev', peer],
      ['-n', ns, 'link', 'set', peer, 'up'],
      ['-n', ns, 'link', 'set', 'lo', 'up'],
    );
  });
  for (const step of steps) {
    const r = run(step);
    if (r.error || r.status !== 0) {
      cleanup();
      return undefined;
    }
  }
  process.once('exit', cleanup);
  const hosts = names.map((ns, i) => ({
    name: ns,
    ip: `${subnet}.${i + 2}`,
    spawn: (c: string, a: readonly string[], o: SpawnOptions = {}) => spawn('ip', ['netns', 'exec', ns, c, ...a], o),
  }));
  return { mode: 'netns', rootIp: `${subnet}.1`, hosts, cleanup };
}

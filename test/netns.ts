/**
 * Scratch network namespaces for the tests that ask a real kernel: each namespace is named
 * `PREFIX-NAME` and remembered, `cleanup()` deletes every one of them. Nothing here touches the
 * root namespace.
 */
import { spawnSync } from 'node:child_process';

export interface Netns {
  /** runs a shell command; throws with its stderr when it fails */
  sh(cmd: string, input?: string): string;
  /** runs a command in a namespace */
  inNs(ns: string, cmd: string, input?: string): string;
  /** a new namespace with lo up; its full name */
  netns(name: string): string;
  /** a veth pair from a (aIf) to b (bIf), up, with these "IP/len" addresses on each side */
  veth(a: string, aIf: string, aAddrs: readonly string[], b: string, bIf: string, bAddrs: readonly string[]): void;
  /** deletes every namespace made */
  cleanup(): void;
}

export function scratchNetns(prefix: string): Netns {
  const created: string[] = [];
  const sh = (cmd: string, input?: string): string => {
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    return r.stdout;
  };
  const inNs = (ns: string, cmd: string, input?: string): string => sh(`ip netns exec ${ns} ${cmd}`, input);
  return {
    sh,
    inNs,
    netns(name) {
      const n = `${prefix}-${name}`;
      sh(`ip netns add ${n}`);
      created.push(n);
      inNs(n, 'ip link set lo up');
      return n;
    },
    veth(a, aIf, aAddrs, b, bIf, bAddrs) {
      // made inside the namespaces: nothing is ever created in the root namespace
      sh(`ip -n ${a} link add ${aIf} type veth peer name ${bIf} netns ${b}`);
      for (const x of aAddrs) inNs(a, `ip addr add ${x} dev ${aIf}`);
      for (const x of bAddrs) inNs(b, `ip addr add ${x} dev ${bIf}`);
      inNs(a, `ip link set ${aIf} up`);
      inNs(b, `ip link set ${bIf} up`);
    },
    cleanup() {
      for (const n of created.splice(0)) spawnSync('ip', ['netns', 'del', n]);
    },
  };
}

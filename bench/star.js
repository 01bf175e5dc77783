// npm run bench, scaling: a star of N containers behind one bridge (br0 on one host), each an
// `ip netns add` namespace on a veth whose host end is a br0 port, each listening on tcp/80;
// probe k: container k curls container k+1. Figures only; never asserts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const addr = (k) => `10.1.${(k + 2) >> 8}.${(k + 2) & 255}`;

/** The model file text of a star of `n` containers (`probes`: how many, from container 0 on). */
export function starModel(n, probes = n) {
  const run = ['$ ip link add br0 type bridge', '$ ip addr add 10.1.0.1/16 dev br0', '$ ip link set br0 up'];
  for (let k = 0; k < n; k++) {
    run.push(
      `$ ip netns add c${k}`,
      `$ ip link add veth${k} type veth peer name vp${k}`,
      `$ ip link set veth${k} netns c${k}`,
      `$ ip link set vp${k} master br0`,
      `$ ip link set vp${k} up`,
      `$ ip netns exec c${k} ip addr add ${addr(k)}/16 dev veth${k}`,
      `$ ip netns exec c${k} ip link set veth${k} up`,
    );
  }
  const lines = [`name: star of ${n} containers on br0`, 'hosts:', '  web2:', '    run: |', ...run.map((l) => `      ${l}`), 'services:'];
  for (let k = 0; k < n; k++) lines.push(`  - {at: c${k}, listen: tcp/80}`);
  lines.push('probes:');
  for (let k = 0; k < Math.min(n, probes); k++) lines.push(`  - {name: c${k} curl c${(k + 1) % n}, from: c${k}, to: "${addr((k + 1) % n)}:80", proto: tcp, expect: reachable}`);
  return lines.join('\n') + '\n';
}

export function writeStar(dir, n, probes = n) {
  const f = join(dir, `star-${n}.yaml`);
  writeFileSync(f, starModel(n, probes));
  return f;
}

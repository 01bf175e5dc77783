/**
 * The conformance generator's nftables mutation: a table of the plan's own (named `np*`, never
 * iptables-nft's `filter`/`nat`/`mangle`/`raw`, which the same namespace may hold) with a base
 * chain on a hook, and rules drawn from the forms admins and producers write: sets, verdict maps,
 * reject with each `with` form, ct state/mark, meta mark, fib, iifname/oifname, jump to a regular
 * chain, masquerade/snat/dnat/redirect. Lines are written as admins type them: the chain spec and
 * anything with braces quoted for the shell.
 */

/** What the mutation needs from the plan (see gen.ts MutationCtx). */
export interface NftCtx {
  /** the mutation's index in the plan: unique table names */
  readonly fi: number;
  /** draw numbers (0..15) */
  readonly i: number;
  readonly j: number;
  readonly k: number;
  readonly own: readonly string[];
  readonly subnets: readonly string[];
  readonly dev: string;
  /** an address that is not the namespace's own (or 10.9.9.9) */
  readonly other: (i: number) => string;
  /** a route line in table 100 (for meta mark + ip rule fwmark) */
  readonly table100: (line: string) => void;
}

/** The element at index `i` modulo the list's length (every generator choice is such an index). */
export function pick<T>(list: readonly T[], i: number): T {
  return list[((i % list.length) + list.length) % list.length]!;
}

/** The variants the mutation draws (docs/replay.md lists them). */
export const NFT_VARIANTS = ['filter', 'policy-drop', 'inet', 'masquerade', 'dnat', 'mark'] as const;

export function nftMutation(c: NftCtx): string[] {
  const { fi, i, j, k, dev } = c;
  const proto = pick(['tcp', 'udp', 'icmp'] as const, k);
  const l4 = proto === 'icmp' ? 'ip protocol icmp' : `meta l4proto ${proto}`;
  const port = proto === 'udp' ? 53 : 80;
  const hook = pick(['input', 'forward', 'output'], j);
  const prio = pick(['filter', '0', '-10', '10', 'filter + 5'], k);
  const t = `npf${fi}`;
  const L: string[] = [];
  switch (pick(NFT_VARIANTS, i)) {
    case 'filter': {
      L.push(`nft add table ip ${t}`, `nft 'add chain ip ${t} c { type filter hook ${hook} priority ${prio}; policy accept; }'`);
      const rule = pick(
        [
          `ip daddr ${c.other(k)} ${l4} drop`,
          "tcp dport { 80, 81 } reject with tcp reset",
          'meta l4proto udp reject',
          `ip saddr ${pick(c.subnets, k)} reject with icmp type ${pick(['host-unreachable', 'net-unreachable', 'admin-prohibited', 'port-unreachable'], j)}`,
          `iifname "${dev}" ${l4} drop`,
          `oifname "${dev}" ${l4} counter drop`,
          `fib daddr type local th dport ${port} drop`,
          `ip daddr vmap { ${c.other(k)} : drop, ${c.other(k + 1)} : accept }`,
          `ct state new ${l4} reject`,
          `udp dport { 53, 54 } drop`,
        ],
        j + k,
      );
      if ((j * 3 + k) % 4 === 3) {
        // a regular chain reached by jump (or goto), returning on its own
        L.push(`nft add chain ip ${t} sub`, `nft 'add rule ip ${t} c ${l4} ${k % 2 === 0 ? 'jump' : 'goto'} sub'`, `nft 'add rule ip ${t} sub ${rule}'`);
      } else L.push(`nft '${(j + k) % 3 === 1 ? 'insert' : 'add'} rule ip ${t} c ${rule}'`);
      return L;
    }
    case 'policy-drop':
      L.push(
        `nft add table ip ${t}`,
        `nft 'add chain ip ${t} c { type filter hook ${hook} priority ${prio}; policy drop; }'`,
        `nft add rule ip ${t} c ct state established,related accept`,
        `nft add rule ip ${t} c ${pick([`${proto === 'icmp' ? 'ip protocol icmp' : `${proto} dport ${port}`} accept`, `ip saddr ${pick(c.subnets, j)} accept`, 'iifname "lo" accept', `ip protocol icmp accept`], k)}`,
      );
      return L;
    case 'inet':
      L.push(
        `nft add table inet npi${fi}`,
        `nft 'add chain inet npi${fi} c { type filter hook ${hook} priority ${prio}; policy accept; }'`,
        `nft 'add rule inet npi${fi} c ${pick([`ip daddr ${c.other(k)} drop`, `meta l4proto ${proto === 'icmp' ? 'icmp' : proto} reject with icmpx type ${pick(['admin-prohibited', 'host-unreachable', 'port-unreachable', 'no-route'], j)}`, `meta nfproto ipv4 th dport ${port} reject`], j)}'`,
      );
      return L;
    case 'masquerade': {
      if (c.own.length === 0) return L;
      L.push(`nft add table ip npn${fi}`, `nft 'add chain ip npn${fi} post { type nat hook postrouting priority srcnat; }'`);
      L.push(
        `nft add rule ip npn${fi} post ${pick([`ip saddr ${pick(c.subnets, j)} oifname "${dev}" masquerade`, `oifname "${dev}" snat to ${pick(c.own, k)}`, `ip saddr ${pick(c.subnets, j)} masquerade`, `meta l4proto ${proto === 'icmp' ? 'tcp' : proto} snat to ${pick(c.own, k)}:20000-20010`], k)}`,
      );
      return L;
    }
    case 'dnat': {
      if (c.own.length === 0) return L;
      const hookN = j % 2 === 0 ? 'prerouting' : 'output';
      const prioN = hookN === 'prerouting' ? 'dstnat' : '-100';
      const p = proto === 'udp' ? 'udp' : 'tcp';
      L.push(`nft add table ip npn${fi}`, `nft 'add chain ip npn${fi} pre { type nat hook ${hookN} priority ${prioN}; }'`);
      const d = hookN === 'prerouting' ? pick(c.own, k) : c.other(k);
      L.push(
        `nft add rule ip npn${fi} pre ${pick([`ip daddr ${d} ${p} dport 8080 dnat to ${c.other(j)}:${p === 'udp' ? 53 : 80}`, `${p} dport 8080 redirect to :${p === 'udp' ? 53 : 80}`, `ip daddr ${d} ${p} dport 8080 dnat to ${c.other(j)}`], k)}`,
      );
      return L;
    }
    case 'mark': {
      L.push(`nft add table ip ${t}`, `nft 'add chain ip ${t} m { type filter hook ${j % 2 === 0 ? 'prerouting' : 'output'} priority mangle; }'`);
      if (k % 2 === 0) {
        L.push(`nft add rule ip ${t} m ${l4} meta mark set 0x1`, 'ip rule add fwmark 0x1 lookup 100');
        c.table100(pick(['ip route add unreachable default table 100', 'ip route add blackhole default table 100', 'ip route add prohibit default table 100'], j));
      } else {
        L.push(
          `nft add rule ip ${t} m ${l4} ct mark set 0x2`,
          `nft 'add chain ip ${t} c { type filter hook ${hook} priority filter; }'`,
          `nft add rule ip ${t} c ct mark 0x2 ${pick(['drop', 'reject', 'accept'], j)}`,
        );
      }
      return L;
    }
  }
}

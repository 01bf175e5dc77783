/** `-j REJECT [--reject-with TYPE]` (libipt_REJECT, ipt_REJECT): filter table only. */
import type { RejectWith } from '../types.js';
import { fail, opt, rejectVerdict, type TargetExt } from './api.js';
import * as r from './reader.js';

export type RejectTarget = { readonly kind: 'REJECT'; readonly with: RejectWith };

/** libipt_REJECT's names and their short aliases, in its table's order (prefixes accepted) */
const REJECT_TABLE: readonly [RejectWith, string][] = [
  ['icmp-net-unreachable', 'net-unreach'],
  ['icmp-host-unreachable', 'host-unreach'],
  ['icmp-proto-unreachable', 'proto-unreach'],
  ['icmp-port-unreachable', 'port-unreach'],
  ['icmp-net-prohibited', 'net-prohib'],
  ['icmp-host-prohibited', 'host-prohib'],
  ['tcp-reset', 'tcp-rst'],
  ['icmp-admin-prohibited', 'admin-prohib'],
];

const REJECT_WITH: readonly RejectWith[] = REJECT_TABLE.map(([w]) => w);

export const REJECT: TargetExt<RejectTarget> = {
  name: 'REJECT',
  opts: [opt('reject-with', 'reject-with', true, false)],
  table: 'filter',
  hooks: ['INPUT', 'FORWARD', 'OUTPUT'],
  parser() {
    let w: RejectWith | undefined;
    return {
      option(_id, arg) {
        if (w) fail('REJECT: option "--reject-with" can only be used once.');
        const a = arg.toLowerCase();
        const hit = REJECT_TABLE.find(([n, alias]) => a !== '' && (n.startsWith(a) || alias.startsWith(a)));
        if (!hit) fail(`unknown reject type "${arg}"`);
        w = hit[0];
      },
      finish: () => ({ kind: 'REJECT', with: w ?? 'icmp-port-unreachable' }),
    };
  },
  save: (t) => `-j REJECT --reject-with ${t.with}`,
  fast() {
    if (!r.word('--reject-with')) return undefined;
    for (const w of REJECT_WITH) if (r.word(w)) return { kind: 'REJECT', with: w };
    return undefined;
  },
  // ipt_REJECT checkentry: a TCP reset only for -p tcp
  check(t, rule) {
    if (t.with !== 'tcp-reset') return undefined;
    const p = rule.matches.find((m) => m.kind === 'protocol');
    if (!p || p.kind !== 'protocol' || p.proto !== 6 || p.invert) return 'REJECT: TCP_RESET invalid for non-tcp';
    return undefined;
  },
  run: rejectVerdict,
  pure: true,
};

/**
 * `-m conntrack` and its older form `-m state` (both libxt_conntrack, xt_conntrack / xt_state):
 * the connection's state, original addresses and status bits.
 */
import { formatIpv4, parseIpv4 } from '../../wire/ipv4.js';
import type { NfCtView } from '../eval.js';
import type { CtAddr, CtState, CtStatus } from '../types.js';
import { fail, once, opt, unsupported, type MatchExt } from './api.js';
import * as r from './reader.js';
import { hostNotFound, maskBits, maskLen, not, ordered, parseNameList } from './util.js';

export interface ConntrackMatch {
  readonly kind: 'conntrack';
  readonly ctstate?: { readonly invert: boolean; readonly states: readonly CtState[] };
  readonly ctorigsrc?: CtAddr;
  readonly ctorigdst?: CtAddr;
  /** an empty list is `NONE` */
  readonly ctstatus?: { readonly invert: boolean; readonly statuses: readonly CtStatus[] };
}

export interface StateMatch {
  readonly kind: 'state';
  readonly invert: boolean;
  readonly states: readonly CtState[];
}

export const CT_STATES: readonly CtState[] = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
export const CT_STATUSES: readonly CtStatus[] = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];
/** `-m state` knows the first five */
const STATE_STATES = CT_STATES.slice(0, 5);

/** conntrack's --ctorigsrc: host bits are kept, as iptables-save shows them. */
function parseCtAddr(text: string, invert: boolean): CtAddr {
  const slash = text.indexOf('/');
  const addr = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) hostNotFound(slash < 0 ? text : text.slice(0, slash));
  if (slash < 0) return { invert, addr, len: 32 };
  const len = maskLen(text.slice(slash + 1));
  return { invert, addr, len };
}

function ctAddrText(name: string, a: CtAddr | undefined): string {
  if (a === undefined) return '';
  return ` ${not(a.invert)}--${name} ${formatIpv4(a.addr)}${a.len === 32 ? '' : `/${a.len}`}`;
}

/** whether the connection is in one of `states`: its state, and SNAT / DNAT when NAT is set up on it (no entry: INVALID) */
function inStates(ct: NfCtView | undefined, states: readonly CtState[]): boolean {
  for (let i = 0; i < states.length; i++) {
    const s = states[i]!;
    if (ct === undefined ? s === 'INVALID' : s === ct.state || (s === 'SNAT' && ct.snat) || (s === 'DNAT' && ct.dnat)) return true;
  }
  return false;
}

/** --ctorigsrc / --ctorigdst: the address under the option's prefix length */
function inCtAddr(addr: number, a: CtAddr): boolean {
  const mask = maskBits(a.len);
  return ((addr & mask) >>> 0) === ((a.addr & mask) >>> 0);
}

/** --ctstatus: any of the bits (netpath's entries know SEEN_REPLY and CONFIRMED); NONE: none of them */
function hasStatus(ct: NfCtView, statuses: readonly CtStatus[]): boolean {
  if (statuses.length === 0) return !ct.seenReply && !ct.confirmed;
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i]!;
    if ((s === 'SEEN_REPLY' && ct.seenReply) || (s === 'CONFIRMED' && ct.confirmed)) return true;
  }
  return false;
}

const UNMODELLED = ['ctproto', 'ctreplsrc', 'ctrepldst', 'ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport', 'ctexpire', 'ctdir'];

export const conntrack: MatchExt<ConntrackMatch> = {
  name: 'conntrack',
  opts: [opt('ctstate'), opt('ctorigsrc'), opt('ctorigdst'), opt('ctstatus'), ...UNMODELLED.map((n) => opt(n))],
  parser() {
    const seen = new Set<string>();
    let ctstate: { invert: boolean; states: CtState[] } | undefined;
    let ctstatus: { invert: boolean; statuses: CtStatus[] } | undefined;
    let ctorigsrc: CtAddr | undefined;
    let ctorigdst: CtAddr | undefined;
    return {
      option(id, arg, invert) {
        once('conntrack', seen, id);
        switch (id) {
          case 'ctstate':
            ctstate = { invert, states: parseNameList(CT_STATES, arg, (w) => `Bad ctstate "${w}"`) };
            return;
          case 'ctstatus':
            ctstatus = {
              invert,
              statuses: arg.toUpperCase() === 'NONE' ? [] : parseNameList(CT_STATUSES, arg, (w) => `Bad ctstatus "${w}"`),
            };
            return;
          case 'ctorigsrc':
            ctorigsrc = parseCtAddr(arg, invert);
            return;
          case 'ctorigdst':
            ctorigdst = parseCtAddr(arg, invert);
            return;
          default:
            unsupported(`conntrack option "--${id}" is not modelled by netpath`);
        }
      },
      finish() {
        if (seen.size === 0) fail('conntrack: At least one option is required');
        return {
          kind: 'conntrack',
          ...(ctstate && { ctstate }),
          ...(ctorigsrc && { ctorigsrc }),
          ...(ctorigdst && { ctorigdst }),
          ...(ctstatus && { ctstatus }),
        };
      },
    };
  },
  save(m) {
    let s = '-m conntrack';
    if (m.ctstate) s += ` ${not(m.ctstate.invert)}--ctstate ${ordered(CT_STATES, m.ctstate.states)}`;
    s += ctAddrText('ctorigsrc', m.ctorigsrc) + ctAddrText('ctorigdst', m.ctorigdst);
    if (m.ctstatus) {
      const list = m.ctstatus.statuses.length === 0 ? 'NONE' : ordered(CT_STATUSES, m.ctstatus.statuses);
      s += ` ${not(m.ctstatus.invert)}--ctstatus ${list}`;
    }
    return s;
  },
  fast() {
    let ctstate: { invert: boolean; states: CtState[] } | undefined;
    let ctstatus: { invert: boolean; statuses: CtStatus[] } | undefined;
    let k = r.opt('--ctstate');
    if (k >= 0) {
      const states = r.nameList(CT_STATES);
      if (states === undefined) return undefined;
      ctstate = { invert: k === 1, states };
    }
    k = r.opt('--ctstatus');
    if (k >= 0) {
      if (r.word('NONE')) ctstatus = { invert: k === 1, statuses: [] };
      else {
        const statuses = r.nameList(CT_STATUSES);
        if (statuses === undefined) return undefined;
        ctstatus = { invert: k === 1, statuses };
      }
    }
    if (ctstate !== undefined) return ctstatus !== undefined ? { kind: 'conntrack', ctstate, ctstatus } : { kind: 'conntrack', ctstate };
    return ctstatus !== undefined ? { kind: 'conntrack', ctstatus } : undefined;
  },
  match(m, p) {
    if (m.ctstate && inStates(p.ct, m.ctstate.states) === m.ctstate.invert) return false;
    if (m.ctorigsrc) {
      if (!p.ct) return false;
      if (inCtAddr(p.ct.origSrc, m.ctorigsrc) === m.ctorigsrc.invert) return false;
    }
    if (m.ctorigdst) {
      if (!p.ct) return false;
      if (inCtAddr(p.ct.origDst, m.ctorigdst) === m.ctorigdst.invert) return false;
    }
    if (m.ctstatus) {
      if (!p.ct) return false;
      if (hasStatus(p.ct, m.ctstatus.statuses) === m.ctstatus.invert) return false;
    }
    return true;
  },
};

export const state: MatchExt<StateMatch> = {
  name: 'state',
  opts: [opt('state')],
  parser() {
    let v: { invert: boolean; states: CtState[] } | undefined;
    return {
      option(_id, arg, invert) {
        if (v) fail('state: option "--state" can only be used once.');
        v = { invert, states: parseNameList(STATE_STATES, arg, (w) => `Bad state "${w}"`) };
      },
      finish() {
        if (!v) fail('state: option "--state" must be specified');
        return { kind: 'state', ...v };
      },
    };
  },
  save: (m) => `-m state ${not(m.invert)}--state ${ordered(CT_STATES, m.states)}`,
  fast() {
    const invert = r.bang();
    if (!r.word('--state')) return undefined;
    const states = r.nameList(STATE_STATES);
    return states === undefined ? undefined : { kind: 'state', invert, states };
  },
  match(m, p) {
    return inStates(p.ct, m.states) !== m.invert;
  },
};

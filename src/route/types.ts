/** Routing data as the kernel's FIB holds it (include/uapi/linux/rtnetlink.h names). */
import type { Origin } from '../model/origin.js';
import type { Ipv4, Prefix } from '../wire/ipv4.js';

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';
/** RT_SCOPE_*: universe (global) 0, link 253, host 254. */
export type RouteScope = 'global' | 'link' | 'host';

export const RT_TABLE = { default: 253, main: 254, local: 255 } as const;

export interface Route {
  readonly table: number;
  readonly type: RouteType;
  readonly dst: Prefix;
  readonly via?: Ipv4;
  /** output interface (ifindex in its namespace) */
  readonly oif?: number;
  readonly prefsrc?: Ipv4;
  /** `metric` / priority; 0 when not given */
  readonly metric: number;
  readonly scope: RouteScope;
  /** rtm_protocol: 'kernel', 'boot' (ip route add default), 'static', ... */
  readonly proto: string;
  readonly onlink: boolean;
  readonly origin: Origin;
}

export type RuleAction = 'lookup' | 'blackhole' | 'unreachable' | 'prohibit';

/** What a policy rule selects and does, as `ip rule` spells it (shared by the rule and its op). */
export interface RuleSelector {
  readonly not: boolean;
  readonly from?: Prefix;
  readonly to?: Prefix;
  readonly fwmark?: { readonly value: number; readonly mask: number };
  readonly iif?: string;
  readonly oif?: string;
  readonly action: RuleAction;
}

export interface FibRule extends RuleSelector {
  readonly priority: number;
  readonly table: number;
  readonly origin: Origin;
}

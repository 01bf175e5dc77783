/**
 * Real names for the model's namespaces.
 *
 * A replay run owns every network namespace whose name starts with its prefix
 * `npr<pid36>_<rand4>`: `npr` (netpath replay), the replaying process's pid in base 36, `_`, four
 * random base-36 characters. So two runs never collide, and `netpath replay --cleanup` can tell a
 * crashed run's leftovers (pid gone) from a run still going (pid alive).
 *
 *   host H                          -> PREFIX-H
 *   `ip netns add N` / `docker run --name N` on host H -> PREFIX-H-N   (kept apart per host)
 *   LAN L (a bridge)                -> PREFIX-lan-L
 */
import type { NsId } from '../model/link.js';

/** How the renderer names namespaces: see src/replay/render.ts. */
export interface NetnsNames {
  /** the real netns for a host's own (root) namespace; null = the namespace the command runs in */
  host(host: string): string | null;
  /** the real netns for a namespace host's runbook creates (`ip netns add N`, `docker run --name N`) */
  created(host: string, name: string): string;
}

export interface ReplayNames extends NetnsNames {
  readonly prefix: string;
  host(host: string): string;
  lan(lan: string): string;
  /** a world namespace id (`host` or `host/name`) */
  ns(id: NsId): string;
}

export const PREFIX_RE = /^npr([0-9a-z]+)_([0-9a-z]{4})-/;

export function newPrefix(pid: number = process.pid, random: () => number = Math.random): string {
  let r = '';
  for (let i = 0; i < 4; i++) r += Math.floor(random() * 36).toString(36);
  return `npr${pid.toString(36)}_${r}`;
}

export function replayNames(prefix: string): ReplayNames {
  return {
    prefix,
    host: (h) => `${prefix}-${h}`,
    created: (h, n) => `${prefix}-${h}-${n}`,
    lan: (l) => `${prefix}-lan-${l}`,
    ns: (id) => {
      const k = id.indexOf('/');
      return k < 0 ? `${prefix}-${id}` : `${prefix}-${id.slice(0, k)}-${id.slice(k + 1)}`;
    },
  };
}

/** Names for running a host's runbook as written (export to a real machine): nothing renamed. */
export const IDENTITY_NAMES: NetnsNames = { host: () => null, created: (_h, n) => n };

/** The run a namespace name belongs to, when it is a replay's: its prefix and the owner's pid. */
export function ownerOf(netns: string): { prefix: string; pid: number } | undefined {
  const m = PREFIX_RE.exec(netns);
  if (!m) return undefined;
  return { prefix: `npr${m[1]!}_${m[2]!}`, pid: parseInt(m[1]!, 36) };
}

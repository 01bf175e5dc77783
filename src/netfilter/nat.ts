/**
 * How a NAT target's range becomes the connection's new tuple, shared by every walker
 * (nf_nat_core.c get_unique_tuple): a port (or address) already inside the range is kept
 * (nf_nat_inet_in_range), otherwise the range's first is taken; a multi-address range hashes the
 * source, which a walk of one packet cannot know, so the first address stands for it (and the
 * walker says so).
 */
export interface NatRange {
  readonly min: number;
  readonly max: number;
}

/** The port a NAT range gives a connection whose port is `port`. */
export function natPort(port: number, r: NatRange): number {
  return port >= r.min && port <= r.max ? port : r.min;
}

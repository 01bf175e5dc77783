/**
 * The NAT result texts (walk.ts endpoint): a fixed table of 4,096 slots, where a text whose slot
 * another address took is made again. Whatever the order and however many addresses share a
 * slot, each text must be its own address and port (formatIpv4, `:PORT` unless none).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../src/netfilter/walk.js';
import { formatIpv4 } from '../../src/wire/ipv4.js';

const own = (a: number, port: number | undefined): string => (port === undefined ? formatIpv4(a) : `${formatIpv4(a)}:${port}`);

describe('NAT result texts', () => {
  it('are the address and port asked for, across slots shared by many addresses', () => {
    const pair = fc.tuple(fc.nat({ max: 0xffffffff }), fc.option(fc.nat({ max: 65535 }), { nil: undefined }));
    fc.assert(
      fc.property(fc.array(pair, { minLength: 1, maxLength: 3000 }), (pairs) => {
        // each pair twice, the second time after all the others took their slots
        for (const [a, p] of pairs) expect(endpoint(a, p)).toBe(own(a, p));
        for (const [a, p] of pairs) expect(endpoint(a, p)).toBe(own(a, p));
      }),
      { numRuns: 40 },
    );
  });
  it('tell port 0 from no port, and the same port of neighbouring addresses apart', () => {
    for (let a = 0x0a000000; a < 0x0a000000 + 9000; a++) {
      expect(endpoint(a, 0)).toBe(`${formatIpv4(a)}:0`);
      expect(endpoint(a, undefined)).toBe(formatIpv4(a));
      expect(endpoint(a, 80)).toBe(`${formatIpv4(a)}:80`);
      expect(endpoint(0xffffffff - a, 65535)).toBe(`${formatIpv4(0xffffffff - a)}:65535`);
    }
  });
});

// The header-only ceiling of the engine bench: for each frame of a probe, write its Ethernet,
// IPv4 (or ARP) and transport headers into one pre-allocated buffer and read the fields back,
// nothing else: no payload, no checksums, no options, no allocation per frame. That is the least
// work any simulator that moves these frames must do per frame-hop, so the engine is compared with
// it. (The fuller baseline next to it, bench/run.js, builds each frame's real bytes with payload,
// TCP options and checksums through the pcap encoder and parses them with the wire parsers.)

const ETH_IP = 0x0800;
const ETH_ARP = 0x0806;

function macBytes(mac) {
  return mac.split(':').map((h) => parseInt(h, 16));
}

/** Field values of each frame, worked out once before the loop (as the TCP extras are). */
export function headerPlan(frames) {
  return frames.map((c) => {
    const f = c.frame;
    const d = { dst: macBytes(f.dst), src: macBytes(f.src), type: 0, s: 0, t: 0, proto: 0, ttl: 0, id: 0, a: 0, b: 0, seq: 0, ack: 0, fl: 0, len: 0, op: 0 };
    if (f.payload.kind === 'arp') {
      const a = f.payload.arp;
      d.type = ETH_ARP;
      d.op = a.op === 'request' ? 1 : 2;
      d.s = a.spa;
      d.t = a.tpa;
      return d;
    }
    const ip = f.payload.ip;
    const l4 = ip.l4;
    d.type = ETH_IP;
    d.s = ip.src;
    d.t = ip.dst;
    d.ttl = ip.ttl;
    d.id = ip.id;
    if (l4.kind === 'tcp') {
      d.proto = 6;
      d.a = l4.sport;
      d.b = l4.dport;
      d.seq = l4.seq;
      d.ack = l4.ack;
      d.fl = (l4.flags.fin ? 1 : 0) | (l4.flags.syn ? 2 : 0) | (l4.flags.rst ? 4 : 0) | (l4.flags.psh ? 8 : 0) | (l4.flags.ack ? 16 : 0);
      d.len = l4.len;
    } else if (l4.kind === 'udp') {
      d.proto = 17;
      d.a = l4.sport;
      d.b = l4.dport;
      d.len = l4.len;
    } else {
      d.proto = 1;
      d.a = l4.type;
      d.b = l4.code;
    }
    return d;
  });
}

const buf = new Uint8Array(64);
const dv = new DataView(buf.buffer);

/** Writes and reads back the headers of every planned frame; returns a sum so nothing is dead code. */
export function headersOnly(plan) {
  let sum = 0;
  for (let i = 0; i < plan.length; i++) {
    const d = plan[i];
    for (let k = 0; k < 6; k++) {
      buf[k] = d.dst[k];
      buf[6 + k] = d.src[k];
    }
    dv.setUint16(12, d.type);
    if (d.type === ETH_ARP) {
      dv.setUint16(20, d.op);
      dv.setUint32(28, d.s);
      dv.setUint32(38, d.t);
      sum += dv.getUint16(20) + dv.getUint32(28) + dv.getUint32(38);
      continue;
    }
    buf[14] = 0x45;
    dv.setUint16(16, 20 + (d.proto === 6 ? 20 : 8) + d.len);
    dv.setUint16(18, d.id);
    buf[22] = d.ttl;
    buf[23] = d.proto;
    dv.setUint32(26, d.s);
    dv.setUint32(30, d.t);
    if (d.proto === 1) {
      buf[34] = d.a;
      buf[35] = d.b;
    } else {
      dv.setUint16(34, d.a);
      dv.setUint16(36, d.b);
      if (d.proto === 6) {
        dv.setUint32(38, d.seq);
        dv.setUint32(42, d.ack);
        buf[47] = d.fl;
      }
    }
    // parse back: the fields a walk looks at
    const type = dv.getUint16(12);
    const proto = buf[23];
    const src = dv.getUint32(26);
    const dst = dv.getUint32(30);
    const ports = proto === 1 ? (buf[34] << 8) | buf[35] : dv.getUint32(34);
    sum += type + proto + buf[22] + ((src ^ dst) >>> 0) + ports + (proto === 6 ? buf[47] : 0);
  }
  return sum;
}

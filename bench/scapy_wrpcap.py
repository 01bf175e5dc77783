# npm run bench, captures baseline: scapy's wrpcap on the same frames netpath wrote.
# usage: python3 bench/scapy_wrpcap.py IN.pcap OUT.pcap REPEAT
# The frames are read (not timed), their raw caches and IP/TCP/UDP/ICMP checksums dropped so that
# scapy builds every packet from its fields as netpath does, then wrpcap is timed. Prints
# "<packets> <seconds> <cpu seconds>" (the best of 3 runs; CPU: user + system of this process).
import sys, time
from scapy.all import rdpcap, wrpcap, IP, TCP, UDP, ICMP

src, out, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = list(rdpcap(src))
pkts = []
for _ in range(repeat):
    for p in base:
        q = p.copy()
        for layer in (IP, TCP, UDP, ICMP):
            if q.haslayer(layer) and hasattr(q[layer], 'chksum'):
                q[layer].chksum = None
        q.clear_cache()
        pkts.append(q)
best = None
best_cpu = None
for _ in range(3):
    for q in pkts:
        q.clear_cache()
    t0 = time.perf_counter()
    c0 = time.process_time()
    wrpcap(out, pkts)
    t = time.perf_counter() - t0
    c = time.process_time() - c0
    best = t if best is None else min(best, t)
    best_cpu = c if best_cpu is None else min(best_cpu, c)
print(len(pkts), best, best_cpu)

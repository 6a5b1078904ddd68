#!/usr/bin/env python3
"""Per-request latency on the wire, as a cross-check of wrk's numbers (wrk 4 adds coordinated-omission samples).

Capture one keep-alive connection's traffic to the egress during a wrk -c1 run, then read it:
    tcpdump -i lo -n -tt -B 32768 "tcp port 25001" > /tmp/tcp.txt   # while wrk -t1 -c1 runs
    benchmarks/proxy/wire_gaps.py /tmp/tcp.txt 25001
Prints, over every request: the server time (request segment in -> response segment out), the client time (response
in -> next request out) and the whole cycle (request -> next request), as percentiles in microseconds.
"""
import re
import sys


def percentiles(name, values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        print(name, "no samples")
        return
    p = lambda q: values[min(n - 1, int(q * n))]
    print("%-40s n=%d p50=%d p90=%d p98=%d p99=%d p99.9=%d max=%d >1ms=%.2f%%" % (
        name, n, p(.5), p(.9), p(.98), p(.99), p(.999), values[-1], 100.0 * sum(1 for v in values if v > 1000) / n))


def main(path, port):
    server, client, requests = [], [], []
    last, last_to_server = None, None
    for line in open(path):
        m = re.match(r"(\d+\.\d+) IP (\S+) > (\S+): .* length (\d+)", line)
        if not m or m.group(4) == "0":
            continue
        t, to_server = float(m.group(1)), m.group(3).endswith("." + port)
        if to_server:
            requests.append(t)
        if last_to_server is not None and to_server != last_to_server:
            (client if to_server else server).append((t - last) * 1e6)
        last, last_to_server = t, to_server
    percentiles("server (request in -> response out)", server)
    percentiles("client (response in -> next request)", client)
    percentiles("cycle (request -> next request)", [(b - a) * 1e6 for a, b in zip(requests, requests[1:])])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

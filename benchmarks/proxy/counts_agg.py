"""counts.sh's helper: sums `perf stat --per-thread -x;` output per event, the event-loop threads (Isthmus's *-io-*,
HAProxy's own threads) apart from the others, and prints each per request. Usage: counts_agg.py REQUESTS FILE...; counts_agg.py --alloc REQUESTS EGRESS.json
INGRESS.json: heap bytes per request from `jfr print --json --events jdk.ThreadAllocationStatistics`."""
import collections
import json
import re
import sys


def alloc(n, paths):
    """Heap bytes allocated per request, from JFR's jdk.ThreadAllocationStatistics (first and last value per thread)."""
    for path, role in zip(paths, ('egress', 'ingress')):
        events = json.load(open(path))['recording']['events']
        first, last = {}, {}
        for e in sorted(events, key=lambda e: e['values']['startTime']):
            thread = e['values']['thread']['javaName']
            first.setdefault(thread, e['values']['allocated'])
            last[thread] = e['values']['allocated']
        loops = sum(last[t] - first[t] for t in last if '-io-' in t)
        total = sum(last[t] - first[t] for t in last)
        print(f'  {role} heap allocation: {loops / n:,.0f} bytes per request on the event loops, {total / n:,.0f} in all threads')


if sys.argv[1] == '--alloc':
    alloc(int(sys.argv[2]), sys.argv[3:])
    sys.exit(0)
n = int(sys.argv[1])
for path in sys.argv[2:]:
    role = re.search(r'-(egress|ingress)\.perf$', path).group(1)
    loops, others = collections.Counter(), collections.Counter()
    for line in open(path):
        fields = line.strip().split(';')
        if line.startswith('#') or len(fields) < 4:
            continue
        try:
            value = float(fields[1])
        except ValueError:
            continue
        event = fields[3].replace('syscalls:sys_enter_', '').replace('raw_syscalls:sys_enter', 'all syscalls')
        thread = fields[0].rsplit('-', 1)[0]
        (loops if '-io-' in thread or thread.startswith('haproxy') else others)[event] += value
    for label, counts in (('loop threads', loops), ('other threads', others)):
        shown = [f'{k} {v / n:.2f}' for k, v in counts.items() if v / n >= 0.005]
        print(f'  {role} {label}: ' + (', '.join(shown) or 'none'))

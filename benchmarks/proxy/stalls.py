#!/usr/bin/env python3
"""What ran while a c=1 call stalled, from `perf sched timehist` text (stalls.sh).

Each timehist line is one switch-out: time, [cpu], task, wait time (asleep before it was woken), scheduling delay
(woken but not running) and run time, the last three in ms. wrk's worker thread sleeps while its one call is in
flight, so each of its waits of MIN_MS or more is a stall of the whole chain. For each such window this prints the
threads that ran on the CPUs meanwhile (ms), the longest first, then those sums over all windows, then how long each
kind of thread ran at a time (p50/p99/max, ms), which shows threads that hold a CPU for milliseconds.

Usage: stalls.py TIMEHIST [MIN_MS=2] [WINDOWS=15]
"""
import collections
import re
import sys


def parse(path):
    rows = []
    for line in open(path):
        p = line.split()
        if len(p) < 6 or not p[1].startswith('['):
            continue
        try:
            t, cpu = float(p[0]), int(p[1][1:-1])
            wait, sch, run = (float(x) / 1000 for x in p[-3:])
        except ValueError:
            continue
        rows.append((t, cpu, ' '.join(p[2:-3]), wait, sch, run))
    return rows


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def main():
    path = sys.argv[1]
    min_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    shown = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    rows = parse(path)
    wrk = collections.Counter(r[2] for r in rows if r[2].startswith('wrk['))
    if not wrk:
        sys.exit(f'{path}: no wrk thread in the recording')
    worker = max(wrk, key=wrk.get)
    # wrk's line: it ran `run` until t, after waiting `sch` to run once woken, after sleeping `wait`
    stalls = sorted(((r[0] - r[5] - r[4] - r[3], r[0] - r[5] - r[4]) for r in rows
                     if r[2] == worker and r[3] * 1000 >= min_ms), key=lambda s: s[0] - s[1])
    total = sum(e - s for s, e in stalls) * 1000
    print(f'  {len(stalls)} waits of wrk >= {min_ms:g} ms, {total:.1f} ms in all; the {min(shown, len(stalls))} longest:')
    overall = collections.Counter()
    for i, (start, end) in enumerate(stalls):
        ran = collections.Counter()
        for t, _, task, _, _, run in rows:
            if t - run < end and t > start and not task.startswith('<idle>'):
                ran[task] += min(t, end) - max(t - run, start)
        overall.update(ran)
        if i < shown:
            top = ', '.join(f'{k} {v * 1000:.2f}' for k, v in ran.most_common(5))
            print(f'    {(end - start) * 1000:6.2f} ms at {start:.4f}: {top}')
    print('  ran during those waits (ms):')
    for task, v in overall.most_common(12):
        print(f'    {v * 1000:8.2f}  {task}')
    print('  runs by kind of thread (ms): sum, count, p50, p99, max')
    kinds = collections.defaultdict(list)
    for r in rows:
        if not r[2].startswith('<idle>'):
            kinds[re.sub(r'\[.*', '', r[2]).rstrip()].append(r[5] * 1000)
    for kind, runs in sorted(kinds.items(), key=lambda kv: -sum(kv[1]))[:12]:
        print(f'    {sum(runs):8.1f} {len(runs):7d} {pct(runs, .5):6.3f} {pct(runs, .99):6.3f} {max(runs):6.2f}  {kind}')


if __name__ == '__main__':
    main()

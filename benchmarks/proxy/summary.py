"""Summary of benchmarks/proxy/run.sh's results.tsv: per configuration and gateway, the median of the rounds with
the spread (min-max), and Isthmus's ratio to HAProxy. Columns of results.tsv: configuration, gateway, rate, p50, p99,
CPU per request (or per GiB), then for the 1 GiB transfer RSS before and peak RSS (MiB), and for wrk's runs the load
generator's CPU per request (us) and the machine's idle share (%)."""
import statistics
import sys
from collections import OrderedDict


def micros(text):
    """wrk's and GrpcLoad's latencies (150.00us, 1.20ms, 1.01s) in microseconds; None for '-'."""
    if text in ("-", ""):
        return None
    for unit, factor in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def fmt_us(v):
    return "-" if v is None else (f"{v / 1000:.2f}ms" if v >= 1000 else f"{v:.0f}us")


def spread(values, fmt):
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}-{fmt(max(values))}]"


rows = OrderedDict()
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    rows.setdefault(f[0], OrderedDict()).setdefault(f[1], []).append(f[2:])

for config, gateways in rows.items():
    medians = {}
    bulk = config.startswith("bulk")
    for name, runs in gateways.items():
        rate = [float(r[0]) for r in runs]
        p99 = [micros(r[2]) for r in runs if micros(r[2]) is not None]
        cpu = [float(r[3]) for r in runs]
        medians[name] = (statistics.median(rate), statistics.median(p99) if p99 else None, statistics.median(cpu))
        text = f"{config:<12} {name:<10} n={len(runs)}  {spread(rate, lambda v: f'{v:.0f}'):>24} " + (
            "MiB/s" if bulk else "/s")
        if p99:
            text += f"  p99 {spread(p99, fmt_us):>26}"
        text += f"  cpu {spread(cpu, lambda v: f'{v:.0f}' if bulk else f'{v:.1f}')} " + ("ms/GiB" if bulk else "us")
        extra = [r for r in runs if len(r) >= 6] if config.startswith("http") else []
        if extra:
            # The load generator's CPU per request, and the share of the machine left idle during the run.
            text += f"  wrk {statistics.median(float(r[4]) for r in extra):.0f} us"
            text += f"  idle {statistics.median(float(r[5]) for r in extra):.0f}%"
        if bulk:
            text += f"  RSS before {max(int(r[4]) for r in runs)} MiB, peak {max(int(r[5]) for r in runs)} MiB (max)"
        print(text)
    if "isthmus" in medians:
        for ref in ("haproxy", "haproxy-h2"):
            if ref not in medians:
                continue
            i, h = medians["isthmus"], medians[ref]
            if not h[0]:
                continue
            parts = [f"rate {i[0] / h[0]:.2f}x"]
            if i[1] is not None and h[1]:
                parts.append(f"p99 {i[1] / h[1]:.2f}x")
            if h[2]:
                parts.append(f"cpu {i[2] / h[2]:.2f}x")
            print(f"{config:<12} {'ratio':<10} isthmus/{ref}: " + ", ".join(parts))

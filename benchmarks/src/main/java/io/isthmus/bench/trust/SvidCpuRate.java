package io.isthmus.bench.trust;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.Supplier;

/**
 * {@link SvidBenchmark}'s two operations, counted per second of this thread's CPU time rather than of wall time: on a
 * shared machine (other builds, other benchmarks) a thread gets a fraction of a core and JMH's wall-clock throughput
 * says more about the neighbours than about the code. Ops per CPU-second is the "per core" rate. Same setup as the JMH
 * benchmark; run both when the machine is quiet.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.isthmus.bench.trust.SvidCpuRate [seconds-per-measurement=10]</pre>
 */
public final class SvidCpuRate {
    private SvidCpuRate() {
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        SvidBenchmark b = new SvidBenchmark();
        b.setUp();
        measure("issueFromCsr", b::issueFromCsr, seconds / 2);
        measure("verify", b::verify, seconds / 2);
        for (int round = 1; round <= 3; round++) {
            measure("issueFromCsr", b::issueFromCsr, seconds);
            measure("verify", b::verify, seconds);
        }
    }

    private static void measure(String name, Supplier<?> op, double cpuSeconds) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long cpuStart = threads.getCurrentThreadCpuTime();
        long wallStart = System.nanoTime();
        long budget = (long) (cpuSeconds * 1e9);
        long ops = 0;
        Object sink = null;
        while (threads.getCurrentThreadCpuTime() - cpuStart < budget) {
            for (int i = 0; i < 50; i++) {
                sink = op.get();
            }
            ops += 50;
        }
        double cpu = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        double wall = (System.nanoTime() - wallStart) / 1e9;
        System.out.printf("%-13s %8.0f ops per CPU-second   (%d ops, %.1f s CPU in %.1f s wall)%s%n", name, ops / cpu, ops,
                cpu, wall, sink == null ? "?" : "");
    }
}

package io.isthmus.proxy.listener;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Function;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.AbstractEventExecutorGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;

/**
 * The worker event loops as one listener places its connections on them: each accepted connection goes to the loop
 * that holds the fewest open connections of this listener (ties in turn).
 *
 * <p>Why: the ingress and the egress share one worker group, whose own choice is a single round robin over every
 * connection either accepts. The ingress accepts few connections (one per peer gateway per event loop of that peer),
 * but each carries a share of all the cross-cluster traffic as multiplexed HTTP/2; where they land is then a matter of
 * how many local callers connected in between, and two of them on one loop leave the other loop with a fraction of
 * the work. Seen in benchmarks/proxy/run.sh at 64 connections: both HTTP/2 connections of the ingress, and so all 64
 * of its backend connections, on one of the two loops, which ran 2.7 times the other's CPU while the machine had
 * 10% idle. Counting each listener's own connections spreads those few heavy connections evenly, whatever the
 * callers do.
 *
 * <p>Everything but registration goes to the worker group itself: this is a view of it, and shutting it down shuts
 * the workers down. Thread-safe.
 */
final class LeastConnectedLoops extends AbstractEventExecutorGroup implements EventLoopGroup {
    private final EventLoopGroup workers;
    private final EventLoop[] loops;
    /** Open connections of this listener per loop, in the order of {@link #loops}. */
    private final AtomicIntegerArray open;
    private final AtomicInteger turn = new AtomicInteger();

    LeastConnectedLoops(EventLoopGroup workers) {
        this.workers = workers;
        List<EventLoop> all = new ArrayList<>();
        for (EventExecutor e : workers) {
            all.add((EventLoop) e);
        }
        this.loops = all.toArray(EventLoop[]::new);
        this.open = new AtomicIntegerArray(loops.length);
    }

    /**
     * The index of the loop with the fewest {@code open} connections; among equals, the first at or after
     * {@code start} (modulo the number of loops). A pure function.
     */
    static int choose(int[] open, int start) {
        int n = open.length;
        int first = Math.floorMod(start, n);
        int best = first;
        for (int k = 1; k < n; k++) {
            int i = (first + k) % n;
            if (open[i] < open[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Open connections per loop (for tests and diagnostics). */
    int[] openPerLoop() {
        int[] out = new int[loops.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = open.get(i);
        }
        return out;
    }

    @Override
    public ChannelFuture register(Channel channel) {
        return registerOnChosenLoop(loop -> loop.register(channel));
    }

    @Override
    public ChannelFuture register(ChannelPromise promise) {
        return registerOnChosenLoop(loop -> loop.register(promise));
    }

    @Deprecated
    @Override
    public ChannelFuture register(Channel channel, ChannelPromise promise) {
        return register(promise);
    }

    /**
     * Picks a loop, counts the connection on it at once (so that a burst of accepts spreads too), registers there, and
     * stops counting it when it closes or fails to register.
     */
    private ChannelFuture registerOnChosenLoop(Function<EventLoop, ChannelFuture> register) {
        int i = choose(openPerLoop(), turn.getAndIncrement());
        open.incrementAndGet(i);
        ChannelFuture registered = register.apply(loops[i]);
        registered.addListener(r -> {
            if (r.isSuccess()) {
                registered.channel().closeFuture().addListener(closed -> open.decrementAndGet(i));
            } else {
                open.decrementAndGet(i);
            }
        });
        return registered;
    }

    @Override
    public EventLoop next() {
        return workers.next();
    }

    @Override
    public Iterator<EventExecutor> iterator() {
        return workers.iterator();
    }

    @Override
    public boolean isShuttingDown() {
        return workers.isShuttingDown();
    }

    @Override
    public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
        return workers.shutdownGracefully(quietPeriod, timeout, unit);
    }

    @Override
    public Future<?> terminationFuture() {
        return workers.terminationFuture();
    }

    @Deprecated
    @Override
    public void shutdown() {
        workers.shutdown();
    }

    @Override
    public boolean isShutdown() {
        return workers.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return workers.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return workers.awaitTermination(timeout, unit);
    }
}

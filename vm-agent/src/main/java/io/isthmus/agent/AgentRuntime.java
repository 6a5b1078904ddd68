package io.isthmus.agent;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;

/**
 * The running agent: holds the current {@link AgentState}, renews the SVID at half life through the gateway,
 * retries with exponential backoff and jitter while the gateway is unreachable (the current SVID keeps being
 * served until it expires), persists every new state before publishing it, and tells listeners after each swap
 * on the renewal thread (listeners must not block). Bundles are refreshed with every renewal.
 */
public final class AgentRuntime implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AgentRuntime.class);

    private final AtomicReference<AgentState> state;
    private final StateDir dir;
    private final GatewayClient gateway;
    private final Clock clock;
    private final Backoff backoff;
    private final ScheduledExecutorService scheduler;
    private final List<Consumer<AgentState>> listeners = new CopyOnWriteArrayList<>();
    private int failures;

    public AgentRuntime(AgentState initial, StateDir dir, GatewayClient gateway, Clock clock, Backoff backoff) {
        this.state = new AtomicReference<>(initial);
        this.dir = dir;
        this.gateway = gateway;
        this.clock = clock;
        this.backoff = backoff;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-agent-renewal");
            t.setDaemon(true);
            return t;
        });
    }

    public static Backoff defaultBackoff() {
        return new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(2), () -> ThreadLocalRandom.current().nextDouble());
    }

    public void start() {
        schedule(state.get().svid().halfLife());
    }

    public AgentState current() {
        return state.get();
    }

    public void addListener(Consumer<AgentState> listener) {
        listeners.add(listener);
    }

    private void schedule(Instant at) {
        long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis());
        scheduler.schedule(this::renew, delay, TimeUnit.MILLISECONDS);
    }

    private void renew() {
        AgentState now = state.get();
        try {
            GatewayClient.Issued issued = gateway.renew(now.svid(), now.bundles());
            AgentState next = now.withSvid(issued.svid(), issued.bundles());
            dir.save(next);
            state.set(next);
            failures = 0;
            X509Svid svid = next.svid();
            LOG.infof("renewed SVID %s serial %s valid until %s", svid.id(), Certificates.serialHex(svid.leaf()),
                    svid.notAfter());
            notifyListeners(next);
            schedule(svid.halfLife());
        } catch (GatewayException | IOException | RuntimeException e) {
            Duration delay = backoff.delay(failures++);
            Instant expiry = now.svid().notAfter();
            String kind = e instanceof GatewayException g ? g.code() : e.getClass().getSimpleName();
            if (clock.instant().isAfter(expiry)) {
                LOG.errorf("renewal failed (%s): %s; the SVID expired at %s, workloads now hold an expired SVID; "
                        + "retrying in %s", kind, e.getMessage(), expiry, delay);
            } else {
                LOG.warnf("renewal failed (%s): %s; still serving the current SVID (valid until %s); retrying in %s",
                        kind, e.getMessage(), expiry, delay);
            }
            scheduler.schedule(this::renew, delay.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void notifyListeners(AgentState s) {
        for (Consumer<AgentState> l : listeners) {
            try {
                l.accept(s);
            } catch (RuntimeException e) {
                LOG.warnf(e, "state listener failed");
            }
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}

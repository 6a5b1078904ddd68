package io.isthmus.agent.services;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.agent.Backoff;

/**
 * Keeps the VM's services registered with its cluster gateway: {@code PUT /v1/agent/services/{name}} for every
 * service every {@code interval} (a third of the gateway's lease), over an HTTPS client that presents the VM's
 * current SVID. A round with a failure is logged and retried after a backoff delay instead of the interval.
 */
public final class ServiceRegistrar implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ServiceRegistrar.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI gateway;
    private final HttpClient client;
    private final List<AgentService> services;
    private final Duration interval;
    private final Backoff backoff;
    private final ScheduledExecutorService timer;
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicLong successfulRounds = new AtomicLong();

    /** @param client an HTTPS client to the gateway presenting the VM's current SVID; closed with this */
    public ServiceRegistrar(URI gateway, HttpClient client, List<AgentService> services, Duration interval, Backoff backoff) {
        this.gateway = gateway;
        this.client = client;
        this.services = List.copyOf(services);
        this.interval = interval;
        this.backoff = backoff;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-agent-services");
            t.setDaemon(true);
            return t;
        });
    }

    public void start() {
        timer.execute(this::round);
    }

    /** Rounds in which every service was registered. */
    public long successfulRounds() {
        return successfulRounds.get();
    }

    private void round() {
        boolean ok = true;
        for (AgentService s : services) {
            try {
                register(s);
            } catch (IOException | RuntimeException e) {
                ok = false;
                LOG.warn("registering " + s.name() + "." + s.namespace() + " failed: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        Duration next;
        if (ok) {
            if (failures.getAndSet(0) > 0 || successfulRounds.get() == 0) {
                LOG.info("registered " + services.size() + " service(s) with " + gateway + "; heartbeat every " + interval);
            }
            successfulRounds.incrementAndGet();
            next = interval;
        } else {
            next = backoff.delay(failures.getAndIncrement());
            if (next.compareTo(interval) > 0) {
                next = interval;
            }
            LOG.warn("retrying service registration in " + next);
        }
        if (!timer.isShutdown()) {
            timer.schedule(this::round, next.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void register(AgentService s) throws IOException, InterruptedException {
        String body = JSON.createObjectNode().put("namespace", s.namespace()).put("port", s.port())
                .put("protocol", s.protocol()).put("backendPort", s.backendPort()).toString();
        HttpRequest request = HttpRequest.newBuilder(gateway.resolve("/v1/agent/services/" + s.name()))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("gateway answered " + r.statusCode() + ": " + r.body());
        }
    }

    /**
     * Stops the heartbeats and, if a registration ever succeeded, unregisters every service
     * ({@code DELETE /v1/agent/services/{name}?namespace=…}) so that callers stop being routed to a VM that is going
     * away, instead of until the gateway's lease runs out. Best effort: a gateway that does not answer within
     * {@link #DEREGISTER_TIMEOUT} leaves it to the lease.
     */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            if (successfulRounds.get() > 0) {
                for (AgentService s : services) {
                    unregister(s);
                }
            }
        } finally {
            client.close();
        }
    }

    static final Duration DEREGISTER_TIMEOUT = Duration.ofSeconds(2);

    private void unregister(AgentService s) {
        URI uri = gateway.resolve("/v1/agent/services/" + s.name() + "?namespace="
                + java.net.URLEncoder.encode(s.namespace(), java.nio.charset.StandardCharsets.UTF_8));
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(DEREGISTER_TIMEOUT).DELETE().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 == 2 || r.statusCode() == 404) {
                LOG.info("unregistered " + s.name() + "." + s.namespace() + " from " + gateway);
            } else {
                LOG.warn("unregistering " + s.name() + "." + s.namespace() + ": gateway answered " + r.statusCode()
                        + ": " + r.body() + "; it expires with its lease");
            }
        } catch (IOException e) {
            LOG.warn("unregistering " + s.name() + "." + s.namespace() + " failed (" + e.getMessage()
                    + "); it expires with its lease");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

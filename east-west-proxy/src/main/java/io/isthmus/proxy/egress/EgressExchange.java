package io.isthmus.proxy.egress;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.exchange.Exchange;
import io.isthmus.proxy.exchange.RetryPolicy;
import io.isthmus.proxy.exchange.Upstream;
import io.isthmus.proxy.http.IdentityHeaders;
import io.isthmus.proxy.http.Responses;
import io.isthmus.proxy.outlier.OutlierDetector;
import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.isthmus.proxy.tls.HandshakeFailure;
import io.isthmus.proxy.tunnel.Tunnels;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.proxy.exchange.Downstream;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.Future;

/**
 * One request of a local caller at the egress, whose steps are, in order: {@link #decide} (which mesh name, and who
 * asks: the caller's SVID, else its bearer token, {@link #authenticated}), {@link #route} (the clusters that export
 * the name, nearest first, those the {@link OutlierDetector} ejected left out; the caller's identity headers replaced
 * by the authenticated caller), {@link #attempt} (the next cluster's ingress: a stream on the shared HTTP/2
 * connection, or for an Upgrade a dedicated HTTP/1.1 connection; the peer must be the exporting cluster's gateway),
 * then {@link Exchange#forward} relays both ways. A failed attempt goes to the next cluster when
 * {@link RetryPolicy} allows ({@link #retry}). {@code CONNECT} opens a tunnel through the peer ingress instead
 * ({@link #tunnel}). Event loop only.
 */
final class EgressExchange extends Exchange {
    private static final Logger LOG = Logger.getLogger(EgressExchange.class);
    private static final String BEARER = "bearer ";

    private final EgressHandler handler;
    private final EgressServer server;
    private EgressTarget target;
    private List<PeerIngress> candidates;
    /** Whether some cluster exports the target, once route() looked (null before). */
    private Boolean exported;
    /** Unprocessed attempts sent again to the same cluster (a draining peer); at most MAX_SAME_CLUSTER_RETRIES. */
    private int sameClusterRetries;
    private static final int MAX_SAME_CLUSTER_RETRIES = 2;
    private int next;
    private PeerIngress current;
    private SpiffeId caller;
    private final List<String> failures = new ArrayList<>(2);

    EgressExchange(EgressHandler handler, Downstream downstream, HttpRequest request, long start,
            EgressServer server) {
        super(handler, downstream, request, start, server.settings());
        this.handler = handler;
        this.server = server;
    }

    /** Step 1: which mesh name, and who is calling. */
    @Override
    protected void decide() {
        try {
            target = isConnect() ? EgressTarget.parseConnect(request.uri(), settings.meshSuffix())
                    : EgressTarget.parse(request.uri(), request.headers().get(HttpHeaderNames.HOST),
                            settings.meshSuffix());
        } catch (EgressTarget.NotAMeshName e) {
            answer(HttpResponseStatus.NOT_FOUND, "not-a-mesh-name", e.getMessage());
            return;
        }
        destination = target.name().host();
        SpiffeId tlsCaller = handler.tlsCaller();
        if (tlsCaller != null) {
            route(tlsCaller);
            return;
        }
        String token = bearer(request);
        if (token == null) {
            refuse(AuthnFailure.NO_CREDENTIAL,
                    "present your SVID over TLS or send 'Authorization: Bearer <service-account token>'");
        } else if (server.tokens() == null) {
            refuse(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE,
                    "this gateway has no token authenticator; present your SVID over TLS");
        } else {
            server.tokens().authenticate(token).whenComplete((result, error) -> {
                // A cached answer completes at once, on this event loop: no need to queue a task.
                if (downstream.eventLoop().inEventLoop()) {
                    authenticated(result, error);
                } else {
                    downstream.eventLoop().execute(() -> authenticated(result, error));
                }
            });
        }
    }

    private void authenticated(AuthnResult result, Throwable error) {
        if (over()) {
            return;
        }
        if (error != null) {
            refuse(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE, String.valueOf(error.getMessage()));
        } else if (result instanceof AuthnResult.Refused refused) {
            refuse(refused.reason(), refused.detail());
        } else {
            request.headers().remove(HttpHeaderNames.AUTHORIZATION);
            route(((AuthnResult.Authenticated) result).id());
        }
    }

    private static String bearer(HttpRequest request) {
        for (CharSequence header : List.of(HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.PROXY_AUTHORIZATION)) {
            String value = request.headers().get(header);
            if (value != null && value.length() > BEARER.length()
                    && value.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                return value.substring(BEARER.length()).trim();
            }
        }
        return null;
    }

    private void refuse(AuthnFailure reason, String detail) {
        HttpResponseStatus status = reason == AuthnFailure.TOKEN_REVIEW_UNAVAILABLE
                ? HttpResponseStatus.SERVICE_UNAVAILABLE
                : target.proxyStyle() ? HttpResponseStatus.PROXY_AUTHENTICATION_REQUIRED : HttpResponseStatus.UNAUTHORIZED;
        FullHttpResponse response = Responses.error(downstream.alloc(), status, reason.code(), detail);
        if (status == HttpResponseStatus.PROXY_AUTHENTICATION_REQUIRED) {
            response.headers().set(HttpHeaderNames.PROXY_AUTHENTICATE, "Bearer");
        } else if (status == HttpResponseStatus.UNAUTHORIZED) {
            response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        answer(response, true);
    }

    /** Step 2: the clusters that export the name on the port, nearest first; ejected ones only if none is left. */
    private void route(SpiffeId caller) {
        this.caller = caller;
        source = handler.callerText(caller);
        List<ExportedService> exports = server.resolver().resolve(target.name(), server.locality());
        exported = !exports.isEmpty();
        int port = choosePort(target, exports);
        List<PeerIngress> healthy = new ArrayList<>(exports.size());
        List<PeerIngress> ejected = new ArrayList<>(0);
        for (ExportedService e : exports) {
            if (e.ports().isEmpty() || e.ports().stream().anyMatch(p -> p.port() == port)) {
                PeerIngress ingress = PeerIngress.of(e, server.resolver());
                (ingress.ejectedBy(server.outliers()) ? ejected : healthy).add(ingress);
            }
        }
        candidates = healthy.isEmpty() ? ejected : healthy;
        if (candidates.isEmpty()) {
            answer(HttpResponseStatus.NOT_FOUND, "unknown-service", exports.isEmpty()
                    ? "no healthy, non-stale cluster exports " + destination
                    : "no cluster exports port " + port + " of " + destination);
            return;
        }
        if (isConnect()) {
            tunnel();
            return;
        }
        stripHopByHop();
        IdentityHeaders.strip(request.headers());
        request.headers().set(IdentityHeaders.CALLER, source);
        request.headers().set(HttpHeaderNames.HOST, target.authority(port));
        request.setUri(target.path());
        attempt();
    }

    private static int choosePort(EgressTarget target, List<ExportedService> exports) {
        if (target.port() > 0 || exports.isEmpty()) {
            return target.port() > 0 ? target.port() : 80;
        }
        List<ServicePort> ports = exports.get(0).ports();
        if (ports.isEmpty() || ports.stream().anyMatch(p -> p.port() == 80)) {
            return 80;
        }
        return ports.stream().filter(p -> p.protocol().isHttp()).findFirst().orElse(ports.get(0)).port();
    }

    /** Step 3: the next cluster's ingress. */
    private void attempt() {
        current = candidates.get(next++);
        PeerIngress ingress = current;
        Future<?> upstream = isUpgrade()
                ? server.upgrades().connect(downstream.eventLoop(), ingress.address())
                : server.h2Peers().openStream(downstream.eventLoop(), ingress.address());
        upstream.addListener(f -> connected(ingress, f));
    }

    private void connected(PeerIngress ingress, Future<?> f) {
        if (!f.isSuccess()) {
            connectFailed(ingress, HandshakeFailure.message(f.cause()));
            fail(RetryPolicy.Failure.CONNECT_FAILED, HandshakeFailure.message(f.cause()));
            return;
        }
        Upstream up = Upstream.of(f.getNow());
        if (over()) {
            up.close();
            return;
        }
        String mismatch = ingress.mismatch(up.channel());
        if (mismatch != null) {
            PeerIngress.discard(up.channel());
            connectFailed(ingress, mismatch);
            fail(RetryPolicy.Failure.WRONG_PEER, mismatch);
            return;
        }
        ingress.connectSucceeded(server.outliers());
        forward(up, (upstream, reusable) -> {
            if (!reusable || isUpgrade()) {
                upstream.close();
            }
        });
    }

    /** A connect to {@code ingress} failed: counted, and told to the outlier detector (which may eject it). */
    private void connectFailed(PeerIngress ingress, String why) {
        metrics.connectFailure("egress", ingress.cluster());
        server.outliers().connectFailed(ingress.key()).ifPresent(e -> {
            metrics.outlierEjected(ingress.cluster());
            LOG.infof("egress: skipping cluster %s (%s) for %s after %d failed connects in a row%s; last: %s",
                    ingress.cluster(), ingress, e.duration(), e.consecutiveFailures(),
                    e.nth() > 1 ? " (ejection " + e.nth() + " in a row)" : "", why);
        });
    }

    @Override
    protected RequestLabels labels(ClusterDirectory directory, int code) {
        // Only a name some cluster exports takes a destination_service label (labelledService says why).
        Optional<String> service = ClusterDirectory.labelledService(target == null ? null : target.name().host(),
                exported, () -> !server.resolver().resolve(target.name(), server.locality()).isEmpty());
        return directory.egress(Optional.ofNullable(caller), Optional.ofNullable(current).map(PeerIngress::cluster),
                service, code);
    }

    @Override
    protected Optional<String> upstreamName() {
        return Optional.ofNullable(current).map(PeerIngress::toString);
    }

    @Override
    protected boolean retry(RetryPolicy.Failure failure, String why) {
        failures.add(current + ": " + why);
        if (!downstream.isActive()) {
            return false;
        }
        boolean unprocessed = failure == RetryPolicy.Failure.GOAWAY_UNPROCESSED
                || failure == RetryPolicy.Failure.NOT_WRITTEN;
        // A stream lost on a draining connection (RetryPolicy allowed it: idempotent, held whole) goes to the next
        // cluster when there is one, as any lost stream; to the same one only when nothing else exports the name.
        boolean drainedAndNowhereElse = failure == RetryPolicy.Failure.DRAINED && next >= candidates.size();
        if ((unprocessed || drainedAndNowhereElse) && sameClusterRetries < MAX_SAME_CLUSTER_RETRIES) {
            // The same cluster again, on another connection (the pool puts no stream on one going away): a peer
            // drains its connections when a CA it trusted retires, and must not cost a call that only it can serve.
            // A drain sends GOAWAY on every connection at once, so the next pooled one may close under the write
            // before its own GOAWAY is read here: nothing was processed either way. Bounded, then the next cluster.
            sameClusterRetries++;
            next--;
            attempt();
            return true;
        }
        if (next >= candidates.size()) {
            return false;
        }
        attempt();
        return true;
    }

    @Override
    protected FullHttpResponse failureResponse(RetryPolicy.Failure failure, String why, String notRetried) {
        if (failure == RetryPolicy.Failure.TIMEOUT) {
            return Responses.error(downstream.alloc(), HttpResponseStatus.GATEWAY_TIMEOUT, "upstream-timeout",
                    current + " did not answer: " + why);
        }
        if (notRetried != null) {
            return Responses.error(downstream.alloc(), HttpResponseStatus.BAD_GATEWAY, "upstream-failed",
                    current + ": " + why + "; not retried: " + notRetried);
        }
        return Responses.error(downstream.alloc(), HttpResponseStatus.BAD_GATEWAY, "no-cluster-reachable",
                "every cluster exporting " + destination + " failed: " + String.join("; ", failures));
    }

    /**
     * CONNECT: a fresh mTLS connection to the nearest reachable peer ingress, which opens the TCP stream to its
     * backend; then bytes are relayed. Connect and handshake failures move on to the next cluster; a refusal by
     * the peer (403, 404, 502) is passed back to the caller.
     */
    private void tunnel() {
        if (next >= candidates.size() || !downstream.isActive()) {
            answer(Responses.error(downstream.alloc(), HttpResponseStatus.BAD_GATEWAY, "no-cluster-reachable",
                    "every cluster exporting " + destination + " failed: " + String.join("; ", failures)), false);
            return;
        }
        PeerIngress ingress = candidates.get(next++);
        current = ingress;
        server.tunnels().connectThroughIngress(downstream.eventLoop(), ingress.address(), server.tls().upstream(),
                target.authority(target.port()), IdentityHeaders.CALLER.toString(), source, ingress::mismatch)
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        connectFailed(ingress, HandshakeFailure.message(f.cause()));
                        failures.add(ingress + ": " + HandshakeFailure.message(f.cause()));
                        tunnel();
                        return;
                    }
                    ingress.connectSucceeded(server.outliers());
                    Tunnels.Opened opened = (Tunnels.Opened) f.getNow();
                    if (opened.response().status().code() != 200) {
                        opened.channel().close();
                        answer(opened.response(), false);
                        return;
                    }
                    opened.response().release();
                    openTunnel(opened.channel());
                });
    }
}

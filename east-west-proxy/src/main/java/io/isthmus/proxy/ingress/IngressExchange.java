package io.isthmus.proxy.ingress;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.proxy.authz.vouch.CallerResolution;
import io.isthmus.proxy.authz.vouch.VouchingDecision;
import io.isthmus.proxy.exchange.Exchange;
import io.isthmus.proxy.exchange.RetryPolicy;
import io.isthmus.proxy.exchange.Upstream;
import io.isthmus.proxy.http.Grpc;
import io.isthmus.proxy.http.IdentityHeaders;
import io.isthmus.proxy.http.Responses;
import io.isthmus.proxy.http.path.PathVerdict;
import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.netty.channel.Channel;
import io.isthmus.proxy.exchange.Downstream;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.Future;

/**
 * One request at the ingress, from a peer gateway or from a workload or VM calling by its own SVID. Its steps, in
 * order: {@link #decide} asks, in this order and before anything reaches a backend, which mesh name is called,
 * {@link VouchingDecision} who the caller is (a caller a gateway of its trust domain vouched for, or the peer itself),
 * the {@link io.isthmus.proxy.http.path.PathNormalizer} which path policy and backend will see, which local backend
 * serves the name, and the destination's policy whether the caller may (every decision audited); then
 * {@link #connectBackend} finds the backend connection (a pooled HTTP/1.1 connection; h2c for gRPC; a dedicated
 * connection for an Upgrade) and {@link Exchange#forward} relays both ways, the verified caller in
 * {@code x-forwarded-client-cert}. A {@code CONNECT} opens a TCP stream to the backend instead ({@link #tunnel}),
 * authorized the same way per connection. Streamed bodies, upgrades and gRPC calls all pass the same decisions: they
 * are taken on the request head, before any byte goes on. Event loop only.
 */
final class IngressExchange extends Exchange {
    private static final Logger LOG = Logger.getLogger(IngressExchange.class);

    private final IngressServer server;
    private final SpiffeId peer;
    private InetSocketAddress backend;
    /** What the labels and the access log name, as far as {@link #decide} got. */
    private SpiffeId caller;
    private MeshName meshName;
    /** The mesh port the caller named, with meshName. */
    private int meshPort;
    private SpiffeId vouchedBy;
    private boolean retried;

    IngressExchange(IngressHandler handler, Downstream downstream, HttpRequest request, long start,
            IngressServer server, SpiffeId peer) {
        super(handler, downstream, request, start, server.settings());
        this.server = server;
        this.peer = peer;
    }

    /** Step 1: mesh name, caller, path, backend, policy. */
    @Override
    protected void decide() {
        if (peer == null) {
            downstream.close();
            return;
        }
        boolean connect = isConnect();
        source = peer.toString();
        String host = connect ? request.uri() : request.headers().get(HttpHeaderNames.HOST);
        Optional<MeshName> name = MeshName.parseHost(host, settings.meshSuffix());
        if (name.isEmpty()) {
            answer(HttpResponseStatus.NOT_FOUND, "not-a-mesh-name",
                    "Host '" + host + "' is not <service>.<namespace>." + settings.meshSuffix());
            return;
        }
        destination = name.get().host();
        meshName = name.get();
        int port = port(host);
        meshPort = port;
        CallerResolution who = VouchingDecision.resolve(peer, request.headers().getAll(IdentityHeaders.CALLER),
                server.gateways());
        if (who instanceof CallerResolution.Refused refused) {
            AccessRequest access = access(refused.auditedCaller(), name.get(), port, connect);
            audit(access.viaGateway(peer), new Decision.Denied(refused.reason(), "", "", refused.detail(), List.of()));
            source = refused.auditedCaller().toString();
            caller = refused.auditedCaller();
            deny(refused.reason().code(), refused.detail());
            return;
        }
        SpiffeId caller = who instanceof CallerResolution.Vouched v ? v.caller() : ((CallerResolution.Direct) who).caller();
        this.caller = caller;
        if (who instanceof CallerResolution.Vouched v) {
            vouchedBy = v.gateway();
        }
        source = caller.toString();
        if (!connect) {
            PathVerdict path = server.paths().normalize(request.uri());
            if (path instanceof PathVerdict.Refused bad) {
                metrics.requestRefused(direction, bad.reason().code());
                LOG.debugf("ingress: refused the path of %s -> %s: %s", source, destination, bad.detail());
                answer(Responses.error(downstream.alloc(), HttpResponseStatus.BAD_REQUEST, bad.reason().code(), bad.detail()),
                        false);
                return;
            }
            // What policy matches is what is forwarded: the backend never sees another spelling of the path.
            request.setUri(((PathVerdict.Normalized) path).target());
        }
        Optional<InetSocketAddress> local = server.backends().resolve(name.get(), port);
        if (local.isEmpty()) {
            answer(HttpResponseStatus.NOT_FOUND, "unknown-service", "this cluster serves no backend for " + destination);
            return;
        }
        backend = local.get();
        AccessRequest access = access(caller, name.get(), port, connect);
        if (who instanceof CallerResolution.Vouched v) {
            access = access.viaGateway(v.gateway());
        }
        Decision decision;
        try {
            decision = server.authorizer().authorize(access);
        } catch (RuntimeException e) {
            LOG.errorf(e, "ingress: the authorizer failed for %s; denying", access);
            decision = new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "", "the authorizer failed: " + e,
                    List.of());
        }
        audit(access, decision);
        if (decision instanceof Decision.Denied denied) {
            deny(denied.reason().code(), denied.detail().isEmpty() ? caller + " may not "
                    + access.method().orElse("connect to") + " " + access.path().orElse("port " + port) + " on "
                    + destination : denied.detail());
            return;
        }
        if (connect) {
            tunnel();
            return;
        }
        stripHopByHop();
        IdentityHeaders.strip(request.headers());
        request.headers().set(IdentityHeaders.XFCC, server.xfccPrefix() + source);
        if (Grpc.isGrpc(request)) {
            request.headers().set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
        }
        connectBackend();
    }

    @Override
    protected RequestLabels labels(ClusterDirectory directory, int code) {
        SpiffeId who = caller != null ? caller : peer;
        // The host decide() already built from the mesh name (building it again cost a string per request).
        // Only a name this cluster serves takes a destination_service label (labelledService says why).
        Optional<String> service = ClusterDirectory.labelledService(meshName == null ? null : destination,
                backend != null ? Boolean.TRUE : null, () -> !server.backends().resolve(meshName, meshPort).isEmpty());
        if (who == null) {
            return new RequestLabels("ingress", ClusterDirectory.UNKNOWN, directory.ownCluster(), ClusterDirectory.OTHER,
                    ClusterDirectory.UNKNOWN, code);
        }
        return directory.ingress(who, service, code);
    }

    @Override
    protected Optional<String> peerGateway() {
        return Optional.ofNullable(vouchedBy).map(SpiffeId::toString);
    }

    @Override
    protected Optional<String> upstreamName() {
        return Optional.ofNullable(backend).map(b -> b.getHostString() + ":" + b.getPort());
    }

    /** What policy is asked: the path is the request's (already normalized) path without its query. */
    private AccessRequest access(SpiffeId caller, MeshName name, int port, boolean connect) {
        if (connect) {
            return AccessRequest.tcp(caller, name, port);
        }
        String uri = request.uri();
        int query = uri.indexOf('?');
        return AccessRequest.http(caller, name, port, request.method().name(), query < 0 ? uri : uri.substring(0, query));
    }

    private void audit(AccessRequest access, Decision decision) {
        try {
            server.decisionLog().record(access, decision);
        } catch (RuntimeException e) {
            LOG.warnf(e, "ingress: the decision log failed for %s", access);
        }
    }

    private void deny(String reason, String detail) {
        metrics.authzDenial(reason);
        LOG.debugf("ingress: denied %s -> %s: %s (%s)", source, destination, reason, detail);
        // After a CONNECT the client sends tunnel bytes, not HTTP: a refused CONNECT closes the connection, so that
        // none of those bytes is read as a request.
        answer(Responses.error(downstream.alloc(), HttpResponseStatus.FORBIDDEN, reason, detail), !isConnect());
    }

    /**
     * Step 2: the backend connection. gRPC needs HTTP/2 end to end (and its trailers): h2c with prior knowledge,
     * one stream per call. An Upgrade gets a connection of its own, which it keeps. Everything else takes pooled
     * HTTP/1.1 connections.
     */
    private void connectBackend() {
        boolean h2c = Grpc.isGrpc(request);
        Future<?> upstream;
        if (isUpgrade()) {
            upstream = server.backendPool().connect(downstream.eventLoop(), backend);
        } else if (h2c) {
            upstream = server.h2cBackends().openStream(downstream.eventLoop(), backend);
        } else {
            upstream = server.backendPool().acquire(downstream.eventLoop(), backend);
        }
        upstream.addListener(f -> {
            if (!f.isSuccess()) {
                metrics.connectFailure("ingress", "local");
                fail(RetryPolicy.Failure.CONNECT_FAILED, String.valueOf(f.cause().getMessage()));
                return;
            }
            Upstream up = Upstream.of(f.getNow());
            if (over()) {
                up.close();
                return;
            }
            forward(up, h2c || isUpgrade() ? (u, reusable) -> {
                if (!reusable || isUpgrade()) {
                    u.close();
                }
            } : (u, reusable) -> server.backendPool().release(u.channel(), reusable));
        });
    }

    /** One more try on a new connection, when the first broke unprocessed or was a stale pooled one. */
    @Override
    protected boolean retry(RetryPolicy.Failure failure, String why) {
        if (retried || failure == RetryPolicy.Failure.CONNECT_FAILED || !downstream.isActive()) {
            return false;
        }
        retried = true;
        LOG.debugf("ingress: retrying %s %s to %s: %s", request.method(), request.uri(), backend, why);
        connectBackend();
        return true;
    }

    @Override
    protected FullHttpResponse failureResponse(RetryPolicy.Failure failure, String why, String notRetried) {
        if (failure == RetryPolicy.Failure.CONNECT_FAILED) {
            return Responses.error(downstream.alloc(), HttpResponseStatus.BAD_GATEWAY, "backend-unavailable",
                    "cannot connect to the backend of " + destination + " at " + backend + ": " + why);
        }
        if (failure == RetryPolicy.Failure.TIMEOUT) {
            return Responses.error(downstream.alloc(), HttpResponseStatus.GATEWAY_TIMEOUT, "backend-timeout",
                    "the backend of " + destination + " did not answer: " + why);
        }
        return Responses.error(downstream.alloc(), HttpResponseStatus.BAD_GATEWAY, "backend-failed",
                why + (notRetried == null ? "" : "; not retried: " + notRetried));
    }

    /** CONNECT: a TCP stream to the backend, relayed byte for byte once the policy allowed it. */
    private void tunnel() {
        server.tunnels().connectPlain(downstream.eventLoop(), backend).addListener(f -> {
            if (!f.isSuccess()) {
                metrics.connectFailure("ingress", "local");
                answer(Responses.error(downstream.alloc(), HttpResponseStatus.BAD_GATEWAY, "backend-unavailable",
                        "cannot connect to the backend of " + destination + " at " + backend + ": "
                                + f.cause().getMessage()), false);
                return;
            }
            openTunnel((Channel) f.getNow());
        });
    }

    static int port(String host) {
        int colon = host.lastIndexOf(':');
        if (colon > 0 && host.indexOf(']') < colon) {
            try {
                return Integer.parseInt(host.substring(colon + 1));
            } catch (NumberFormatException e) {
                return 80;
            }
        }
        return 80;
    }
}

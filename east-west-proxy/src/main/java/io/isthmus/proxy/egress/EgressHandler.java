package io.isthmus.proxy.egress;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;

import org.jboss.logging.Logger;

import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.HopByHop;
import io.isthmus.proxy.http.IdentityHeaders;
import io.isthmus.proxy.http.ProxyHandlerBase;
import io.isthmus.proxy.http.Responses;
import io.isthmus.proxy.stream.StreamGate;
import io.isthmus.proxy.stream.StreamRelay;
import io.isthmus.proxy.tls.HandshakeFailure;
import io.isthmus.proxy.upstream.Exchange;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.tls.TlsContexts;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * Serves one local caller's connection: authenticates the caller (SVID from the TLS handshake, else a bearer
 * token), resolves the mesh name, and forwards each request to the nearest reachable peer ingress, replacing any
 * identity headers the caller sent with the authenticated identity. A cluster whose ingress cannot be connected to
 * (or whose pooled connection breaks before the request was written) is skipped for the next one; once a byte of
 * the request was sent there is no retry.
 */
final class EgressHandler extends ProxyHandlerBase {
    private static final Logger LOG = Logger.getLogger(EgressHandler.class);
    private static final String BEARER = "bearer ";

    private final EgressServer server;
    private SpiffeId tlsCaller;
    /** Memo: the same caller sends many requests on one connection; SpiffeId.toString() builds a new string. */
    private SpiffeId lastCaller;
    private String lastCallerText;

    EgressHandler(EgressServer server, HeaderDeadline deadline) {
        super(server.metrics(), "egress", deadline);
        this.server = server;
    }

    @Override
    protected void handshakeDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent event) {
        if (!event.isSuccess()) {
            String reason = HandshakeFailure.reason(event.cause());
            metrics.handshakeFailure("egress", reason);
            LOG.debugf("egress: refused TLS from %s: %s (%s)", ctx.channel().remoteAddress(), reason,
                    HandshakeFailure.message(event.cause()));
            ctx.close();
            return;
        }
        io.isthmus.trust.tls.SvidCertificateException refused = server.tls().admit(ctx.channel(), true);
        if (refused != null) {
            metrics.handshakeFailure("egress", refused.reason().label());
            ctx.close();
            return;
        }
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        tlsCaller = TlsContexts.peerId(ssl.engine().getSession()).orElse(null);
        ctx.channel().attr(io.isthmus.proxy.http.Http2Support.PEER).set(tlsCaller);
        if (io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
            io.isthmus.proxy.http.Http2Support.switchToHttp2(ctx.pipeline(), "egress",
                    server.settings().maxHeaderSize(), server.settings().maxBodySize(), server::streamHandler);
        }
    }

    /** On an HTTP/2 stream the TLS handshake (if any) happened on the parent connection, which knows the caller. */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (io.isthmus.proxy.http.Http2Support.isStream(ctx.channel())) {
            tlsCaller = (SpiffeId) ctx.channel().parent().attr(io.isthmus.proxy.http.Http2Support.PEER).get();
        }
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest request, long start) {
        EgressTarget target;
        boolean connect = request.method().equals(HttpMethod.CONNECT);
        if (connect) {
            // What follows the CONNECT is the tunnel's bytes, not HTTP: read nothing more until it is set up.
            ctx.channel().config().setAutoRead(false);
        }
        try {
            target = connect ? EgressTarget.parseConnect(request.uri(), server.settings().meshSuffix())
                    : EgressTarget.parse(request.uri(), request.headers().get(HttpHeaderNames.HOST),
                            server.settings().meshSuffix());
        } catch (EgressTarget.NotAMeshName e) {
            request.release();
            respond(ctx, keepAlive(request) && !connect, Responses.error(ctx.alloc(), HttpResponseStatus.NOT_FOUND,
                    "not-a-mesh-name", e.getMessage()), "unauthenticated", "-", start);
            return;
        }
        if (tlsCaller != null) {
            route(ctx, request, target, tlsCaller, start);
            return;
        }
        String token = bearer(request);
        if (token == null) {
            refuse(ctx, request, target, AuthnFailure.NO_CREDENTIAL,
                    "present your SVID over TLS or send 'Authorization: Bearer <service-account token>'", start);
            return;
        }
        if (server.tokens() == null) {
            refuse(ctx, request, target, AuthnFailure.TOKEN_REVIEW_UNAVAILABLE,
                    "this gateway has no token authenticator; present your SVID over TLS", start);
            return;
        }
        server.tokens().authenticate(token).whenComplete((result, error) -> {
            // A cached answer completes at once, on this event loop: no need to queue a task.
            if (ctx.executor().inEventLoop()) {
                authenticated(ctx, request, target, result, error, start);
            } else {
                ctx.executor().execute(() -> authenticated(ctx, request, target, result, error, start));
            }
        });
    }

    private void authenticated(ChannelHandlerContext ctx, FullHttpRequest request, EgressTarget target,
            AuthnResult result, Throwable error, long start) {
        if (error != null) {
            refuse(ctx, request, target, AuthnFailure.TOKEN_REVIEW_UNAVAILABLE, String.valueOf(error.getMessage()),
                    start);
        } else if (result instanceof AuthnResult.Refused refused) {
            refuse(ctx, request, target, refused.reason(), refused.detail(), start);
        } else {
            request.headers().remove(HttpHeaderNames.AUTHORIZATION);
            route(ctx, request, target, ((AuthnResult.Authenticated) result).id(), start);
        }
    }

    private static String bearer(FullHttpRequest request) {
        for (CharSequence header : List.of(HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.PROXY_AUTHORIZATION)) {
            String value = request.headers().get(header);
            if (value != null && value.length() > BEARER.length()
                    && value.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                return value.substring(BEARER.length()).trim();
            }
        }
        return null;
    }

    private void refuse(ChannelHandlerContext ctx, FullHttpRequest request, EgressTarget target, AuthnFailure reason,
            String detail, long start) {
        boolean keepAlive = keepAlive(request) && !request.method().equals(HttpMethod.CONNECT);
        request.release();
        HttpResponseStatus status = reason == AuthnFailure.TOKEN_REVIEW_UNAVAILABLE
                ? HttpResponseStatus.SERVICE_UNAVAILABLE
                : target.proxyStyle() ? HttpResponseStatus.PROXY_AUTHENTICATION_REQUIRED : HttpResponseStatus.UNAUTHORIZED;
        FullHttpResponse response = Responses.error(ctx.alloc(), status, reason.code(), detail);
        if (status == HttpResponseStatus.PROXY_AUTHENTICATION_REQUIRED) {
            response.headers().set(HttpHeaderNames.PROXY_AUTHENTICATE, "Bearer");
        } else if (status == HttpResponseStatus.UNAUTHORIZED) {
            response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        respond(ctx, keepAlive, response, "unauthenticated", target.name().host(), start);
    }

    private void route(ChannelHandlerContext ctx, FullHttpRequest request, EgressTarget target, SpiffeId caller,
            long start) {
        boolean keepAlive = keepAlive(request);
        String destination = target.name().host();
        if (!caller.equals(lastCaller)) {
            lastCaller = caller;
            lastCallerText = caller.toString();
        }
        String callerText = lastCallerText;
        List<ExportedService> exports = server.resolver().resolve(target.name(), server.locality());
        int port = choosePort(target, exports);
        List<PeerIngress> candidates = new ArrayList<>(exports.size());
        for (ExportedService e : exports) {
            if (e.ports().isEmpty() || e.ports().stream().anyMatch(p -> p.port() == port)) {
                candidates.add(PeerIngress.of(e, server.resolver()));
            }
        }
        if (candidates.isEmpty()) {
            request.release();
            respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "unknown-service",
                    exports.isEmpty() ? "no healthy, non-stale cluster exports " + destination
                            : "no cluster exports port " + port + " of " + destination),
                    callerText, destination, start);
            return;
        }
        if (request.method().equals(HttpMethod.CONNECT)) {
            request.release();
            tunnel(ctx, target, candidates, 0, new ArrayList<>(), callerText, destination, start);
            return;
        }
        HopByHop.strip(request.headers());
        IdentityHeaders.strip(request.headers());
        request.headers().set(IdentityHeaders.CALLER, callerText);
        request.headers().set(HttpHeaderNames.HOST, target.authority(port));
        request.setUri(target.path());
        attempt(ctx, request, candidates, 0, new ArrayList<>(), keepAlive, callerText, destination, start);
    }

    /**
     * CONNECT: a fresh mTLS connection to the nearest reachable peer ingress, which opens the TCP stream to its
     * backend; then bytes are relayed. Connect and handshake failures move on to the next cluster; a refusal by
     * the peer (403, 404, 502) is passed back to the caller.
     */
    private void tunnel(ChannelHandlerContext ctx, EgressTarget target, List<PeerIngress> candidates, int index,
            List<String> failures, String caller, String destination, long start) {
        if (index >= candidates.size() || !ctx.channel().isActive()) {
            respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_GATEWAY, "no-cluster-reachable",
                    "every cluster exporting " + destination + " failed: " + String.join("; ", failures)), caller,
                    destination, start);
            return;
        }
        PeerIngress ingress = candidates.get(index);
        server.tunnels().connectThroughIngress(ctx.channel().eventLoop(), ingress.address(), server.tls().upstream(),
                target.authority(target.port()), IdentityHeaders.CALLER.toString(), caller, ingress::mismatch)
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        metrics.connectFailure("egress");
                        failures.add(ingress + ": " + HandshakeFailure.message(f.cause()));
                        tunnel(ctx, target, candidates, index + 1, failures, caller, destination, start);
                        return;
                    }
                    io.isthmus.proxy.tunnel.Tunnels.Opened opened = (io.isthmus.proxy.tunnel.Tunnels.Opened) f.getNow();
                    if (opened.response().status().code() != 200) {
                        opened.channel().close();
                        respond(ctx, false, opened.response(), caller, destination, start);
                        return;
                    }
                    opened.response().release();
                    metrics.request(direction, caller, destination, 200, start);
                    io.isthmus.proxy.tunnel.Tunnels.establish(ctx, "egress", opened.channel());
                });
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

    private void attempt(ChannelHandlerContext ctx, FullHttpRequest request, List<PeerIngress> candidates, int index,
            List<String> failures, boolean keepAlive, String caller, String destination, long start) {
        if (index >= candidates.size() || !ctx.channel().isActive()) {
            request.release();
            respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_GATEWAY, "no-cluster-reachable",
                    "every cluster exporting " + destination + " failed: " + String.join("; ", failures)), caller,
                    destination, start);
            return;
        }
        PeerIngress ingress = candidates.get(index);
        InetSocketAddress address = ingress.address();
        Channel downstream = ctx.channel();
        // gRPC goes to the peer over a multiplexed h2 mTLS connection (one stream per call), end to end HTTP/2.
        boolean h2 = io.isthmus.proxy.ingress.Grpc.isGrpc(request);
        StreamGate gate = h2 ? StreamGate.holding(downstream) : null;
        if (gate != null) {
            relay(ctx, gate, request, candidates, index, failures, keepAlive, caller, destination, start);
            return;
        }
        Future<Channel> acquired = h2 ? server.h2Peers().acquireStream(downstream.eventLoop(), address)
                : server.peers().acquire(downstream.eventLoop(), address);
        acquired.addListener(f -> {
            if (!f.isSuccess()) {
                metrics.connectFailure("egress");
                failures.add(ingress + ": " + HandshakeFailure.message(f.cause()));
                attempt(ctx, request, candidates, index + 1, failures, keepAlive, caller, destination, start);
                return;
            }
            Channel upstream = acquired.getNow();
            if (wrongPeer(upstream, ingress, failures)) {
                attempt(ctx, request, candidates, index + 1, failures, keepAlive, caller, destination, start);
                return;
            }
            Promise<Void> written = upstream.eventLoop().newPromise();
            Promise<FullHttpResponse> response = Exchange.send(upstream, request.retainedDuplicate(), written);
            written.addListener(w -> {
                if (!w.isSuccess()) {
                    // Nothing reached the peer: safe to try the next cluster.
                    failures.add(ingress + ": " + w.cause());
                    attempt(ctx, request, candidates, index + 1, failures, keepAlive, caller, destination, start);
                    return;
                }
                response.addListener(r -> {
                    if (r.cause() instanceof Exchange.UpstreamClosedException closed && closed.handshakeRefused()) {
                        metrics.connectFailure("egress");
                        failures.add(ingress + ": refused our gateway certificate: "
                                + HandshakeFailure.message(closed.getCause()));
                        attempt(ctx, request, candidates, index + 1, failures, keepAlive, caller, destination, start);
                        return;
                    }
                    request.release();
                    if (r.isSuccess()) {
                        FullHttpResponse answer = response.getNow();
                        if (h2) {
                            upstream.close();
                        } else if (HttpUtil.isKeepAlive(answer)) {
                            server.peers().release(upstream);
                        } else {
                            upstream.close();
                        }
                        respond(ctx, keepAlive, answer, caller, destination, start);
                    } else if (r.cause() instanceof TimeoutException) {
                        respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.GATEWAY_TIMEOUT,
                                "upstream-timeout", ingress + " did not answer within "
                                        + server.settings().requestTimeout()), caller, destination, start);
                    } else {
                        respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_GATEWAY,
                                "upstream-failed", ingress + ": " + r.cause().getMessage()), caller, destination,
                                start);
                    }
                });
            });
        });
    }

    /** Whether {@code upstream} is not the exporting cluster's gateway; if so it is closed and the reason noted. */
    private boolean wrongPeer(Channel upstream, PeerIngress ingress, List<String> failures) {
        String mismatch = ingress.mismatch(upstream);
        if (mismatch == null) {
            return false;
        }
        metrics.connectFailure("egress");
        failures.add(ingress + ": " + mismatch);
        PeerIngress.discard(upstream);
        return true;
    }

    /**
     * A gRPC call from an HTTP/2 stream: a new stream on the multiplexed h2 mTLS connection to the peer ingress, the
     * admitted headers sent, then frames relayed in both directions as they arrive (no aggregation). A peer that
     * cannot be reached, or whose stream did not take the headers, is skipped for the next cluster: nothing was sent.
     */
    private void relay(ChannelHandlerContext ctx, StreamGate gate, FullHttpRequest request,
            List<PeerIngress> candidates, int index, List<String> failures, boolean keepAlive, String caller,
            String destination, long start) {
        PeerIngress ingress = candidates.get(index);
        server.h2Peers().acquireFrameStream(ctx.channel().eventLoop(), ingress.address()).addListener(f -> {
            if (!f.isSuccess()) {
                metrics.connectFailure("egress");
                failures.add(ingress + ": " + HandshakeFailure.message(f.cause()));
                attempt(ctx, request, candidates, index + 1, failures, keepAlive, caller, destination, start);
                return;
            }
            Channel upstream = (Channel) f.getNow();
            if (wrongPeer(upstream, ingress, failures)) {
                attempt(ctx, request, candidates, index + 1, failures, keepAlive, caller, destination, start);
                return;
            }
            StreamRelay.start(gate, upstream, StreamRelay.requestHeaders(request, upstream),
                    server.settings().requestTimeout(), (status, grpcStatus) -> {
                        metrics.request(direction, caller, destination, status, start);
                        metrics.grpcCall(direction, destination, grpcStatus);
                    }).addListener(w -> {
                        if (w.isSuccess()) {
                            request.release();
                        } else {
                            failures.add(ingress + ": " + w.cause());
                            attempt(ctx, request, candidates, index + 1, failures, keepAlive, caller, destination,
                                    start);
                        }
                    });
        });
    }
}

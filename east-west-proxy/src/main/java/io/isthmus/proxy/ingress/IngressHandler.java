package io.isthmus.proxy.ingress;

import java.net.InetSocketAddress;
import java.util.Optional;

import javax.net.ssl.SSLSession;

import org.jboss.logging.Logger;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.HopByHop;
import io.isthmus.proxy.http.IdentityHeaders;
import io.isthmus.proxy.http.ProxyHandlerBase;
import io.isthmus.proxy.http.Responses;
import io.isthmus.proxy.stream.StreamGate;
import io.isthmus.proxy.stream.StreamRelay;
import io.isthmus.proxy.tls.HandshakeFailure;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.tls.TlsContexts;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * Serves one mTLS connection from a peer gateway: the peer's SVID was verified in the handshake; each request's
 * asserted caller must belong to the peer's trust domain ("a gateway may vouch only for identities of its own
 * trust domain"), then the destination's policy decides, then the request goes to the local backend with the
 * verified caller in {@code x-forwarded-client-cert}.
 */
final class IngressHandler extends ProxyHandlerBase {
    private static final Logger LOG = Logger.getLogger(IngressHandler.class);

    private final IngressServer server;
    private SpiffeId peer;
    // Per-connection memos: a peer gateway's connection carries the same few hosts and callers over and over.
    private String lastHost;
    private Optional<MeshName> lastName = Optional.empty();
    private String lastDestination;
    private String lastAsserted;
    private Optional<SpiffeId> lastCaller = Optional.empty();
    private String lastCallerText;
    private String lastXfcc;
    private SpiffeId lastXfccBy;
    private SpiffeId lastXfccCaller;

    IngressHandler(IngressServer server, HeaderDeadline deadline) {
        super(server.metrics(), "ingress", deadline);
        this.server = server;
    }

    @Override
    protected void handshakeDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent event) {
        if (!event.isSuccess()) {
            String reason = HandshakeFailure.reason(event.cause());
            metrics.handshakeFailure("ingress", reason);
            LOG.debugf("ingress: refused TLS from %s: %s (%s)", ctx.channel().remoteAddress(), reason,
                    HandshakeFailure.message(event.cause()));
            ctx.close();
            return;
        }
        io.isthmus.trust.tls.SvidCertificateException refused = server.tls().admit(ctx.channel(), false);
        if (refused != null) {
            metrics.handshakeFailure("ingress", refused.reason().label());
            LOG.debugf("ingress: refused %s after the handshake: %s", ctx.channel().remoteAddress(), refused.getMessage());
            ctx.close();
            return;
        }
        SSLSession session = ctx.pipeline().get(SslHandler.class).engine().getSession();
        Optional<SpiffeId> id = TlsContexts.peerId(session);
        if (id.isEmpty()) {
            // Cannot happen with ClientAuth.REQUIRE and the SPIFFE trust manager; refuse rather than trust.
            metrics.handshakeFailure("ingress", HandshakeFailure.NO_CLIENT_CERTIFICATE);
            ctx.close();
            return;
        }
        peer = id.get();
        ctx.channel().attr(io.isthmus.proxy.http.Http2Support.PEER).set(peer);
        if (io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2.equals(
                ctx.pipeline().get(SslHandler.class).applicationProtocol())) {
            io.isthmus.proxy.http.Http2Support.switchToHttp2(ctx.pipeline(), "ingress",
                    server.settings().maxHeaderSize(), server.settings().maxBodySize(), server::streamHandler);
        }
    }

    /** On an HTTP/2 stream the handshake happened on the parent connection, which knows the peer. */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (io.isthmus.proxy.http.Http2Support.isStream(ctx.channel())) {
            peer = (SpiffeId) ctx.channel().parent().attr(io.isthmus.proxy.http.Http2Support.PEER).get();
        }
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest request, long start) {
        boolean keepAlive = keepAlive(request);
        if (peer == null) {
            request.release();
            ctx.close();
            return;
        }
        boolean connect = request.method().equals(HttpMethod.CONNECT);
        String host = connect ? request.uri() : request.headers().get(HttpHeaderNames.HOST);
        if (host == null || !host.equals(lastHost)) {
            lastHost = host;
            lastName = MeshName.parseHost(host, server.settings().meshSuffix());
            lastDestination = lastName.map(MeshName::host).orElse(null);
        }
        Optional<MeshName> name = lastName;
        if (name.isEmpty()) {
            request.release();
            respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "not-a-mesh-name",
                    "Host '" + host + "' is not <service>.<namespace>." + server.settings().meshSuffix()),
                    peer.toString(), "-", start);
            return;
        }
        String destination = lastDestination;
        int port = port(host);
        String asserted = request.headers().get(IdentityHeaders.CALLER);
        if (asserted == null) {
            refuseVouching(ctx, request, keepAlive, DenyReason.MISSING_CALLER_IDENTITY, peer, name.get(), port, connect,
                    "peer gateway " + peer + " sent no " + IdentityHeaders.CALLER + " header", peer.toString(),
                    destination, start);
            return;
        }
        if (!asserted.equals(lastAsserted)) {
            lastAsserted = asserted;
            lastCaller = SpiffeId.tryParse(asserted.trim());
            lastCallerText = lastCaller.map(SpiffeId::toString).orElse(null);
        }
        Optional<SpiffeId> caller = lastCaller;
        if (caller.isEmpty()) {
            refuseVouching(ctx, request, keepAlive, DenyReason.INVALID_CALLER_IDENTITY, peer, name.get(), port, connect,
                    "peer gateway " + peer + " asserted '" + asserted + "', which is not a SPIFFE ID",
                    peer.toString(), destination, start);
            return;
        }
        SpiffeId callerId = caller.get();
        if (!callerId.memberOf(peer.trustDomain())) {
            refuseVouching(ctx, request, keepAlive, DenyReason.CALLER_OUTSIDE_PEER_TRUST_DOMAIN, callerId, name.get(),
                    port, connect, "gateway " + peer + " may vouch only for identities of " + peer.trustDomain()
                            + ", not " + callerId, lastCallerText, destination, start);
            return;
        }
        Optional<InetSocketAddress> backend = server.backends().resolve(name.get(), port);
        if (backend.isEmpty()) {
            request.release();
            respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "unknown-service",
                    "this cluster serves no backend for " + destination), lastCallerText, destination, start);
            return;
        }
        String path = request.uri();
        int query = path.indexOf('?');
        AccessRequest access = (connect ? AccessRequest.tcp(callerId, name.get(), port)
                : AccessRequest.http(callerId, name.get(), port, request.method().name(),
                        query < 0 ? path : path.substring(0, query))).viaGateway(peer);
        Decision decision;
        try {
            decision = server.authorizer().authorize(access);
        } catch (RuntimeException e) {
            LOG.errorf(e, "ingress: the authorizer failed for %s; denying", access);
            decision = new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "",
                    "the authorizer failed: " + e, java.util.List.of());
        }
        audit(access, decision);
        if (decision instanceof Decision.Denied denied) {
            String detail = denied.detail().isEmpty() ? callerId + " may not " + access.method().orElse("connect to")
                    + " " + access.path().orElse("port " + port) + " on " + destination : denied.detail();
            deny(ctx, request, keepAlive, HttpResponseStatus.FORBIDDEN, denied.reason().code(), detail,
                    lastCallerText, destination, start);
            return;
        }
        if (connect) {
            request.release();
            tunnel(ctx, backend.get(), callerId, destination, start);
        } else {
            forward(ctx, request, keepAlive, backend.get(), callerId, destination, start);
        }
    }

    /** CONNECT: a TCP stream to the backend, relayed byte for byte once the policy allowed it. */
    private void tunnel(ChannelHandlerContext ctx, InetSocketAddress backend, SpiffeId caller, String destination,
            long start) {
        String callerText = lastCallerText;
        ctx.channel().config().setAutoRead(false);
        server.tunnels().connectPlain(ctx.channel().eventLoop(), backend).addListener(f -> {
            if (!f.isSuccess()) {
                metrics.connectFailure("ingress");
                respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_GATEWAY,
                        "backend-unavailable", "cannot connect to the backend of " + destination + " at " + backend
                                + ": " + f.cause().getMessage()), callerText, destination, start);
                return;
            }
            metrics.request(direction, callerText, destination, 200, start);
            io.isthmus.proxy.tunnel.Tunnels.establish(ctx, "ingress", (Channel) f.getNow());
        });
    }

    private void audit(AccessRequest access, Decision decision) {
        try {
            server.decisionLog().record(access, decision);
        } catch (RuntimeException e) {
            LOG.warnf(e, "ingress: the decision log failed for %s", access);
        }
    }

    /**
     * A peer gateway's vouching is refused before any policy runs: 403, and an audit line whose caller is the
     * identity it asserted when that is a SPIFFE ID, else the peer gateway itself.
     */
    private void refuseVouching(ChannelHandlerContext ctx, FullHttpRequest request, boolean keepAlive,
            DenyReason reason, SpiffeId auditedCaller, MeshName destinationName, int port, boolean connect,
            String detail, String source, String destination, long start) {
        String path = request.uri();
        int query = path.indexOf('?');
        AccessRequest access = (connect ? AccessRequest.tcp(auditedCaller, destinationName, port)
                : AccessRequest.http(auditedCaller, destinationName, port, request.method().name(),
                        query < 0 ? path : path.substring(0, query))).viaGateway(peer);
        audit(access, new Decision.Denied(reason, "", "", detail, java.util.List.of()));
        deny(ctx, request, keepAlive, HttpResponseStatus.FORBIDDEN, reason.code(), detail, source, destination, start);
    }

    private void deny(ChannelHandlerContext ctx, FullHttpRequest request, boolean keepAlive, HttpResponseStatus status,
            String reason, String detail, String source, String destination, long start) {
        request.release();
        metrics.authzDenial(reason);
        LOG.debugf("ingress: denied %s -> %s: %s (%s)", source, destination, reason, detail);
        respond(ctx, keepAlive, Responses.error(ctx.alloc(), status, reason, detail), source, destination, start);
    }

    private void forward(ChannelHandlerContext ctx, FullHttpRequest request, boolean keepAlive,
            InetSocketAddress backend, SpiffeId caller, String destination, long start) {
        String callerText = lastCallerText;
        HopByHop.strip(request.headers());
        IdentityHeaders.strip(request.headers());
        SpiffeId by = server.localId();
        if (!by.equals(lastXfccBy) || !caller.equals(lastXfccCaller)) {
            lastXfccBy = by;
            lastXfccCaller = caller;
            lastXfcc = "By=" + by + ";URI=" + caller;
        }
        request.headers().set(IdentityHeaders.XFCC, lastXfcc);
        Channel downstream = ctx.channel();
        // gRPC needs HTTP/2 end to end on the backend hop (and its trailers): h2c with prior knowledge, one stream
        // per request. Everything else keeps pooled HTTP/1.1 connections.
        boolean h2c = Grpc.isGrpc(request);
        if (h2c) {
            request.headers().set(io.netty.handler.codec.http.HttpHeaderNames.TE,
                    io.netty.handler.codec.http.HttpHeaderValues.TRAILERS);
        }
        StreamGate gate = h2c ? StreamGate.holding(downstream) : null;
        if (gate != null) {
            relay(ctx, gate, request, keepAlive, backend, callerText, destination, start);
            return;
        }
        Future<Channel> acquired = h2c ? server.h2cBackends().acquireStream(downstream.eventLoop(), backend)
                : server.backendPool().acquire(downstream.eventLoop(), backend);
        acquired.addListener(f -> {
            if (!f.isSuccess()) {
                backendUnavailable(ctx, request, keepAlive, backend, f.cause(), callerText, destination, start);
                return;
            }
            Channel upstream = acquired.getNow();
            Promise<Void> written = upstream.eventLoop().newPromise();
            Promise<FullHttpResponse> response = io.isthmus.proxy.upstream.Exchange.send(upstream, request, written);
            response.addListener(r -> {
                if (r.isSuccess()) {
                    FullHttpResponse answer = response.getNow();
                    boolean upstreamKeepAlive = io.netty.handler.codec.http.HttpUtil.isKeepAlive(answer);
                    if (h2c) {
                        upstream.close();
                    } else if (upstreamKeepAlive) {
                        server.backendPool().release(upstream);
                    } else {
                        upstream.close();
                    }
                    respond(ctx, keepAlive, answer, callerText, destination, start);
                } else if (r.cause() instanceof java.util.concurrent.TimeoutException) {
                    upstream.close();
                    respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.GATEWAY_TIMEOUT,
                            "backend-timeout", "the backend of " + destination + " did not answer within "
                                    + server.settings().requestTimeout()), callerText, destination, start);
                } else {
                    respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_GATEWAY, "backend-failed",
                            String.valueOf(r.cause().getMessage())), callerText, destination, start);
                }
            });
        });
    }

    private void backendUnavailable(ChannelHandlerContext ctx, FullHttpRequest request, boolean keepAlive,
            InetSocketAddress backend, Throwable cause, String callerText, String destination, long start) {
        request.release();
        metrics.connectFailure("ingress");
        respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_GATEWAY, "backend-unavailable",
                "cannot connect to the backend of " + destination + " at " + backend + ": " + cause.getMessage()),
                callerText, destination, start);
    }

    /**
     * A gRPC call from an HTTP/2 stream: a new stream on the h2c connection to the backend, the admitted headers
     * (with the verified caller in XFCC) sent, then frames relayed in both directions as they arrive.
     */
    private void relay(ChannelHandlerContext ctx, StreamGate gate, FullHttpRequest request, boolean keepAlive,
            InetSocketAddress backend, String callerText, String destination, long start) {
        server.h2cBackends().acquireFrameStream(ctx.channel().eventLoop(), backend).addListener(f -> {
            if (!f.isSuccess()) {
                backendUnavailable(ctx, request, keepAlive, backend, f.cause(), callerText, destination, start);
                return;
            }
            Channel upstream = (Channel) f.getNow();
            StreamRelay.start(gate, upstream, StreamRelay.requestHeaders(request, upstream),
                    server.settings().requestTimeout(), (status, grpcStatus) -> {
                        metrics.request(direction, callerText, destination, status, start);
                        metrics.grpcCall(direction, destination, grpcStatus);
                    }).addListener(w -> {
                        request.release();
                        if (!w.isSuccess()) {
                            respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_GATEWAY,
                                    "backend-failed", "the backend of " + destination + " did not take the request: "
                                            + w.cause().getMessage()), callerText, destination, start);
                        }
                    });
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

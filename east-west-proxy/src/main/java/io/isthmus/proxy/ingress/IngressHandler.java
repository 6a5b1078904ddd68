package io.isthmus.proxy.ingress;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SSLSession;

import org.jboss.logging.Logger;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.proxy.authz.vouch.CallerResolution;
import io.isthmus.proxy.authz.vouch.VouchingDecision;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.HopByHop;
import io.isthmus.proxy.http.IdentityHeaders;
import io.isthmus.proxy.http.ProxyHandlerBase;
import io.isthmus.proxy.http.Responses;
import io.isthmus.proxy.http.path.PathVerdict;
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
 * Serves one mTLS connection to the ingress: the peer's SVID was verified in the handshake. For each request,
 * {@link VouchingDecision} says who the caller is (a caller a gateway of its trust domain vouched for, or the peer
 * itself), the {@link io.isthmus.proxy.http.path.PathNormalizer} says which path policy and backend will see, the
 * destination's policy decides, and the request goes to the local backend with the caller in
 * {@code x-forwarded-client-cert}. This class only does the I/O around those decisions.
 */
final class IngressHandler extends ProxyHandlerBase {
    private static final Logger LOG = Logger.getLogger(IngressHandler.class);

    private final IngressServer server;
    private SpiffeId peer;

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
        if (peer == null) {
            request.release();
            ctx.close();
            return;
        }
        boolean connect = request.method().equals(HttpMethod.CONNECT);
        // After a CONNECT the client sends tunnel bytes, not HTTP: a refused CONNECT closes the connection, so that
        // none of those bytes is read as a request.
        boolean keepAlive = keepAlive(request) && !connect;
        String host = connect ? request.uri() : request.headers().get(HttpHeaderNames.HOST);
        Optional<MeshName> name = MeshName.parseHost(host, server.settings().meshSuffix());
        if (name.isEmpty()) {
            request.release();
            respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "not-a-mesh-name",
                    "Host '" + host + "' is not <service>.<namespace>." + server.settings().meshSuffix()),
                    peer.toString(), "-", start);
            return;
        }
        String destination = name.get().host();
        int port = port(host);
        CallerResolution who = VouchingDecision.resolve(peer, request.headers().getAll(IdentityHeaders.CALLER),
                server.gateways());
        if (who instanceof CallerResolution.Refused refused) {
            AccessRequest access = access(refused.auditedCaller(), name.get(), port, request, connect);
            audit(access.viaGateway(peer), new Decision.Denied(refused.reason(), "", "", refused.detail(), List.of()));
            deny(ctx, request, keepAlive, refused.reason().code(), refused.detail(), refused.auditedCaller().toString(),
                    destination, start);
            return;
        }
        SpiffeId caller = who instanceof CallerResolution.Vouched v ? v.caller() : ((CallerResolution.Direct) who).caller();
        String callerText = caller.toString();
        if (!connect) {
            PathVerdict path = server.paths().normalize(request.uri());
            if (path instanceof PathVerdict.Refused bad) {
                request.release();
                metrics.requestRefused(direction, bad.reason().code());
                LOG.debugf("ingress: refused the path of %s -> %s: %s", callerText, destination, bad.detail());
                respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.BAD_REQUEST, bad.reason().code(),
                        bad.detail()), callerText, destination, start);
                return;
            }
            // What policy matches is what is forwarded: the backend never sees another spelling of the path.
            request.setUri(((PathVerdict.Normalized) path).target());
        }
        Optional<InetSocketAddress> backend = server.backends().resolve(name.get(), port);
        if (backend.isEmpty()) {
            request.release();
            respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.NOT_FOUND, "unknown-service",
                    "this cluster serves no backend for " + destination), callerText, destination, start);
            return;
        }
        AccessRequest access = access(caller, name.get(), port, request, connect);
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
            String detail = denied.detail().isEmpty() ? caller + " may not " + access.method().orElse("connect to")
                    + " " + access.path().orElse("port " + port) + " on " + destination : denied.detail();
            deny(ctx, request, keepAlive, denied.reason().code(), detail, callerText, destination, start);
            return;
        }
        if (connect) {
            request.release();
            tunnel(ctx, backend.get(), callerText, destination, start);
        } else {
            forward(ctx, request, keepAlive, backend.get(), callerText, destination, start);
        }
    }

    /** What policy is asked: the path is the request's (already normalized) path without its query. */
    private static AccessRequest access(SpiffeId caller, MeshName destination, int port, FullHttpRequest request,
            boolean connect) {
        if (connect) {
            return AccessRequest.tcp(caller, destination, port);
        }
        String uri = request.uri();
        int query = uri.indexOf('?');
        return AccessRequest.http(caller, destination, port, request.method().name(),
                query < 0 ? uri : uri.substring(0, query));
    }

    /** CONNECT: a TCP stream to the backend, relayed byte for byte once the policy allowed it. */
    private void tunnel(ChannelHandlerContext ctx, InetSocketAddress backend, String callerText, String destination,
            long start) {
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

    private void deny(ChannelHandlerContext ctx, FullHttpRequest request, boolean keepAlive, String reason,
            String detail, String source, String destination, long start) {
        request.release();
        metrics.authzDenial(reason);
        LOG.debugf("ingress: denied %s -> %s: %s (%s)", source, destination, reason, detail);
        respond(ctx, keepAlive, Responses.error(ctx.alloc(), HttpResponseStatus.FORBIDDEN, reason, detail), source,
                destination, start);
    }

    private void forward(ChannelHandlerContext ctx, FullHttpRequest request, boolean keepAlive,
            InetSocketAddress backend, String callerText, String destination, long start) {
        HopByHop.strip(request.headers());
        IdentityHeaders.strip(request.headers());
        request.headers().set(IdentityHeaders.XFCC, "By=" + server.localId() + ";URI=" + callerText);
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

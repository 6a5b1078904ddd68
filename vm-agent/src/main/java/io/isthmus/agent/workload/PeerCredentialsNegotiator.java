package io.isthmus.agent.workload;

import org.jboss.logging.Logger;

import io.grpc.Attributes;
import io.grpc.ChannelLogger;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.PeerCredentials;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import io.isthmus.agent.attest.Caller;

/**
 * Plaintext gRPC on the unix socket, plus the caller's {@code SO_PEERCRED} in the transport attributes (so every
 * call on the connection sees {@link #CALLER}). The credentials are read once, when the connection becomes active:
 * they are the connecting process's, fixed by the kernel at connect time. grpc-java offers no other hook into the
 * server's child channel; this is its own extension point for custom transports (the Internal* API).
 */
final class PeerCredentialsNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {
    static final Attributes.Key<Caller> CALLER = Attributes.Key.create("isthmus.workload.caller");
    private static final Logger LOG = Logger.getLogger(PeerCredentialsNegotiator.class);
    private static final AsciiString SCHEME = AsciiString.of("http");

    @Override
    public AsciiString scheme() {
        return SCHEME;
    }

    @Override
    public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
        ChannelHandler grpc = InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler);
        return InternalProtocolNegotiators.waitUntilActiveHandler(new CredentialsHandler(grpc), QUIET);
    }

    @Override
    public void close() {
    }

    /** One-shot: adds the caller to the negotiation event, then replaces itself with gRPC's own handler. */
    private static final class CredentialsHandler extends ChannelInboundHandlerAdapter {
        private final ChannelHandler next;

        CredentialsHandler(ChannelHandler next) {
            this.next = next;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (!(evt instanceof ProtocolNegotiationEvent event)) {
                super.userEventTriggered(ctx, evt);
                return;
            }
            Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(event);
            Caller caller = caller(ctx);
            if (caller != null) {
                attrs = attrs.toBuilder().set(CALLER, caller).build();
            }
            ctx.pipeline().replace(this, null, next);
            ctx.fireUserEventTriggered(InternalProtocolNegotiationEvent.withAttributes(event, attrs));
        }

        private static Caller caller(ChannelHandlerContext ctx) {
            if (!(ctx.channel() instanceof EpollDomainSocketChannel ch)) {
                return null;
            }
            try {
                PeerCredentials c = ch.peerCredentials();
                return new Caller(c.pid(), c.uid(), c.gids().length > 0 ? c.gids()[0] : -1);
            } catch (java.io.IOException | RuntimeException e) {
                LOG.warnf("cannot read the peer credentials of a Workload API connection (%s); its calls get nothing",
                        e.getMessage());
                return null;
            }
        }
    }

    private static final ChannelLogger QUIET = new ChannelLogger() {
        @Override
        public void log(ChannelLogLevel level, String message) {
            LOG.tracef("%s %s", level, message);
        }

        @Override
        public void log(ChannelLogLevel level, String format, Object... args) {
            LOG.tracef("%s %s", level, java.text.MessageFormat.format(format, args));
        }
    };
}

package io.isthmus.proxy.ingress;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;

/**
 * Where an accepted ingress connection begins: the hook for routing a connection before TLS is terminated (by
 * SNI, for L4 services and end-to-end mTLS passthrough). Without an entry ({@link IngressServer#entry}), every
 * connection is terminated here: TLS, then HTTP.
 *
 * <p>Contract. {@link #create} is called once per accepted connection, on its event loop, before any byte is read.
 * The handler it returns is added to the pipeline as {@value #NAME}, right after
 * {@link io.isthmus.proxy.listener.Listener#IDLE}, and is then the last handler. It sees the connection's first
 * bytes (the TLS ClientHello) and decides, once, what the connection is:
 * <ul>
 * <li>TLS terminated here (a peer gateway, a VM or workload calling by mTLS): it calls
 * {@link TlsTermination#install} with its pipeline, which appends the TLS handler, the HTTP/1.1 handlers and the
 * ingress request handler after it, then removes itself; a {@code ByteToMessageDecoder} hands the bytes it holds to
 * the TLS handler on removal. Everything the ingress guarantees (handshake admission, vouching, path normalization,
 * policy, audit) then applies unchanged.</li>
 * <li>Anything else (an L4 or passthrough route): the entry owns the connection and must enforce its own
 * authorization and audit; the ingress's HTTP checks never see it. It must not call {@code install} later.</li>
 * </ul>
 * The connection stays in the listener's connection group either way: {@link IngressServer#close} closes it, and
 * {@link IngressServer#revalidate} re-checks it when it has an {@code SslHandler} with a verified peer. The idle
 * handler in front closes a connection that sends nothing for the idle timeout only through the request handler,
 * so an entry that takes a connection over handles (or removes) {@code IdleStateEvent}s itself.
 */
@FunctionalInterface
public interface IngressEntry {
    /** The pipeline name of the entry handler. */
    String NAME = "entry";

    /**
     * @param connection the accepted connection, not reading yet
     * @param terminate  appends TLS termination and HTTP handling to a pipeline (call at most once)
     * @return the first handler of the connection's pipeline after the idle handler
     */
    ChannelHandler create(SocketChannel connection, TlsTermination terminate);

    /** TLS termination and HTTP request handling, appended to the end of a connection's pipeline. */
    @FunctionalInterface
    interface TlsTermination {
        void install(ChannelPipeline pipeline);
    }
}

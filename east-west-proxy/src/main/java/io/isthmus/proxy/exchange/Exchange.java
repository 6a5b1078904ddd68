package io.isthmus.proxy.exchange;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import org.jboss.logging.Logger;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.http.Grpc;
import io.isthmus.proxy.http.HopByHop;
import io.isthmus.proxy.http.Http1Pipeline;
import io.isthmus.proxy.http.RequestTrailers;
import io.isthmus.proxy.http.UpgradeOffer;
import io.isthmus.proxy.http.Responses;
import io.isthmus.proxy.http.validate.DecoderFailures;
import io.isthmus.proxy.http.validate.RequestVerdict;
import io.isthmus.proxy.http.IdentityHeaders;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.tls.ConnectionDrain;
import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.HopRecord;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.isthmus.proxy.telemetry.TraceParent;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ReferenceCounted;

/**
 * One request and its response, from the arrival of the caller's request head to the last byte of the response (or
 * a failure): one object per exchange, whose methods are its steps. Subclasses decide ({@link #decide}: who calls,
 * where to, may it) and find the upstream; this class carries the bytes. In reading order:
 * <ol>
 * <li>{@link #begin}: a request that arrived malformed (its head, or a body part that came with it), too large for
 * the configured limit, or with a bad {@code grpc-timeout} is refused here; else the subclass's {@link #decide}
 * runs. Body parts that arrive meanwhile are held (reading pauses past {@value #PENDING_LIMIT} bytes).</li>
 * <li>{@link #forward}: the subclass hands over an {@link Upstream} (a pooled HTTP/1.1 connection, or a new HTTP/2
 * stream on a pooled connection); the head goes out (one message when the request has no
 * body, so that HTTP/2 sends one HEADERS frame), then the held parts, then every part as it arrives.</li>
 * <li>{@link #fromUpstream}: the response goes to the caller part by part as it arrives: interim {@code 1xx}
 * responses, the head (hop-by-hop headers replaced by this hop's framing), the body, the trailers.</li>
 * <li>The response's last part ends the exchange: counted, the upstream given back ({@link Release}), the caller's
 * connection kept or closed, or its HTTP/2 stream closed.</li>
 * </ol>
 *
 * <p>Back-pressure, both ways: a part is written to the other side without waiting, but a side whose peer is not
 * writable (its outbound buffer is over the high-water mark, or an HTTP/2 stream's window is used up) stops reading
 * until the peer drains; so the gateway holds at most about one buffer and one stream window per direction, however
 * large the body and however slow the reader. There is no size limit unless {@code maxBodySize} is set (then on
 * request bodies, not on gRPC calls).
 *
 * <p>Failures: {@link #fail} asks {@link RetryPolicy} whether the request may go out again; if so the subclass's
 * {@link #retry} sends it elsewhere, else the caller gets a 502/504 (or, for a gRPC call already sent on, a gRPC
 * status in trailers; or a reset once a response has begun). A silent upstream (both directions idle for the
 * request timeout while the caller is not the one holding things up), the caller's {@code grpc-timeout}, a caller
 * that reset or closed, and an upstream reset each end the exchange exactly once.
 *
 * <p>Protocol switches: a {@code 101} answer to an {@code Upgrade} request (WebSocket) and an accepted CONNECT turn both
 * connections into one byte stream ({@link Splice}); the request was authorized like any other before it went out.
 *
 * <p>The caller is a {@link Downstream}: an HTTP/1.1 connection ({@link DownstreamHandler}) or an HTTP/2 stream
 * ({@link H2ServerStream}); what it sends arrives in {@link #fromDownstream}, {@link #downstreamReset} and
 * {@link #downstreamClosed}.
 *
 * <p>Event loop only: the caller's connection and every upstream of an exchange share one event loop.
 */
public abstract class Exchange extends UpstreamEvents {
    private static final Logger LOG = Logger.getLogger(Exchange.class);
    protected static final String UNAUTHENTICATED = "unauthenticated";
    /** Request body held while no upstream is ready yet, beyond which the caller's reading pauses. */
    static final int PENDING_LIMIT = 64 * 1024;
    private static final String GRPC_STATUS = "grpc-status";
    private static final String GRPC_MESSAGE = "grpc-message";
    private static final String GRPC_TIMEOUT = "grpc-timeout";
    private static final String GRPC_UNAVAILABLE = "14";
    private static final String GRPC_DEADLINE_EXCEEDED = "4";
    /** A {@code grpc-timeout} above this is treated as this (the header allows 99,999,999 hours). */
    private static final Duration LONGEST_DEADLINE = Duration.ofDays(365);
    /** The handlers of an upstream HTTP/1.1 connection, removed when it switches protocols. */
    private static final List<String> UPSTREAM_HTTP1 = List.of("timeout", "http", UpstreamEnd.NAME);

    /** How an exchange gives its upstream back when it no longer needs it. */
    @FunctionalInterface
    public interface Release {
        /**
         * @param reusable the upstream carried one complete request and response and may serve another exchange;
         *                 false means close it ({@link Upstream#close}: an HTTP/2 stream then is reset if still open)
         */
        void release(Upstream upstream, boolean reusable);
    }

    /** The listener's handler of the caller's connection: it made this exchange, and names the listener. */
    protected final DownstreamHandler owner;
    /** The caller: its HTTP/1.1 connection or its HTTP/2 stream. */
    protected final Downstream downstream;
    protected final HttpRequest request;
    protected final long start;
    protected final ProxySettings settings;
    protected final ProxyMetrics metrics;
    protected final String direction;
    protected final boolean http2Downstream;
    /** A gRPC call on an HTTP/2 stream: once it went upstream, a failure ends it with gRPC status trailers. */
    protected final boolean grpc;
    /** Who the caller is and where it goes, as the metrics name them; set by the subclass as it learns them. */
    protected String source = UNAUTHENTICATED;
    protected String destination = "-";
    /** This hop's trace context, span and access-log line. */
    protected final HopRecord hop;
    private long responseBytes;
    /** The refusal code of the response ({@code x-isthmus-reason}), this gateway's or a peer's, for the access log. */
    private String reason;
    private boolean tunnel;
    private final boolean keepAliveRequested;
    private final boolean bodyExpected;
    /** The protocols an upgrade asks the next hop for ({@link UpgradeOffer}); null when it is no upgrade. */
    private final String upgradeProtocols;

    private final ArrayDeque<HttpContent> pending = new ArrayDeque<>(2);
    private int pendingBytes;
    private boolean requestEnded;
    private long bodyBytes;
    private RequestVerdict.Invalid malformed;
    private boolean begun;
    private boolean requestReleased;

    private Upstream upstream;
    private boolean upstreamHttp2;
    private Release release;
    private boolean forwarded;
    private boolean forwardedOnce;
    private boolean replayable = true;
    private boolean upstreamPaused;
    private long downstreamBlockedSince;

    private int status;
    private boolean interimSent;
    private boolean skipInterimEnd;
    private boolean upstreamKeepAlive = true;
    /**
     * What the relayed response's head told the caller about its connection, decided once when the head went out
     * (a drain that begins after it takes effect from the next exchange): the end of the response then does what
     * the head announced.
     */
    private boolean responseKeepAlive;
    private String grpcStatus;
    private boolean over;
    private boolean counted;
    private List<ByteBuf> switchBytes;

    private ScheduledFuture<?> deadlineTimer;
    private long deadlineNanos;
    private Duration deadlineGiven;

    protected Exchange(DownstreamHandler owner, Downstream downstream, HttpRequest request, long start,
            ProxySettings settings) {
        this.owner = owner;
        this.downstream = downstream;
        this.request = request;
        this.start = start;
        this.settings = settings;
        this.metrics = owner.metrics;
        this.direction = owner.direction;
        this.http2Downstream = downstream.http2();
        this.grpc = http2Downstream && Grpc.isGrpc(request);
        this.keepAliveRequested = !http2Downstream && HttpUtil.isKeepAlive(request);
        if (request instanceof FullHttpRequest full) {
            RequestTrailers.strip(full.trailingHeaders());
            this.requestEnded = true;
            this.bodyExpected = full.content().isReadable() || !full.trailingHeaders().isEmpty();
        } else {
            this.bodyExpected = HttpUtil.isTransferEncodingChunked(request) || declaredLength(request) > 0;
        }
        this.upgradeProtocols = http2Downstream ? null : UpgradeOffer.passedOn(request.headers());
        this.hop = owner.telemetry.begin(direction, all(request.headers(), TraceParent.HEADER),
                all(request.headers(), TraceParent.STATE_HEADER));
    }

    /** A header's values; most requests carry no trace headers, and getAll allocates a list even for none. */
    private static List<String> all(HttpHeaders headers, String name) {
        return headers.contains(name) ? headers.getAll(name) : List.of();
    }

    /**
     * The request's {@code Content-Length}: -1 when absent, and when unreadable (such a request was refused by the
     * validator or the decoder, and is not read on).
     */
    private static long declaredLength(HttpRequest r) {
        try {
            return HttpUtil.getContentLength(r, -1L);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    // ---- step 1: the request arrived -------------------------------------------------------------------------

    /** The subclass's decision about the request: it ends in {@link #forward}, {@link #answer}, or a tunnel. */
    protected abstract void decide();

    /**
     * Sends the request elsewhere after a failed attempt that {@link RetryPolicy} allows to be repeated: another
     * cluster, or a new connection. Returns false when there is nowhere left to try.
     */
    protected abstract boolean retry(RetryPolicy.Failure failure, String why);

    /** Called by the caller's {@link Downstream} once the read in which the head arrived is complete. */
    final void begin() {
        begun = true;
        DecoderResult result = request.decoderResult();
        if (!result.isSuccess()) {
            refuse(DecoderFailures.classify(result.cause()));
            return;
        }
        if (malformed != null) {
            refuse(malformed);
            return;
        }
        if (http2Downstream && isConnect()) {
            // A tunnel needs the connection's raw bytes; an HTTP/2 stream carries frames. Use HTTP/1.1 CONNECT.
            answer(HttpResponseStatus.NOT_IMPLEMENTED, "connect-over-http2-unsupported",
                    "open TCP tunnels with an HTTP/1.1 CONNECT");
            return;
        }
        long declared = declaredLength(request);
        if (settings.maxBodySize() > 0 && !grpc && declared > settings.maxBodySize()) {
            bodyTooLarge(declared);
            return;
        }
        if (grpc && !startDeadline()) {
            return;
        }
        try {
            decide();
        } catch (RuntimeException e) {
            LOG.errorf(e, "%s: unexpected failure serving %s %s", direction, request.method(), request.uri());
            fail500(e);
        }
    }

    private void fail500(RuntimeException e) {
        if (!over && status == 0 && !forwarded) {
            answer(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal-error", e.toString());
        } else {
            abort("internal error: " + e);
        }
    }

    private void refuse(RequestVerdict.Invalid refusal) {
        metrics.requestRefused(direction, refusal.reason().code());
        LOG.debugf("%s: refused a request from %s: %s (%s)", direction, downstream.connection().remoteAddress(),
                refusal.reason().code(), refusal.detail());
        answer(Responses.error(downstream.alloc(), HttpResponseStatus.valueOf(refusal.reason().status()),
                refusal.reason().code(), refusal.detail()), false);
    }

    private void bodyTooLarge(long bytes) {
        metrics.requestRefused(direction, "body-too-large");
        String detail = "the request body" + (bytes >= 0 ? " of " + bytes + " bytes" : "") + " is larger than "
                + "isthmus.proxy.max-body-size (" + settings.maxBodySize() + " bytes)";
        if (status == 0 && !interimSent) {
            detachUpstream(false);
            answer(Responses.error(downstream.alloc(), HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body-too-large",
                    detail), false);
        } else {
            abort(detail);
        }
    }

    /** The {@code grpc-timeout} deadline starts now; false (the caller answered) when the header is malformed. */
    private boolean startDeadline() {
        Optional<Duration> timeout;
        try {
            timeout = GrpcTimeout.parse(request.headers().get(GRPC_TIMEOUT));
        } catch (GrpcTimeout.InvalidGrpcTimeout e) {
            metrics.requestRefused(direction, "invalid-grpc-timeout");
            answer(Responses.error(downstream.alloc(), HttpResponseStatus.BAD_REQUEST, "invalid-grpc-timeout", e.getMessage()),
                    false);
            return false;
        }
        if (timeout.isPresent()) {
            deadlineGiven = timeout.get().compareTo(LONGEST_DEADLINE) > 0 ? LONGEST_DEADLINE : timeout.get();
            long nanos = deadlineGiven.toNanos();
            deadlineNanos = start + nanos;
            deadlineTimer = downstream.eventLoop().schedule(this::deadlineExceeded, Math.max(0, deadlineNanos - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
        }
        return true;
    }

    private void deadlineExceeded() {
        deadlineTimer = null;
        if (!over) {
            fail(RetryPolicy.Failure.TIMEOUT, "the call's deadline (grpc-timeout " + deadlineGiven + ") passed");
        }
    }

    private void cancelDeadline() {
        if (deadlineTimer != null) {
            deadlineTimer.cancel(false);
            deadlineTimer = null;
        }
    }

    /** A body part from the caller. */
    void fromDownstream(HttpContent part) {
        if (part instanceof LastHttpContent) {
            requestEnded = true;
        }
        if (!part.decoderResult().isSuccess()) {
            RequestVerdict.Invalid bad = DecoderFailures.classify(part.decoderResult().cause());
            part.release();
            requestEnded = true;
            if (!begun) {
                malformed = bad;
            } else if (!over) {
                metrics.requestRefused(direction, bad.reason().code());
                if (status == 0 && !interimSent) {
                    detachUpstream(false);
                    refuse(bad);
                } else {
                    abort(bad.detail());
                }
            }
            return;
        }
        if (over) {
            dropDownstream(part);
            return;
        }
        if (part instanceof LastHttpContent last) {
            RequestTrailers.strip(last.trailingHeaders());
        }
        bodyBytes += part.content().readableBytes();
        if (settings.maxBodySize() > 0 && !grpc && bodyBytes > settings.maxBodySize()) {
            dropDownstream(part);
            bodyTooLarge(-1);
            return;
        }
        if (forwarded) {
            Upstream up = upstream;
            sendUpstream(part);
            if (requestEnded) {
                up.flush();
            }
            if (!up.isWritable() && !http2Downstream) {
                downstream.pause(DownstreamHandler.BACKPRESSURE);
            }
        } else {
            pending.add(part);
            pendingBytes += part.content().readableBytes();
            if (pendingBytes > PENDING_LIMIT && !http2Downstream) {
                downstream.pause(DownstreamHandler.BUFFERED);
            }
        }
    }

    /**
     * Writes a body part upstream; from an HTTP/2 caller its window goes back once it was written (the caller's
     * back-pressure), from an HTTP/1.1 caller reading pauses while the upstream is not writable.
     */
    private void sendUpstream(HttpContent part) {
        int bytes = part.content().readableBytes();
        ChannelFuture written = upstream.write(part);
        if (http2Downstream && bytes > 0) {
            Downstream from = downstream;
            written.addListener(w -> {
                if (w.isSuccess()) {
                    from.giveBack(bytes);
                }
            });
        }
    }

    /** A caller's body part that will not be sent on: released, its window (HTTP/2) given back at once. */
    private void dropDownstream(HttpContent part) {
        if (http2Downstream) {
            downstream.giveBack(part.content().readableBytes());
        }
        part.release();
    }

    /** Raw bytes on a connection that is switching protocols; nothing may come before the switch is answered. */
    void rawFromDownstream(ByteBuf bytes) {
        bytes.release();
    }

    void flushUpstream() {
        if (forwarded) {
            upstream.flush();
        }
    }

    boolean requestEnded() {
        return requestEnded;
    }

    /** Whether what follows the request is not HTTP (an Upgrade or a CONNECT): the caller's reading pauses at once. */
    boolean switchesProtocol() {
        return isUpgrade() || isConnect();
    }

    protected final boolean isConnect() {
        return HttpMethod.CONNECT.equals(request.method());
    }

    protected final boolean isUpgrade() {
        return upgradeProtocols != null;
    }

    // ---- step 2: the request goes upstream -------------------------------------------------------------------

    /**
     * Removes the caller's hop-by-hop headers from the request head; an Upgrade request keeps {@code Connection:
     * upgrade} and its {@code Upgrade} protocols but HTTP versions ({@link UpgradeOffer}), which are what it asks the
     * far end for.
     */
    protected final void stripHopByHop() {
        HttpHeaders h = request.headers();
        HopByHop.strip(h);
        if (upgradeProtocols != null) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE).set(HttpHeaderNames.UPGRADE, upgradeProtocols);
        }
    }

    /**
     * Sends the request on {@code up} (the subclass already rewrote the head's headers for the next hop) and from now
     * on relays between the caller and {@code up}. The head is one
     * message when the request has no body. {@code grpc-timeout} is rewritten to what is left of the caller's
     * deadline. A head that cannot be written fails the attempt as {@link RetryPolicy.Failure#NOT_WRITTEN}.
     */
    protected final void forward(Upstream up, Release giveBack) {
        if (over) {
            giveBack.release(up, false);
            return;
        }
        boolean http2 = up.http2();
        upstream = up;
        upstreamHttp2 = http2;
        release = giveBack;
        up.bind(this);
        forwarded = true;
        forwardedOnce = true;
        HttpRequest head;
        // A whole request whose body goes out after its head (null when there is none, or it is already released).
        FullHttpRequest withBody = null;
        if (!bodyExpected && requestEnded) {
            HttpHeaders trailers = EmptyHttpHeaders.INSTANCE;
            for (HttpContent c = pending.poll(); c != null; c = pending.poll()) {
                if (c instanceof LastHttpContent last && !last.trailingHeaders().isEmpty()) {
                    trailers = last.trailingHeaders().copy();
                }
                c.release();
            }
            head = new DefaultFullHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                    Unpooled.EMPTY_BUFFER, request.headers(), trailers);
            releaseRequest();
        } else {
            if (request instanceof FullHttpRequest full) {
                head = copyHead();
                withBody = full;
            } else {
                head = request;
            }
            replayable = false;
        }
        traceHeaders(head.headers());
        Framing.request(head, http2, !(head instanceof FullHttpRequest));
        if (deadlineNanos != 0) {
            head.headers().set(GRPC_TIMEOUT, GrpcTimeout.format(Duration.ofNanos(deadlineNanos - System.nanoTime())));
        }
        up.write(head).addListener(this::headWritten);
        if (withBody != null && withBody.content().isReadable()) {
            up.write(new DefaultLastHttpContent(withBody.content().retain(), withBody.trailingHeaders()));
            releaseRequest();
        }
        for (HttpContent c = pending.poll(); c != null; c = pending.poll()) {
            sendUpstream(c);
        }
        pendingBytes = 0;
        up.flush();
        if (!http2Downstream) {
            downstream.resume(DownstreamHandler.BUFFERED);
            if (!up.isWritable()) {
                downstream.pause(DownstreamHandler.BACKPRESSURE);
            }
        }
    }

    /** With tracing on, the next hop gets the caller's trace under this hop's span (else the headers pass as sent). */
    private void traceHeaders(HttpHeaders headers) {
        if (!hop.rewritesTraceHeaders()) {
            return;
        }
        headers.remove(TraceParent.HEADER).remove(TraceParent.STATE_HEADER);
        hop.outgoingTraceparent().ifPresent(t -> headers.set(TraceParent.HEADER, t));
        hop.outgoingTracestate().ifPresent(t -> headers.set(TraceParent.STATE_HEADER, t));
    }

    private HttpRequest copyHead() {
        return new io.netty.handler.codec.http.DefaultHttpRequest(request.protocolVersion(), request.method(),
                request.uri(), request.headers());
    }

    private void headWritten(io.netty.util.concurrent.Future<? super Void> f) {
        if (!f.isSuccess() && !over && forwarded) {
            fail(RetryPolicy.Failure.NOT_WRITTEN, "the request could not be written: " + f.cause());
        }
    }

    @Override
    void upstreamWritabilityChanged(boolean writable) {
        if (writable) {
            downstream.resume(DownstreamHandler.BACKPRESSURE);
        }
    }

    // ---- step 3: the response comes back ---------------------------------------------------------------------

    @Override
    void fromUpstream(HttpObject msg) {
        if (switchBytes != null) {
            // After a 101 only the decoder's empty end of the 101 and the new protocol's bytes may come.
            ReferenceCountUtil.release(msg);
            return;
        }
        if (over) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse response) {
            int code = response.status().code();
            if (code == 101) {
                switchProtocols(response);
                return;
            }
            if (code < 200) {
                interim(response);
                return;
            }
            status = code;
            reason = response.headers().get(IdentityHeaders.REASON);
            upstreamKeepAlive = HttpUtil.isKeepAlive(response);
            if (grpc) {
                noteGrpcStatus(response.headers());
            }
            responseKeepAlive = keepAlive();
            Framing.response(response, http2Downstream, HttpMethod.HEAD.equals(request.method()), responseKeepAlive,
                    request.protocolVersion().equals(HttpVersion.HTTP_1_1));
            ChannelFuture written = downstream.write(msg);
            if (msg instanceof LastHttpContent) {
                responseEnded(written);
            } else {
                holdUpstreamIfBlocked();
            }
            return;
        }
        if (msg instanceof HttpContent part) {
            if (skipInterimEnd) {
                skipInterimEnd = false;
                if (part instanceof LastHttpContent && !part.content().isReadable()) {
                    part.release();
                    return;
                }
            }
            if (status == 0) {
                part.release();
                fail(RetryPolicy.Failure.CONNECTION_LOST, "the upstream sent a body before a response head");
                return;
            }
            if (grpc && part instanceof LastHttpContent last) {
                noteGrpcStatus(last.trailingHeaders());
            }
            int bytes = part.content().readableBytes();
            responseBytes += bytes;
            ChannelFuture written = downstream.write(part);
            if (upstreamHttp2 && bytes > 0) {
                Upstream up = upstream;
                written.addListener(w -> {
                    if (w.isSuccess()) {
                        up.giveBack(bytes);
                    }
                });
            }
            if (part instanceof LastHttpContent) {
                responseEnded(written);
            } else {
                holdUpstreamIfBlocked();
            }
        }
    }

    /**
     * An interim response (100 Continue, 103 Early Hints) goes to the caller as one message; an HTTP/2 caller gets
     * only 100 (Netty's converter would end the stream on any other 1xx).
     */
    private void interim(HttpResponse response) {
        skipInterimEnd = !(response instanceof FullHttpResponse);
        ReferenceCountUtil.release(response);
        if (http2Downstream && response.status().code() != 100) {
            return;
        }
        HopByHop.strip(response.headers());
        interimSent = true;
        downstream.writeAndFlush(new DefaultFullHttpResponse(response.protocolVersion(), response.status(),
                Unpooled.EMPTY_BUFFER, response.headers(), EmptyHttpHeaders.INSTANCE));
    }

    private void noteGrpcStatus(HttpHeaders headers) {
        String s = headers.get(GRPC_STATUS);
        if (s != null) {
            grpcStatus = s;
        }
    }

    /**
     * An HTTP/1.1 upstream stops being read while the caller is not writable (an HTTP/2 upstream is held back by its
     * window, which goes back only as the caller takes the bytes).
     */
    private void holdUpstreamIfBlocked() {
        if (!upstreamHttp2 && !downstream.isWritable() && !upstreamPaused && upstream != null) {
            upstreamPaused = true;
            upstream.setAutoRead(false);
            if (downstreamBlockedSince == 0) {
                downstreamBlockedSince = System.nanoTime();
            }
        }
    }

    void downstreamWritabilityChanged(boolean writable) {
        if (!writable) {
            if (downstreamBlockedSince == 0) {
                downstreamBlockedSince = System.nanoTime();
            }
            return;
        }
        downstreamBlockedSince = 0;
        if (upstreamPaused && upstream != null) {
            upstreamPaused = false;
            upstream.setAutoRead(true);
        }
    }

    @Override
    void flushDownstream() {
        downstream.flush();
    }

    private void responseEnded(ChannelFuture lastWrite) {
        downstream.flush();
        over = true;
        cancelDeadline();
        count(status, grpcStatus == null ? "none" : grpcStatus);
        detachUpstream(requestEnded && upstreamKeepAlive);
        downstream.exchangeDone(this, responseKeepAlive && requestEnded, lastWrite);
        responded(status);
    }

    /**
     * Whether the caller's HTTP/1.1 connection may carry another exchange after this one: the caller asked for it,
     * and the connection is not draining (its peer's signer was retired: this exchange is its last). Asked when the
     * response goes out, since a drain may begin while the exchange runs.
     */
    private boolean keepAlive() {
        return keepAliveRequested && !ConnectionDrain.isDraining(downstream.connection());
    }

    /** Told once the response has reached its end (for the subclass's bookkeeping); does nothing by default. */
    protected void responded(int httpStatus) {
    }

    // ---- step 4: protocol switches ---------------------------------------------------------------------------

    /** A 101 to an Upgrade request: the 101 goes to the caller, then both connections become one byte stream. */
    private void switchProtocols(HttpResponse response) {
        if (!isUpgrade() || upstreamHttp2) {
            ReferenceCountUtil.release(response);
            fail(RetryPolicy.Failure.CONNECTION_LOST, "the upstream switched protocols on a request that asked for none");
            return;
        }
        status = 101;
        over = true;
        tunnel = true;
        count(101, "none");
        Channel up = upstream.channel();
        up.config().setAutoRead(false);
        switchBytes = new ArrayList<>();
        Framing.response(response, false, false, true, true);
        // The splice waits for a task of its own: the upstream decoder may still be handing on what it decoded with
        // the 101 (its empty end), which must not reach the byte relay that replaces it.
        downstream.writeAndFlush(response).addListener(w -> downstream.eventLoop().execute(() -> {
            up.pipeline().get(UpstreamEnd.class).unbind();
            upstream = null;
            if (!w.isSuccess() || !up.isActive() || !downstream.isActive()) {
                switchBytes.forEach(ByteBuf::release);
                up.close();
                downstream.close();
                return;
            }
            downstream.switched(this);
            tunnelEnds(Splice.join(downstream.connection(), downstreamHttpHandlers(), up, UPSTREAM_HTTP1, switchBytes));
            responded(101);
        }));
    }

    /** Bytes of the new protocol that came right after a 101. */
    @Override
    void rawFromUpstream(ByteBuf bytes) {
        if (switchBytes != null) {
            switchBytes.add(bytes);
        } else {
            bytes.release();
        }
    }

    /**
     * CONNECT accepted: answers 200 and turns the caller's connection and {@code far} (a connection without HTTP
     * handlers, not reading) into one byte stream. Counted as a 200.
     */
    protected final void openTunnel(Channel far) {
        over = true;
        status = 200;
        tunnel = true;
        count(200, "none");
        FullHttpResponse ok = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                new HttpResponseStatus(200, "Connection Established"), Unpooled.EMPTY_BUFFER);
        downstream.writeAndFlush(ok).addListener(w -> downstream.eventLoop().execute(() -> {
            if (!w.isSuccess() || !far.isActive()) {
                far.close();
                downstream.close();
                return;
            }
            downstream.switched(this);
            tunnelEnds(Splice.join(downstream.connection(), downstreamHttpHandlers(), far, List.of(), List.of()));
        }));
    }

    /** The access-log line of a tunnel (an upgrade or a CONNECT) is written when the caller's connection closes. */
    private void tunnelEnds(Splice.Spliced spliced) {
        RequestLabels labels = labels(hop.directory(), status);
        downstream.connection().closeFuture().addListener(f -> hop.finish("tunnel", labels,
                details(spliced.fromCaller(), spliced.toCaller())));
    }

    private List<String> downstreamHttpHandlers() {
        List<String> names = new ArrayList<>(Http1Pipeline.NAMES);
        names.add(owner.handlerName());
        return names;
    }

    // ---- endings ---------------------------------------------------------------------------------------------

    /** Answers the caller with a JSON refusal; the connection stays open when the request allows it. */
    protected final void answer(HttpResponseStatus code, String reason, String detail) {
        answer(Responses.error(downstream.alloc(), code, reason, detail), true);
    }

    /**
     * Answers the caller with {@code response} instead of relaying one: ends the exchange. The caller's HTTP/1.1
     * connection is kept only if {@code keep}, the caller asked for it, the request has fully arrived, and it does
     * not switch protocols.
     */
    protected final void answer(FullHttpResponse response, boolean keep) {
        if (over) {
            response.release();
            return;
        }
        over = true;
        cancelDeadline();
        dropPending();
        releaseRequest();
        boolean keepAlive = keep && keepAlive() && requestEnded && !switchesProtocol();
        status = response.status().code();
        reason = response.headers().get(IdentityHeaders.REASON);
        responseBytes += response.content().readableBytes();
        Framing.response(response, http2Downstream, HttpMethod.HEAD.equals(request.method()), keepAlive,
                request.protocolVersion().equals(HttpVersion.HTTP_1_1));
        count(status, "none");
        ChannelFuture written = downstream.writeAndFlush(response);
        downstream.exchangeDone(this, keepAlive, written);
    }

    /**
     * An attempt failed: {@link RetryPolicy} decides whether {@link #retry} may send the request elsewhere;
     * otherwise {@link #failed} ends the exchange.
     */
    protected final void fail(RetryPolicy.Failure failure, String why) {
        if (over) {
            return;
        }
        RetryPolicy.Verdict verdict = RetryPolicy.decide(new RetryPolicy.Progress(request.method().name(),
                replayable, switchesProtocol() && forwarded, status != 0 || interimSent), failure);
        detachUpstream(false);
        LOG.debugf("%s: %s -> %s: attempt failed (%s): %s; %s", direction, source, destination, failure, why,
                verdict.reason());
        if (verdict instanceof RetryPolicy.Verdict.Retry && retry(failure, why)) {
            return;
        }
        failed(failure, why, verdict instanceof RetryPolicy.Verdict.Final f ? f.reason() : null);
    }

    /**
     * Ends an exchange whose attempt failed for good. Before any response byte: a gRPC call that went upstream gets
     * a trailers-only answer ({@code UNAVAILABLE}, or {@code DEADLINE_EXCEEDED} for a timeout); anything else
     * {@link #failureResponse}. After a response began: a gRPC call gets those statuses in its trailers, anything
     * else a reset (HTTP/2) or a closed connection (HTTP/1.1: the caller sees the response cut short).
     *
     * @param notRetried why {@link RetryPolicy} refused a retry, or null when there was nowhere left to try
     */
    private void failed(RetryPolicy.Failure failure, String why, String notRetried) {
        if (grpc && forwardedOnce) {
            endGrpc(failure == RetryPolicy.Failure.TIMEOUT ? GRPC_DEADLINE_EXCEEDED : GRPC_UNAVAILABLE,
                    failure == RetryPolicy.Failure.TIMEOUT ? 504 : 502, why);
            return;
        }
        if (status != 0 || interimSent) {
            abort(why);
            return;
        }
        answer(failureResponse(failure, why, notRetried), true);
    }

    /**
     * The caller's answer to a failure before any response byte: 504 for a timeout, else 502.
     *
     * @param why        what went wrong with the last attempt
     * @param notRetried why {@link RetryPolicy} refused to try again, or null when there was nowhere left to try
     */
    protected FullHttpResponse failureResponse(RetryPolicy.Failure failure, String why, String notRetried) {
        String detail = notRetried == null ? why : why + "; not retried: " + notRetried;
        return failure == RetryPolicy.Failure.TIMEOUT
                ? Responses.error(downstream.alloc(), HttpResponseStatus.GATEWAY_TIMEOUT, "upstream-timeout", detail)
                : Responses.error(downstream.alloc(), HttpResponseStatus.BAD_GATEWAY, "upstream-failed", detail);
    }

    /** Ends a gRPC call with {@code code} in trailers (trailers-only when no response head went out yet). */
    private void endGrpc(String code, int httpStatusIfNone, String why) {
        over = true;
        cancelDeadline();
        dropPending();
        releaseRequest();
        String message = Grpc.percentEncode("isthmus gateway: " + why);
        ChannelFuture written;
        if (status == 0) {
            FullHttpResponse trailersOnly = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.EMPTY_BUFFER);
            trailersOnly.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/grpc").set(GRPC_STATUS, code)
                    .set(GRPC_MESSAGE, message);
            written = downstream.writeAndFlush(trailersOnly);
        } else {
            LastHttpContent trailers = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
            trailers.trailingHeaders().set(GRPC_STATUS, code).set(GRPC_MESSAGE, message);
            written = downstream.writeAndFlush(trailers);
        }
        count(status != 0 ? status : httpStatusIfNone, code);
        downstream.exchangeDone(this, false, written);
    }

    /** Cuts the exchange short once a response has begun: an HTTP/2 stream is reset, a connection closed. */
    protected final void abort(String why) {
        if (!over) {
            over = true;
            cancelDeadline();
            count(status != 0 ? status : 502, "reset");
        }
        LOG.debugf("%s: %s -> %s cut short: %s", direction, source, destination, why);
        detachUpstream(false);
        dropPending();
        releaseRequest();
        ChannelFuture written = http2Downstream
                ? downstream.reset(Http2Error.INTERNAL_ERROR.code())
                : downstream.connection().newSucceededFuture();
        downstream.exchangeDone(this, false, written);
        if (!http2Downstream) {
            downstream.close();
        }
    }

    /** The upstream reset its stream with {@code errorCode}. */
    @Override
    void upstreamReset(long errorCode) {
        if (over) {
            return;
        }
        if (errorCode == Http2Error.REFUSED_STREAM.code() && status == 0 && !interimSent) {
            fail(RetryPolicy.Failure.REFUSED_UNPROCESSED, "the peer refused the stream (REFUSED_STREAM)");
            return;
        }
        if (grpc || status != 0) {
            // The caller learns the same code: gRPC clients map it to a status (INTERNAL_ERROR -> INTERNAL).
            over = true;
            cancelDeadline();
            count(status != 0 ? status : 502, "reset");
            detachUpstream(false);
            if (http2Downstream) {
                downstream.exchangeDone(this, false, downstream.reset(errorCode));
            } else {
                downstream.exchangeDone(this, false, downstream.connection().newSucceededFuture());
                downstream.close();
            }
            return;
        }
        Http2Error error = Http2Error.valueOf(errorCode);
        fail(RetryPolicy.Failure.RESET, "the upstream reset the stream (" + (error == null ? errorCode : error) + ")");
    }

    /** The upstream's connection is going away (GOAWAY) without having processed this exchange's stream. */
    @Override
    void upstreamGoingAway(String why) {
        if (!over) {
            fail(RetryPolicy.Failure.GOAWAY_UNPROCESSED, why);
        }
    }

    /** The upstream (connection or stream) closed or broke ({@code cause}, or null for a plain close) before the end. */
    @Override
    void upstreamClosed(Throwable cause) {
        if (over) {
            return;
        }
        if (cause != null && status == 0 && !interimSent && !upstreamHttp2 && isTls(cause)) {
            // TLS 1.3: the client's handshake completes before the server has checked the client certificate; a
            // server that refuses it answers the first request with an alert. That server never processed anything.
            fail(RetryPolicy.Failure.REFUSED_UNPROCESSED, "the peer refused our certificate: " + cause.getMessage());
            return;
        }
        boolean draining = upstream != null && ConnectionDrain.isDraining(upstream.channel());
        fail(draining ? RetryPolicy.Failure.DRAINED : RetryPolicy.Failure.CONNECTION_LOST, "the upstream "
                + (upstreamHttp2 ? "stream" : "connection") + (cause == null ? " closed" : " failed: " + cause.getMessage())
                + (draining ? " while its connection was draining" : "") + " before the response was complete");
    }

    private static boolean isTls(Throwable cause) {
        for (Throwable t = cause; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof SSLException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The upstream was idle in both directions for the request timeout. When the gateway itself holds the
     * upstream back because the caller does not read, only a caller that read nothing for the idle timeout ends
     * the exchange.
     */
    @Override
    void upstreamIdle() {
        if (over) {
            return;
        }
        if (upstreamPaused || !downstream.isWritable()) {
            if (downstreamBlockedSince != 0
                    && System.nanoTime() - downstreamBlockedSince > settings.idleTimeout().toNanos()) {
                abort("the caller read nothing for " + settings.idleTimeout());
            }
            return;
        }
        fail(RetryPolicy.Failure.TIMEOUT, "no " + (upstreamHttp2 ? "frames" : "bytes") + " in either direction for "
                + settings.requestTimeout());
    }

    /** The caller reset its stream: the upstream stream is reset with the same code. */
    void downstreamReset(long errorCode) {
        if (over) {
            return;
        }
        over = true;
        cancelDeadline();
        count(status != 0 ? status : 499, "reset");
        Upstream up = upstream;
        if (up != null && upstreamHttp2) {
            up.unbind();
            upstream = null;
            forwarded = false;
            up.reset(errorCode);
        } else {
            detachUpstream(false);
        }
        dropPending();
        releaseRequest();
    }

    /** The caller's connection or stream closed: whatever went upstream is cancelled. */
    void downstreamClosed() {
        if (!over) {
            over = true;
            cancelDeadline();
            count(status != 0 ? status : 499, "reset");
        }
        detachUpstream(false);
        dropPending();
        releaseRequest();
        if (switchBytes != null && upstream == null) {
            switchBytes.forEach(ByteBuf::release);
            switchBytes.clear();
        }
    }

    private void detachUpstream(boolean reusable) {
        Upstream up = upstream;
        forwarded = false;
        if (up == null) {
            return;
        }
        upstream = null;
        up.unbind();
        if (upstreamPaused) {
            upstreamPaused = false;
            up.setAutoRead(true);
        }
        release.release(up, reusable);
    }

    private void dropPending() {
        for (HttpContent c = pending.poll(); c != null; c = pending.poll()) {
            dropDownstream(c);
        }
        pendingBytes = 0;
    }

    private void releaseRequest() {
        if (!requestReleased) {
            requestReleased = true;
            if (request instanceof ReferenceCounted rc && rc.refCnt() > 0) {
                rc.release();
            }
        }
    }

    private void count(int httpStatus, String grpcOutcome) {
        if (counted) {
            return;
        }
        counted = true;
        RequestLabels labels = labels(hop.directory(), httpStatus);
        metrics.request(labels, start);
        if (grpc && forwardedOnce) {
            metrics.grpcCall(direction, labels.destinationService(), grpcOutcome);
        }
        if (!tunnel) {
            if (reason == null && !"none".equals(grpcOutcome) && !grpcOutcome.equals("0")) {
                reason = grpcOutcome.equals("reset") ? "reset" : "grpc-status-" + grpcOutcome;
            }
            hop.finish("request", labels, details(bodyBytes, responseBytes));
        }
    }

    private HopRecord.Details details(long in, long out) {
        Optional<String> path = isConnect() ? Optional.empty() : Optional.of(request.uri());
        String protocol = isConnect() ? "tcp" : grpc ? "grpc" : http2Downstream ? "h2" : "http/1.1";
        return new HopRecord.Details(source, peerGateway(), Optional.of(request.method().name()), path, protocol, in,
                out, upstreamName(), Optional.ofNullable(reason));
    }

    /**
     * The request's bounded labels ({@link RequestLabels}) for a response with {@code code}, from what the subclass
     * learnt: the caller, the mesh name, the destination cluster (all of which may still be unknown).
     */
    protected abstract RequestLabels labels(ClusterDirectory directory, int code);

    /** At the ingress: the gateway that vouched for the caller. */
    protected Optional<String> peerGateway() {
        return Optional.empty();
    }

    /** Where the request went: the peer ingress or the backend, once one was chosen. */
    protected Optional<String> upstreamName() {
        return Optional.empty();
    }

    /** Whether the exchange has ended (answered, failed, relayed to its end, or cancelled by the caller). */
    protected final boolean over() {
        return over;
    }
}

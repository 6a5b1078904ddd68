/**
 * The east-west data plane: the egress local callers use and the ingress peer gateways (and workloads with their
 * own SVID) call, both on Netty with BoringSSL.
 *
 * <p>To follow one request from the caller's socket to the backend, read these in order:
 * <ol>
 * <li>{@link io.isthmus.proxy.listener.Listener}: a connection is admitted (connection limits per client address and
 * in all) or closed at once, then accepted (idle handler, connection group).</li>
 * <li>{@link io.isthmus.proxy.egress.EgressServer} ({@code accepted}): the egress pipeline, TLS or plaintext, h2c;
 * the HTTP/1.1 handlers of {@link io.isthmus.proxy.http.Http1Pipeline} (strict decoding, validation, the header
 * deadline), or HTTP/2 streams from {@link io.isthmus.proxy.http.Http2Support}.</li>
 * <li>{@link io.isthmus.proxy.exchange.DownstreamHandler}, as {@code EgressHandler}: the connection is cut into
 * exchanges, one per request (on HTTP/2, one per stream: {@link io.isthmus.proxy.exchange.H2ServerStreams}).</li>
 * <li>{@code EgressExchange}: who calls (SVID or token), which clusters export the name (nearest first, ejected ones
 * left out by {@link io.isthmus.proxy.outlier.OutlierDetector}), the next cluster's ingress.</li>
 * <li>{@link io.isthmus.proxy.upstream.H2Pool}: the gateway hop, a stream on a multiplexed HTTP/2 mTLS
 * connection.</li>
 * <li>{@link io.isthmus.proxy.exchange.Exchange}: the request goes out and the response comes back part by part,
 * with back-pressure both ways; failures, retries ({@link io.isthmus.proxy.exchange.RetryPolicy}), deadlines
 * ({@link io.isthmus.proxy.exchange.GrpcTimeout}), protocol switches ({@link io.isthmus.proxy.exchange.Splice}).</li>
 * <li>{@link io.isthmus.proxy.ingress.IngressServer} ({@code terminate}, after the optional
 * {@link io.isthmus.proxy.ingress.IngressEntry}): the ingress pipeline, mTLS only.</li>
 * <li>{@code IngressHandler} and {@code IngressExchange}: who the caller is
 * ({@link io.isthmus.proxy.authz.vouch.VouchingDecision}), which path
 * ({@link io.isthmus.proxy.http.path.PathNormalizer}), which backend, may it
 * ({@link io.isthmus.proxy.authz.Authorizer}, audited).</li>
 * <li>{@link io.isthmus.proxy.upstream.Http1Pool} (or {@code H2Pool} over h2c for gRPC): the backend hop, then
 * {@code Exchange} again, relaying.</li>
 * </ol>
 */
package io.isthmus.proxy;

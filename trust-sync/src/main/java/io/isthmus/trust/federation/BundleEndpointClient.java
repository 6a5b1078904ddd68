package io.isthmus.trust.federation;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManager;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleFormatException;
import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.status.TrustStatus;
import io.isthmus.trust.status.TrustStatusCodec;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.tls.TlsContexts;

/**
 * Fetches one peer's bundle from its bundle endpoint over {@code https_spiffe}. The response is read up to the
 * codec's size limit and parsed; validation against federation rules is the caller's. One client per peer,
 * reused across polls. Thread-safe.
 */
public final class BundleEndpointClient {
    private final PeerConfig peer;
    private final HttpClient http;
    private final BundleCodec codec;
    private final int maxBytes;
    private final Duration timeout;
    private final TrustStatusCodec statusCodec = new TrustStatusCodec();

    public BundleEndpointClient(PeerConfig peer, RootsSource roots, BundleSource known, Clock clock, Duration skew,
            BundleCodec codec, Duration timeout, Executor executor) {
        this.peer = peer;
        this.codec = codec;
        this.maxBytes = codec.maxBytes();
        this.timeout = timeout;
        SSLContext tls;
        try {
            tls = SSLContext.getInstance("TLS");
            // Once we hold a bundle of the peer, its endpoint's SVID must verify against it (a CA the peer withdrew
            // cannot serve a forged bundle that re-admits itself); before that, the endpoint is bootstrapped from
            // the federation root: its intermediate must chain to the root and be constrained to the peer's domain.
            PeerPolicy policy = peer.endpointId().map(PeerPolicy::exactly)
                    .orElseGet(() -> PeerPolicy.memberOf(peer.trustDomain()));
            tls.init(null, new TrustManager[] {new RootAnchoredTrustManager(peer.trustDomain(), policy, roots, known,
                    clock, skew)}, null);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create TLS context for peer " + peer.name(), e);
        }
        javax.net.ssl.SSLParameters params = tls.getDefaultSSLParameters();
        params.setProtocols(TlsContexts.PROTOCOLS);
        HttpClient.Builder builder = HttpClient.newBuilder().sslContext(tls).sslParameters(params)
                .connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).version(HttpClient.Version.HTTP_1_1);
        if (executor != null) {
            builder.executor(executor);
        }
        this.http = builder.build();
    }

    public PeerConfig peer() {
        return peer;
    }

    /** Where a gateway serves its {@link TrustStatus}, next to its bundle endpoint. */
    public static final String STATUS_PATH = "/v1/trust-status";

    /**
     * Completes with the peer's trust status, read from {@link #STATUS_PATH} on its bundle endpoint's host and port,
     * over the same TLS (the endpoint's SVID verified against the peer's current bundle, or from the root at first
     * contact): the answer is the peer's own, not a guess. Fails with a {@link BundleRejectedException} saying why.
     */
    public CompletableFuture<TrustStatus> fetchStatus(Duration within) {
        URI uri = peer.bundleEndpoint().resolve(STATUS_PATH);
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(within).header("Accept", "application/json").GET()
                .build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream()).handle((response, failure) -> {
            if (failure != null) {
                throw new CompletionException(describeFailure(unwrap(failure)));
            }
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw new CompletionException(new BundleRejectedException(BundleRejection.FETCH_FAILED,
                            "trust status endpoint " + uri + " answered HTTP " + response.statusCode()));
                }
                return statusCodec.parse(body.readNBytes(TrustStatusCodec.MAX_BYTES + 1), uri.toString());
            } catch (IllegalArgumentException e) {
                throw new CompletionException(new BundleRejectedException(BundleRejection.MALFORMED, e.getMessage(), e));
            } catch (IOException e) {
                throw new CompletionException(new BundleRejectedException(BundleRejection.FETCH_FAILED,
                        "reading the trust status from " + uri + ": " + e, e));
            }
        });
    }

    /**
     * The peer's answer to a refresh hint: HTTP status, and the JWT key IDs of the hinted trust domain it holds now
     * (empty when it holds no bundle of it, or refused the hint).
     */
    public record HintReply(int status, java.util.Set<String> jwtKeyIds) {
        public HintReply {
            jwtKeyIds = java.util.Set.copyOf(jwtKeyIds);
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * Tells the peer that {@code own}'s bundle changed ({@link RefreshHint#PATH} on its bundle endpoint's host and
     * port), over the same authenticated TLS as {@link #fetch}: the answer, which JWT keys of {@code own} the peer holds,
     * is the peer's own.
     */
    public CompletableFuture<HintReply> hint(io.isthmus.trust.spiffe.TrustDomain own) {
        URI uri = peer.bundleEndpoint().resolve(RefreshHint.PATH + "?trust_domain=" + own.name());
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.noBody()).build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream()).handle((response, failure) -> {
            if (failure != null) {
                throw new CompletionException(describeFailure(unwrap(failure)));
            }
            try (InputStream body = response.body()) {
                byte[] bytes = body.readNBytes(maxBytes);
                java.util.Set<String> kids = new java.util.HashSet<>();
                if (response.statusCode() == 202 || response.statusCode() == 429) {
                    JSON.readTree(bytes).path("jwt_key_ids").forEach(k -> kids.add(k.asText()));
                }
                return new HintReply(response.statusCode(), kids);
            } catch (IOException e) {
                throw new CompletionException(new BundleRejectedException(BundleRejection.FETCH_FAILED,
                        "reading the refresh hint's answer from " + uri + ": " + e, e));
            }
        });
    }

    /** Completes with the parsed bundle, or exceptionally with a {@link BundleRejectedException}. */
    public CompletableFuture<ParsedBundle> fetch() {
        HttpRequest request = HttpRequest.newBuilder(peer.bundleEndpoint()).timeout(timeout)
                .header("Accept", "application/json").GET().build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
                .handle((response, failure) -> {
                    if (failure != null) {
                        throw new CompletionException(describeFailure(unwrap(failure)));
                    }
                    try (InputStream body = response.body()) {
                        if (response.statusCode() != 200) {
                            throw new CompletionException(new BundleRejectedException(BundleRejection.FETCH_FAILED,
                                    "bundle endpoint " + peer.bundleEndpoint() + " answered HTTP " + response.statusCode()));
                        }
                        byte[] bytes = body.readNBytes(maxBytes + 1);
                        return codec.parse(peer.trustDomain(), bytes, "from " + peer.bundleEndpoint());
                    } catch (BundleFormatException e) {
                        throw new CompletionException(new BundleRejectedException(BundleRejection.MALFORMED,
                                e.getMessage(), e));
                    } catch (IOException e) {
                        throw new CompletionException(new BundleRejectedException(BundleRejection.FETCH_FAILED,
                                "reading bundle from " + peer.bundleEndpoint() + ": " + e, e));
                    }
                });
    }

    private BundleRejectedException describeFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof io.isthmus.trust.tls.SvidCertificateException svid) {
                return new BundleRejectedException(BundleRejection.ENDPOINT_NOT_AUTHENTICATED, "bundle endpoint "
                        + peer.bundleEndpoint() + " of " + peer.trustDomain() + " failed authentication: "
                        + svid.getMessage(), t);
            }
        }
        if (t instanceof SSLHandshakeException) {
            return new BundleRejectedException(BundleRejection.ENDPOINT_NOT_AUTHENTICATED, "TLS handshake with "
                    + peer.bundleEndpoint() + " failed: " + t.getMessage(), t);
        }
        return new BundleRejectedException(BundleRejection.FETCH_FAILED, "cannot fetch bundle of " + peer.trustDomain()
                + " from " + peer.bundleEndpoint() + ": " + t, t);
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}

package io.isthmus.trust.membership;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.text.Printable;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.tls.TlsContexts;

/**
 * The wire between members: the membership document is served and taken at {@link #PATH} next to each gateway's
 * SPIFFE bundle endpoint ({@code GET}: the document held; {@code POST}: offer one). The document is signed by the
 * root, so the channel adds no authority to it; the server is still authenticated (any gateway of the federation,
 * its SVID chained to a root under its own trust domain), so that a member does not ask a stranger.
 */
public final class MembershipGossip {
    /** Where the membership document is served and offered, on the bundle endpoint's host and port. */
    public static final String PATH = "/v1/membership";
    public static final String CONTENT_TYPE = "application/jose";

    private final HttpClient http;
    private final Duration timeout;

    public MembershipGossip(RootsSource roots, BundleSource known, Clock clock, Duration skew, Duration timeout,
            Executor executor) {
        this.timeout = timeout;
        SSLContext tls;
        try {
            tls = SSLContext.getInstance("TLS");
            tls.init(null, new TrustManager[] {new RootAnchoredTrustManager(null, PeerPolicy.anyFederated(), roots, known,
                    clock, skew)}, null);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create the TLS context of membership gossip", e);
        }
        SSLParameters params = tls.getDefaultSSLParameters();
        params.setProtocols(TlsContexts.PROTOCOLS);
        HttpClient.Builder b = HttpClient.newBuilder().sslContext(tls).sslParameters(params).connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).version(HttpClient.Version.HTTP_1_1);
        if (executor != null) {
            b.executor(executor);
        }
        this.http = b.build();
    }

    /** The membership endpoint next to {@code bundleEndpoint}. */
    public static URI endpointOf(URI bundleEndpoint) {
        return bundleEndpoint.resolve(PATH);
    }

    /**
     * Completes with the document {@code bundleEndpoint}'s gateway holds (empty when it holds none). The answer is read
     * up to {@link MembershipVerifier#MAX_BYTES} and no further: a member answering without end is cut off there, not
     * held in the heap. A failure's message is {@link Printable#escape escaped}: the JDK's client quotes the bytes of
     * a head it could not parse, and the message reaches the log.
     */
    public CompletableFuture<Optional<String>> fetch(URI bundleEndpoint) {
        HttpRequest request = HttpRequest.newBuilder(endpointOf(bundleEndpoint)).timeout(timeout)
                .header("Accept", CONTENT_TYPE).GET().build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream()).handle((r, failure) -> {
            if (failure != null) {
                throw failed(request.uri(), failure);
            }
            try (InputStream body = r.body()) {
                if (r.statusCode() == 404) {
                    return Optional.<String>empty();
                }
                if (r.statusCode() != 200) {
                    throw new IllegalStateException(request.uri() + " answered HTTP " + r.statusCode());
                }
                byte[] bytes = body.readNBytes(MembershipVerifier.MAX_BYTES + 1);
                if (bytes.length > MembershipVerifier.MAX_BYTES) {
                    throw new IllegalStateException(request.uri() + " answered more than " + MembershipVerifier.MAX_BYTES
                            + " bytes");
                }
                return Optional.of(new String(bytes, StandardCharsets.UTF_8).strip());
            } catch (IOException e) {
                throw failed(request.uri(), e);
            }
        });
    }

    /** What a member answered to a push: its HTTP status, and the first {@link #MAX_ANSWER_CHARS} of its body. */
    public record PushAnswer(int statusCode, String body) {
    }

    /** The most of a push's answer read (an answer is a short JSON object). */
    public static final int MAX_ANSWER_CHARS = 4096;

    /**
     * Offers {@code compact} to {@code bundleEndpoint}'s gateway; completes with its answer, read up to
     * {@link #MAX_ANSWER_CHARS} bytes.
     */
    public CompletableFuture<PushAnswer> push(URI bundleEndpoint, String compact) {
        HttpRequest request = HttpRequest.newBuilder(endpointOf(bundleEndpoint)).timeout(timeout)
                .header("Content-Type", CONTENT_TYPE).POST(HttpRequest.BodyPublishers.ofString(compact)).build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream()).handle((r, failure) -> {
            if (failure != null) {
                throw failed(request.uri(), failure);
            }
            try (InputStream body = r.body()) {
                return new PushAnswer(r.statusCode(), Printable.escape(new String(body.readNBytes(MAX_ANSWER_CHARS),
                        StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw failed(request.uri(), e);
            }
        });
    }

    private static CompletionException failed(URI uri, Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause()
                : failure;
        return new CompletionException(new IOException(uri + ": " + Printable.escape(String.valueOf(cause)), cause));
    }
}

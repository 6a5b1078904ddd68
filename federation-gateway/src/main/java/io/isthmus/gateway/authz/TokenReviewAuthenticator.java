package io.isthmus.gateway.authz;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.trust.concurrent.Workers;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@link TokenAuthenticator} backed by the Kubernetes TokenReview API ({@code authentication.k8s.io/v1}).
 *
 * <p>A token the API server authenticates as {@code system:serviceaccount:<ns>:<sa>} becomes
 * {@code spiffe://<local td>/ns/<ns>/sa/<sa>}; any other user ({@code kubernetes-admin}, a node, an OIDC user) is
 * refused with {@code token-not-a-service-account}; an unauthenticated token with {@code token-rejected}; an API
 * server that cannot be asked (down, timeout, RBAC missing) with {@code token-review-unavailable}, never success.
 *
 * <p>Results are cached by the token's SHA-256 (the token itself is never kept): accepted tokens for
 * {@code cacheTtl}, but never past the token's own {@code exp}; refused tokens for {@code negativeTtl};
 * unavailability is not cached. Concurrent requests with the same token share one API call. The cache is an LRU
 * bounded to {@code maxEntries}.
 *
 * <p>Metrics: {@code isthmus_authn_token_reviews_total{result}} (API calls by outcome),
 * {@code isthmus_authn_token_cache_total{result=hit|miss}}.
 *
 * <p>{@link #authenticate} never blocks: a cache hit completes at once; a miss runs the review on
 * {@code executor}.
 */
public final class TokenReviewAuthenticator implements TokenAuthenticator {
    private static final Logger LOG = Logger.getLogger(TokenReviewAuthenticator.class);
    private static final String SA_PREFIX = "system:serviceaccount:";
    /** Projected tokens are about 1 KiB; anything far larger is not worth sending to the API server. */
    static final int MAX_TOKEN_LENGTH = 16 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KubernetesClient client;
    private final TrustDomain trustDomain;
    private final List<String> audiences;
    private final Duration cacheTtl;
    private final Duration negativeTtl;
    private final Duration timeout;
    private final Clock clock;
    private final ExecutorService executor;
    private volatile boolean stopping;
    private final Map<ByteBuffer, Cached> cache;
    private final MeterRegistry meters;
    private final Counter cacheHits;
    private final Counter cacheMisses;

    private record Cached(CompletableFuture<AuthnResult> result, Instant expires) {
    }

    public TokenReviewAuthenticator(KubernetesClient client, TrustDomain trustDomain, List<String> audiences,
            Duration cacheTtl, Duration negativeTtl, int maxEntries, Duration timeout, Clock clock,
            ExecutorService executor, MeterRegistry meters) {
        this.client = Objects.requireNonNull(client, "client");
        this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
        this.audiences = List.copyOf(audiences);
        this.cacheTtl = Objects.requireNonNull(cacheTtl, "cacheTtl");
        this.negativeTtl = Objects.requireNonNull(negativeTtl, "negativeTtl");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.meters = Objects.requireNonNull(meters, "meters");
        this.cacheHits = Counter.builder("isthmus.authn.token.cache").tag("result", "hit")
                .description("Token authentications answered from the cache (or joined to a review in flight)")
                .register(meters);
        this.cacheMisses = Counter.builder("isthmus.authn.token.cache").tag("result", "miss")
                .description("Token authentications that needed a TokenReview").register(meters);
        if (maxEntries < 1) {
            throw new IllegalArgumentException("token cache size must be at least 1, got " + maxEntries);
        }
        this.cache = new LinkedHashMap<>(64, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<ByteBuffer, Cached> eldest) {
                return size() > maxEntries;
            }
        };
    }

    @Override
    public CompletionStage<AuthnResult> authenticate(String bearerToken) {
        if (bearerToken == null || bearerToken.isBlank()) {
            return CompletableFuture.completedFuture(
                    new AuthnResult.Refused(AuthnFailure.NO_CREDENTIAL, "no bearer token"));
        }
        if (bearerToken.length() > MAX_TOKEN_LENGTH) {
            return CompletableFuture.completedFuture(new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED,
                    "bearer token is " + bearerToken.length() + " characters, more than " + MAX_TOKEN_LENGTH));
        }
        ByteBuffer key = ByteBuffer.wrap(sha256(bearerToken));
        Instant now = clock.instant();
        CompletableFuture<AuthnResult> pending;
        synchronized (cache) {
            Cached e = cache.get(key);
            if (e != null && (e.expires == null || now.isBefore(e.expires))) {
                cacheHits.increment();
                return e.result;
            }
            cacheMisses.increment();
            pending = new CompletableFuture<>();
            // expires == null while the review runs: concurrent callers join this call.
            cache.put(key, new Cached(pending, null));
        }
        CompletableFuture<AuthnResult> call;
        try {
            call = CompletableFuture.supplyAsync(() -> review(bearerToken), executor);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            call = CompletableFuture.failedFuture(e);
        }
        call.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .exceptionally(t -> unavailable(t))
                .thenAccept(result -> {
                    Counter.builder("isthmus.authn.token.reviews").tag("result", outcome(result))
                            .description("TokenReview calls by outcome").register(meters).increment();
                    Instant expires = expiry(result, bearerToken);
                    synchronized (cache) {
                        Cached current = cache.get(key);
                        if (current != null && current.result == pending) {
                            if (expires == null) {
                                cache.remove(key);
                            } else {
                                cache.put(key, new Cached(pending, expires));
                            }
                        }
                    }
                    pending.complete(result);
                });
        return pending;
    }

    private static String outcome(AuthnResult r) {
        return switch (r) {
            case AuthnResult.Authenticated a -> "authenticated";
            case AuthnResult.Refused x -> x.reason().code();
        };
    }

    /** Number of cached entries (tests, metrics). */
    public int cacheSize() {
        synchronized (cache) {
            return cache.size();
        }
    }

    private AuthnResult review(String token) {
        TokenReview request = new TokenReviewBuilder().withNewSpec().withToken(token)
                .withAudiences(audiences.isEmpty() ? null : audiences).endSpec().build();
        TokenReview response;
        try {
            response = client.authentication().v1().tokenReviews().create(request);
        } catch (KubernetesClientException e) {
            return unavailable(e);
        }
        return interpret(response == null ? null : response.getStatus());
    }

    AuthnResult interpret(TokenReviewStatus status) {
        if (status == null) {
            return new AuthnResult.Refused(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE,
                    "the API server answered the TokenReview without a status");
        }
        if (!Boolean.TRUE.equals(status.getAuthenticated())) {
            String why = status.getError() == null || status.getError().isBlank() ? "not authenticated"
                    : status.getError();
            return new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED, "the API server did not authenticate the "
                    + "token: " + why);
        }
        if (!audiences.isEmpty()) {
            List<String> granted = status.getAudiences() == null ? List.of() : status.getAudiences();
            if (granted.stream().noneMatch(audiences::contains)) {
                return new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED, "token is valid for audiences "
                        + granted + ", none of " + audiences);
            }
        }
        UserInfo user = status.getUser();
        String username = user == null || user.getUsername() == null ? "" : user.getUsername();
        if (!username.startsWith(SA_PREFIX)) {
            return new AuthnResult.Refused(AuthnFailure.TOKEN_NOT_A_SERVICE_ACCOUNT, "token authenticates user \""
                    + username + "\", not a service account (system:serviceaccount:<namespace>:<name>)");
        }
        String rest = username.substring(SA_PREFIX.length());
        int colon = rest.indexOf(':');
        if (colon <= 0 || colon == rest.length() - 1 || rest.indexOf(':', colon + 1) >= 0) {
            return new AuthnResult.Refused(AuthnFailure.TOKEN_NOT_A_SERVICE_ACCOUNT, "service account user name \""
                    + username + "\" is not system:serviceaccount:<namespace>:<name>");
        }
        try {
            return new AuthnResult.Authenticated(
                    SpiffeId.ofServiceAccount(trustDomain, rest.substring(0, colon), rest.substring(colon + 1)));
        } catch (InvalidSpiffeIdException e) {
            return new AuthnResult.Refused(AuthnFailure.TOKEN_NOT_A_SERVICE_ACCOUNT, "service account \"" + username
                    + "\" does not make a SPIFFE ID: " + e.getMessage());
        }
    }

    /**
     * At the gateway's stop: no new review starts, a review in progress gets {@code grace} to finish (its caller gets
     * its answer), and whatever the stop still cuts short is logged at DEBUG, not as the API server being unavailable.
     */
    public void stop(Duration grace) {
        stopping = true;
        Workers.stop(executor, grace);
    }

    private AuthnResult unavailable(Throwable t) {
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null
                ? t.getCause() : t;
        String detail;
        if (cause instanceof java.util.concurrent.TimeoutException) {
            detail = "the TokenReview did not complete in time";
        } else if (cause instanceof KubernetesClientException k && (k.getCode() == 401 || k.getCode() == 403)) {
            detail = "the API server refused the gateway's TokenReview (HTTP " + k.getCode() + "): grant its "
                    + "service account 'create' on tokenreviews.authentication.k8s.io (system:auth-delegator)";
        } else if (cause instanceof KubernetesClientException k && k.getCode() > 0) {
            detail = "TokenReview failed with HTTP " + k.getCode() + ": " + k.getMessage();
        } else {
            detail = "the Kubernetes API server could not be asked: " + cause;
        }
        if (stopping) {
            LOG.debugf("caller authentication while the gateway stops: %s", detail);
        } else {
            LOG.warnf("caller authentication: %s", detail);
        }
        return new AuthnResult.Refused(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE, detail);
    }

    /** When the cached result lapses; null means do not cache. */
    private Instant expiry(AuthnResult result, String token) {
        Instant now = clock.instant();
        return switch (result) {
            case AuthnResult.Authenticated a -> {
                Instant limit = now.plus(cacheTtl);
                Optional<Instant> exp = tokenExpiry(token);
                yield exp.isPresent() && exp.get().isBefore(limit) ? exp.get() : limit;
            }
            case AuthnResult.Refused r when r.reason() == AuthnFailure.TOKEN_REVIEW_UNAVAILABLE -> null;
            case AuthnResult.Refused r -> now.plus(negativeTtl);
        };
    }

    /**
     * The {@code exp} claim of a JWT, read without verifying it: the API server has verified the token, and the
     * claim is only used to stop caching it. Empty for tokens that are not JWTs or have no {@code exp}.
     */
    static Optional<Instant> tokenExpiry(String token) {
        int first = token.indexOf('.');
        int second = first < 0 ? -1 : token.indexOf('.', first + 1);
        if (second < 0) {
            return Optional.empty();
        }
        try {
            byte[] payload = Base64.getUrlDecoder().decode(token.substring(first + 1, second));
            JsonNode exp = JSON.readTree(payload).get("exp");
            return exp != null && exp.canConvertToLong() ? Optional.of(Instant.ofEpochSecond(exp.asLong()))
                    : Optional.empty();
        } catch (RuntimeException | java.io.IOException e) {
            return Optional.empty();
        }
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every JDK", e);
        }
    }
}

package io.isthmus.proxy.authn;

import java.util.concurrent.CompletionStage;

/**
 * Authenticates a local caller by its Kubernetes projected service-account token (TokenReview API, results
 * cached until the token expires or a short TTL) and maps it to {@code spiffe://<local td>/ns/<ns>/sa/<sa>}.
 * Called from the event loop: must never block; completes on any thread. A token the API server cannot be asked
 * about completes with {@link AuthnFailure#TOKEN_REVIEW_UNAVAILABLE}, never with success.
 */
@FunctionalInterface
public interface TokenAuthenticator {
    CompletionStage<AuthnResult> authenticate(String bearerToken);
}

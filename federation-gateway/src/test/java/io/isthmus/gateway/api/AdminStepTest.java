package io.isthmus.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import jakarta.ws.rs.core.Response;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.api.AdminStep.Outcome;
import io.isthmus.gateway.enrolment.AdminAuth;
import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.enrolment.EnrolmentError;
import io.isthmus.gateway.enrolment.EnrolmentException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;

/**
 * The admin call skeleton the rotation, membership and JWT resources share: what each outcome answers and which ones
 * leave an audit line (their own e2e and API tests check the same through the real gateway).
 */
class AdminStepTest {
    private final EnrolmentAudit audit = new EnrolmentAudit(Clock.fixed(Instant.parse("2026-12-05T07:00:00Z"),
            ZoneOffset.UTC));
    private final HttpServerRequest request = (HttpServerRequest) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {HttpServerRequest.class}, (proxy, method, args) -> method.getName().equals("remoteAddress")
                    ? SocketAddress.inetSocketAddress(40000, "192.0.2.7") : null);
    /** Admits the bearer "good" as "operator", refuses anything else as the real one does. */
    private final AdminAuth auth = new AdminAuth(null, null, null) {
        @Override
        public String authenticate(HttpServerRequest r, String authorization) {
            if (!"Bearer good".equals(authorization)) {
                throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "no admin credential");
            }
            return "operator";
        }
    };

    private Response run(String authorization, boolean auditAuthFailure, AdminStep.Step step) {
        return AdminStep.run(auth, audit, request, "test.step", authorization, auditAuthFailure, step);
    }

    @Test
    void aRefusedCallerIsAnsweredWithTheErrorsStatusAndAuditedUnlessTheCallSaysNot() {
        Response r = run("Bearer bad", true, p -> Outcome.read("never"));
        assertThat(r.getStatus()).isEqualTo(401);
        assertThat(((ApiError) r.getEntity()).code()).isEqualTo("admin-unauthenticated");
        assertThat(audit.recent()).singleElement().asString().contains("\"action\":\"test.step\"",
                "\"decision\":\"deny\"", "\"code\":\"admin-unauthenticated\"", "\"source\":\"192.0.2.7\"")
                .doesNotContain("principal");
        assertThat(run(null, false, p -> Outcome.read("never")).getStatus()).isEqualTo(401);
        assertThat(audit.recent()).hasSize(1);
    }

    @Test
    void aReadAnswersWithoutAnAuditLine() {
        Response r = run("Bearer good", true, p -> Outcome.read("body of " + p));
        assertThat(r.getStatus()).isEqualTo(200);
        assertThat(r.getEntity()).isEqualTo("body of operator");
        assertThat(audit.recent()).isEmpty();
    }

    @Test
    void aChangeIsOneAllowedLineWithItsCodeSerialAndDetail() {
        Response r = run("Bearer good", true, p -> Outcome.changed("new", "done", "kid-2", "phase published"));
        assertThat(r.getStatus()).isEqualTo(200);
        assertThat(audit.recent()).singleElement().asString().contains("\"decision\":\"allow\"", "\"code\":\"done\"",
                "\"principal\":\"operator\"", "\"serial\":\"kid-2\"", "\"detail\":\"phase published\"");
    }

    @Test
    void aRefusedStepIsItsStatusAndADeniedLineAFailureOnlyItsStatus() {
        Response refused = run("Bearer good", true, p -> Outcome.refused(409, "wrong-phase", "prepare first"));
        assertThat(refused.getStatus()).isEqualTo(409);
        assertThat((ApiError) refused.getEntity()).isEqualTo(new ApiError("wrong-phase", "prepare first"));
        assertThat(audit.recent()).singleElement().asString().contains("\"decision\":\"deny\"",
                "\"code\":\"wrong-phase\"", "\"principal\":\"operator\"", "\"detail\":\"prepare first\"");
        Response failed = run("Bearer good", true, p -> Outcome.failed(503, "store-unavailable", "disk full"));
        assertThat(failed.getStatus()).isEqualTo(503);
        Response malformed = run("Bearer good", true, p -> {
            throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, "'force' must be true or false");
        });
        assertThat(malformed.getStatus()).isEqualTo(EnrolmentError.INVALID_REQUEST.status());
        assertThat(audit.recent()).as("failures and malformed bodies are not decisions").hasSize(1);
    }
}

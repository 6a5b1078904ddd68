package io.isthmus.gateway.api;

import jakarta.ws.rs.core.Response;

import io.isthmus.gateway.enrolment.AdminAuth;
import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.enrolment.EnrolmentException;
import io.vertx.core.http.HttpServerRequest;

/**
 * One admin call's skeleton, shared by the admin resources (rotation, membership, JWT keys): authenticate the caller
 * ({@link AdminAuth}; a refusal is an audit line and the error's own status), run the step as that principal, and turn
 * its {@link Outcome} into the answer and, where the outcome says so, an audit line. An {@link EnrolmentException}
 * from the step (a malformed body) is answered with its status and not audited, as before the calls shared this.
 */
public final class AdminStep {
    private AdminStep() {
    }

    /** What a step did, as the caller and the audit log see it. */
    public sealed interface Outcome {
        /** 200 with {@code body}, not audited (a read). */
        static Outcome read(Object body) {
            return new Done(200, body, null, null, null);
        }

        /** 200 with {@code body}, and an allowed audit line: {@code code} (e.g. {@code done}), the serial/target, why. */
        static Outcome changed(Object body, String code, String serial, String detail) {
            return new Done(200, body, code, serial, detail);
        }

        /** 202 with {@code body}, audited like {@link #changed}: the change is recorded but not yet complete. */
        static Outcome accepted(Object body, String code, String serial, String detail) {
            return new Done(202, body, code, serial, detail);
        }

        /** A refused step: {@code status} with {@code {"code","detail"}}, and a refused audit line. */
        static Outcome refused(int status, String code, String detail) {
            return new Refused(status, code, detail, true);
        }

        /** A failure that is not a decision (e.g. a store that cannot be written): answered, not audited. */
        static Outcome failed(int status, String code, String detail) {
            return new Refused(status, code, detail, false);
        }
    }

    record Done(int status, Object body, String code, String serial, String detail) implements Outcome {
    }

    record Refused(int status, String code, String detail, boolean audited) implements Outcome {
    }

    /** The work of one admin call, run once the caller is authenticated as {@code principal}. */
    public interface Step {
        Outcome run(String principal);
    }

    /**
     * @param action the audit action, e.g. {@code rotation.prepare}
     * @param auditAuthFailure whether a refused authentication is an audit line (every call but the membership reads)
     */
    public static Response run(AdminAuth auth, EnrolmentAudit audit, HttpServerRequest request, String action,
            String authorization, boolean auditAuthFailure, Step step) {
        String source = request.remoteAddress() == null ? "unknown" : request.remoteAddress().hostAddress();
        String principal;
        try {
            principal = auth.authenticate(request, authorization);
        } catch (EnrolmentException e) {
            if (auditAuthFailure) {
                audit.record(new EnrolmentAudit.Entry(action, false, e.error().code(), source, null, null, null, null,
                        e.getMessage()));
            }
            return ApiError.response(e.error().status(), e.error().code(), e.getMessage());
        }
        Outcome outcome;
        try {
            outcome = step.run(principal);
        } catch (EnrolmentException e) {
            return ApiError.response(e.error().status(), e.error().code(), e.getMessage());
        }
        return switch (outcome) {
            case Done d -> {
                if (d.code() != null) {
                    audit.record(new EnrolmentAudit.Entry(action, true, d.code(), source, principal, null, null,
                            d.serial(), d.detail()));
                }
                yield Response.status(d.status()).entity(d.body()).build();
            }
            case Refused r -> {
                if (r.audited()) {
                    audit.record(new EnrolmentAudit.Entry(action, false, r.code(), source, principal, null, null, null,
                            r.detail()));
                }
                yield ApiError.response(r.status(), r.code(), r.detail());
            }
        };
    }
}

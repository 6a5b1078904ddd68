package io.isthmus.gateway.enrolment;

import java.time.Duration;
import java.util.Optional;

/** A refused enrolment, renewal or admin call; nothing was issued or changed. */
public final class EnrolmentException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final EnrolmentError error;
    private final transient Optional<Duration> retryAfter;

    public EnrolmentException(EnrolmentError error, String message) {
        this(error, message, Optional.empty());
    }

    public EnrolmentException(EnrolmentError error, String message, Optional<Duration> retryAfter) {
        super(message);
        this.error = error;
        this.retryAfter = retryAfter;
    }

    public EnrolmentError error() {
        return error;
    }

    public Optional<Duration> retryAfter() {
        return retryAfter;
    }
}

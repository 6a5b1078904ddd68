package io.isthmus.agent.gateway;

/**
 * The gateway refused a request ({@code code} is its stable error code) or could not be reached ({@code code} is
 * {@code unreachable}). {@link #retryable()} says whether trying again later can help.
 */
public final class GatewayException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String code;
    private final int status;

    public GatewayException(String code, int status, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.status = status;
    }

    public String code() {
        return code;
    }

    public int status() {
        return status;
    }

    /** Unreachable, rate limited, overloaded or failing server side: yes. A refused credential or request: no. */
    public boolean retryable() {
        return status == 0 || status == 429 || status >= 500;
    }
}

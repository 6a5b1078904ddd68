package io.isthmus.gateway.probe;

/** A probe failed; the message says where and why, for an operator to act on. */
final class ProbeException extends Exception {
    ProbeException(String message) {
        super(message);
    }
}

package io.isthmus.agent.workload;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Refuses calls without the {@code workload.spiffe.io: true} metadata the Workload API spec requires (it keeps
 * a browser or SSRF-style proxy from reaching the socket by accident), with the message SPIRE uses.
 */
final class SecurityHeaderInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> HEADER = Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (!"true".equals(headers.get(HEADER))) {
            call.close(Status.INVALID_ARGUMENT.withDescription("security header missing from request"), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }
}

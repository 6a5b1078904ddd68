package io.isthmus.agent.workload;

import java.time.Duration;
import java.util.SortedSet;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.isthmus.agent.attest.AttestationException;
import io.isthmus.agent.attest.Caller;
import io.isthmus.agent.attest.WorkloadAttestation;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Attests each call's caller (from the connection's peer credentials) and puts the IDs it may act as into the
 * call's context ({@link CallerIdentities}). A caller that matches no entry, or cannot be attested, gets
 * PERMISSION_DENIED "no identity issued" (SPIRE's answer) on every method, bundles included, and nothing else.
 * Attestation runs at each call's start, never once per connection: a process that exec()s another binary on the
 * same connection is attested again. Refusals are logged throttled per (uid, reason) ({@link RefusalLog}): any local
 * user may call, and must not be able to flood the agent's log. The caller's selectors go into the context too: an
 * open stream matches them again when the entries change ({@link io.isthmus.agent.attest.StreamGrant}).
 */
final class AttestationInterceptor implements ServerInterceptor {
    private static final Logger LOG = Logger.getLogger(AttestationInterceptor.class);

    /** How often one (uid, reason) may write a refusal line: a local user calling in a loop writes one a minute. */
    static final Duration REFUSAL_LINE_INTERVAL = Duration.ofMinutes(1);

    private final WorkloadAttestation attestation;
    private final Supplier<SpiffeId> vm;
    private final RefusalLog refusals = new RefusalLog(REFUSAL_LINE_INTERVAL, System::nanoTime, LOG::info);

    AttestationInterceptor(WorkloadAttestation attestation, Supplier<SpiffeId> vm) {
        this.attestation = attestation;
        this.vm = vm;
    }

    /** Refused calls since the start, logged or not. */
    long refused() {
        return refusals.total();
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        Caller caller = call.getAttributes().get(PeerCredentialsNegotiator.CALLER);
        String method = call.getMethodDescriptor().getBareMethodName();
        WorkloadAttestation.Attested attested;
        try {
            attested = attestation.attest(caller, vm.get());
        } catch (AttestationException e) {
            refusals.refused(uid(caller), "unattested", "Workload API " + method + " refused: " + e.getMessage());
            return deny(call);
        }
        SortedSet<SpiffeId> ids = attested.ids();
        if (ids.isEmpty()) {
            refusals.refused(uid(caller), "no-matching-entry", "Workload API " + method + " refused: caller " + caller
                    + " matches no registration entry");
            return deny(call);
        }
        if (attestation.enabled()) {
            LOG.debugf("Workload API %s: caller %s may act as %s", method, caller, ids);
        }
        return Contexts.interceptCall(Context.current().withValue(CallerIdentities.KEY, ids)
                .withValue(CallerIdentities.SELECTORS, attested.selectors().orElse(null)), call, headers, next);
    }

    private static int uid(Caller caller) {
        return caller == null ? RefusalLog.OTHER_UIDS : caller.uid();
    }

    private static <Q, R> ServerCall.Listener<Q> deny(ServerCall<Q, R> call) {
        call.close(Status.PERMISSION_DENIED.withDescription("no identity issued"), new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}

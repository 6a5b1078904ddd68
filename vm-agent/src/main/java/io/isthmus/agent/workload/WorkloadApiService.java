package io.isthmus.agent.workload;

import java.io.ByteArrayOutputStream;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.time.Instant;
import java.util.SortedSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import com.google.protobuf.ByteString;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.isthmus.agent.attest.StreamGrant;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.jwt.JwtSvidCache;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.jwt.JwtSvid;
import io.isthmus.trust.jwt.JwtSvidValidator;
import io.isthmus.trust.jwt.JwtVerdict;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;

/**
 * FetchX509SVID, FetchX509Bundles and FetchJWTBundles: each stream gets the current state at once and again after
 * every change. When the registration entries change, each open stream's caller is matched again
 * ({@link StreamGrant}): a stream carries only the IDs its caller matches now (never a lost one again, renewals
 * included), and a stream whose caller matches nothing any more ends with PERMISSION_DENIED. FetchJWTSVID answers from the agent's {@link JwtSvidCache} (the cluster's gateway signs);
 * ValidateJWTSVID validates against the bundles the agent holds ({@link JwtSvidValidator}).
 */
final class WorkloadApiService extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {
    private static final Logger LOG = Logger.getLogger(WorkloadApiService.class);

    private static final BundleCodec CODEC = new BundleCodec();

    private final Supplier<AgentState> current;
    private final List<Stream<?>> streams = new CopyOnWriteArrayList<>();
    private final Function<SpiffeId, Optional<X509Svid>> workloadSvids;
    private final Supplier<List<RegistrationEntry>> entries;

    private final JwtSvidCache jwtSvids;

    WorkloadApiService(Supplier<AgentState> current) {
        this(current, id -> Optional.empty(), null, List::of);
    }

    /**
     * @param workloadSvids the SVIDs the agent holds for workload IDs under the VM's (registration entries)
     * @param jwtSvids where FetchJWTSVID gets tokens; null answers UNAVAILABLE (no gateway to sign them)
     * @param entries the registration entries in force (read when they change: {@link #entriesChanged})
     */
    WorkloadApiService(Supplier<AgentState> current, Function<SpiffeId, Optional<X509Svid>> workloadSvids,
            JwtSvidCache jwtSvids, Supplier<List<RegistrationEntry>> entries) {
        this.current = current;
        this.workloadSvids = workloadSvids;
        this.jwtSvids = jwtSvids;
        this.entries = entries;
    }

    /**
     * One open server stream: the IDs it may carry, and how to render a state for them. Sends, and changes of what
     * it may carry, are serialized per stream, so that no send renders an ID the stream has lost.
     */
    private final class Stream<T> {
        private final ServerCallStreamObserver<T> observer;
        private final String method;
        /** The caller's selectors when the stream opened; null with attestation off (nothing to match again). */
        private final Set<Selector> selectors;
        private final BiFunction<AgentState, SortedSet<SpiffeId>, T> render;
        private SortedSet<SpiffeId> granted;
        private boolean ended;

        Stream(StreamObserver<T> observer, String method, BiFunction<AgentState, SortedSet<SpiffeId>, T> render) {
            this.observer = (ServerCallStreamObserver<T>) observer;
            this.method = method;
            this.selectors = CallerIdentities.selectors().orElse(null);
            this.granted = CallerIdentities.current();
            this.render = render;
        }

        synchronized void send(AgentState state) {
            if (ended) {
                return;
            }
            if (observer.isCancelled()) {
                streams.remove(this);
                return;
            }
            try {
                T message = render.apply(state, granted);
                if (message == null) {
                    return;
                }
                observer.onNext(message);
            } catch (RuntimeException e) {
                LOG.debugf("dropping a Workload API stream: %s", e.getMessage());
                streams.remove(this);
            }
        }

        /**
         * Matches the caller's selectors against the entries in force and applies the verdict; with {@code resend},
         * a stream that keeps some IDs but not the same gets its new state at once.
         */
        synchronized void regrant(boolean resend) {
            if (selectors == null || ended) {
                return;
            }
            switch (StreamGrant.decide(selectors, granted, entries.get())) {
                case StreamGrant.Keep keep -> {
                }
                case StreamGrant.Regrant r -> {
                    granted = r.now();
                    LOG.infof("a Workload API %s stream now carries %s (lost %s, gained %s): the registration entries "
                            + "changed", method, r.now(), r.lost(), r.gained());
                    if (resend) {
                        send(current.get());
                    }
                }
                case StreamGrant.End end -> {
                    ended = true;
                    streams.remove(this);
                    LOG.infof("ended a Workload API %s stream with PERMISSION_DENIED: its caller (%s) matches no "
                            + "registration entry now, and loses %s", method, selectors, end.lost());
                    try {
                        observer.onError(Status.PERMISSION_DENIED.withDescription("no identity issued")
                                .asRuntimeException());
                    } catch (RuntimeException e) {
                        // Already gone.
                    }
                }
            }
        }

        synchronized void complete() {
            try {
                observer.onCompleted();
            } catch (RuntimeException e) {
                // Already gone.
            }
        }
    }

    @Override
    public void fetchX509SVID(Workload.X509SVIDRequest request, StreamObserver<Workload.X509SVIDResponse> observer) {
        open(observer, "FetchX509SVID", (state, ids) -> svidResponse(state, svidsFor(state, ids)));
    }

    /**
     * The SVIDs of {@code ids} the agent holds, in the order of {@code ids}: the VM's own from the state, the
     * workloads' from the renewer. Null (send nothing yet) when none is held: a workload SVID not yet signed
     * (the gateway unreachable at start) arrives with the next publish.
     */
    private List<X509Svid> svidsFor(AgentState state, SortedSet<SpiffeId> ids) {
        List<X509Svid> svids = new ArrayList<>();
        for (SpiffeId id : ids) {
            (id.equals(state.svid().id()) ? Optional.of(state.svid()) : workloadSvids.apply(id)).ifPresent(svids::add);
        }
        return svids.isEmpty() ? null : svids;
    }

    @Override
    public void fetchX509Bundles(Workload.X509BundlesRequest request,
            StreamObserver<Workload.X509BundlesResponse> observer) {
        open(observer, "FetchX509Bundles", (state, ids) -> bundlesResponse(state));
    }

    private <T> void open(StreamObserver<T> observer, String method,
            BiFunction<AgentState, SortedSet<SpiffeId>, T> render) {
        Stream<T> stream = new Stream<>(observer, method, render);
        stream.observer.setOnCancelHandler(() -> streams.remove(stream));
        streams.add(stream);
        // The caller was matched when the call started; entries replaced since then told the streams listed at the
        // time, not this one. Listed first, matched again now: a change either sees this stream or is seen here.
        stream.regrant(false);
        stream.send(current.get());
    }

    void publish(AgentState state) {
        for (Stream<?> s : streams) {
            s.send(state);
        }
    }

    /** After the registration entries changed: every open stream gives up what its caller no longer matches. */
    void entriesChanged() {
        for (Stream<?> s : streams) {
            s.regrant(true);
        }
    }

    void closeStreams() {
        for (Stream<?> s : streams) {
            s.complete();
        }
        streams.clear();
    }

    @Override
    public void fetchJWTSVID(Workload.JWTSVIDRequest request, StreamObserver<Workload.JWTSVIDResponse> observer) {
        List<String> audience = request.getAudienceList();
        if (audience.isEmpty() || audience.stream().anyMatch(String::isBlank)) {
            observer.onError(Status.INVALID_ARGUMENT.withDescription("audience must be specified: at least one "
                    + "non-blank audience, got " + audience).asRuntimeException());
            return;
        }
        AgentState state = current.get();
        Set<SpiffeId> entitled = callerIdentities(state);
        if (entitled.isEmpty()) {
            observer.onError(Status.PERMISSION_DENIED.withDescription("no identity issued to this caller")
                    .asRuntimeException());
            return;
        }
        Set<SpiffeId> subjects = entitled;
        if (!request.getSpiffeId().isEmpty()) {
            Optional<SpiffeId> asked = SpiffeId.tryParse(request.getSpiffeId());
            if (asked.isEmpty()) {
                observer.onError(Status.INVALID_ARGUMENT.withDescription("spiffe_id '" + request.getSpiffeId()
                        + "' is not a SPIFFE ID; expected spiffe://<trust-domain>/<path>, or none").asRuntimeException());
                return;
            }
            if (!entitled.contains(asked.get())) {
                observer.onError(Status.PERMISSION_DENIED.withDescription("no identity issued for " + asked.get()
                        + "; this caller may have " + entitled).asRuntimeException());
                return;
            }
            subjects = Set.of(asked.get());
        }
        if (jwtSvids == null) {
            observer.onError(Status.UNAVAILABLE.withDescription("this agent has no gateway to sign JWT-SVIDs")
                    .asRuntimeException());
            return;
        }
        Workload.JWTSVIDResponse.Builder reply = Workload.JWTSVIDResponse.newBuilder();
        for (SpiffeId id : subjects) {
            try {
                JwtSvid svid = jwtSvids.get(id, audience);
                reply.addSvids(Workload.JWTSVID.newBuilder().setSpiffeId(id.toString()).setSvid(svid.token()));
            } catch (GatewayException e) {
                LOG.warnf("FetchJWTSVID for %s %s failed: %s", id, audience, e.getMessage());
                observer.onError(Status.UNAVAILABLE.withDescription("could not get a JWT-SVID for " + id + ": "
                        + e.getMessage()).asRuntimeException());
                return;
            }
        }
        observer.onNext(reply.build());
        observer.onCompleted();
    }

    @Override
    public void fetchJWTBundles(Workload.JWTBundlesRequest request, StreamObserver<Workload.JWTBundlesResponse> observer) {
        open(observer, "FetchJWTBundles", (state, ids) -> jwtBundlesResponse(state));
    }

    @Override
    public void validateJWTSVID(Workload.ValidateJWTSVIDRequest request,
            StreamObserver<Workload.ValidateJWTSVIDResponse> observer) {
        if (request.getAudience().isEmpty()) {
            observer.onError(Status.INVALID_ARGUMENT.withDescription("audience must be specified").asRuntimeException());
            return;
        }
        if (request.getSvid().isEmpty()) {
            observer.onError(Status.INVALID_ARGUMENT.withDescription("svid must be specified").asRuntimeException());
            return;
        }
        JwtVerdict verdict = JwtSvidValidator.validate(request.getSvid(), request.getAudience(), current.get().bundles(),
                Instant.now());
        if (verdict instanceof JwtVerdict.Invalid bad) {
            observer.onError(Status.INVALID_ARGUMENT.withDescription("invalid JWT-SVID (" + bad.reason().label() + "): "
                    + bad.message()).asRuntimeException());
            return;
        }
        JwtSvid svid = ((JwtVerdict.Valid) verdict).svid();
        observer.onNext(Workload.ValidateJWTSVIDResponse.newBuilder().setSpiffeId(svid.id().toString())
                .setClaims(JwtClaims.toStruct(svid.claims())).build());
        observer.onCompleted();
    }

    /**
     * The SPIFFE IDs this caller may act as: the registration entries it matched ({@link AttestationInterceptor}),
     * or the VM's own ID with attestation off.
     */
    private static Set<SpiffeId> callerIdentities(AgentState state) {
        return CallerIdentities.current();
    }

    /** Each trust domain's JWT authorities as a JWKS with only its jwt-svid keys, keyed by the trust domain's ID. */
    static Workload.JWTBundlesResponse jwtBundlesResponse(AgentState state) {
        Workload.JWTBundlesResponse.Builder b = Workload.JWTBundlesResponse.newBuilder();
        for (TrustBundle bundle : state.bundles().bundles().values()) {
            TrustBundle jwtOnly = new TrustBundle(bundle.trustDomain(), List.of(), bundle.jwtAuthorities(),
                    bundle.sequence(), Optional.empty());
            b.putBundles(bundle.trustDomain().id().toString(),
                    ByteString.copyFromUtf8(CODEC.toJson(jwtOnly)));
        }
        return b.build();
    }

    static Workload.X509SVIDResponse svidResponse(AgentState state) {
        return svidResponse(state, List.of(state.svid()));
    }

    /** One response with {@code svids} in order (java-spiffe's default source picks the first). Null when none. */
    static Workload.X509SVIDResponse svidResponse(AgentState state, List<X509Svid> svids) {
        if (svids == null) {
            return null;
        }
        Workload.X509SVIDResponse.Builder response = Workload.X509SVIDResponse.newBuilder();
        for (X509Svid svid : svids) {
            Workload.X509SVID.Builder entry = Workload.X509SVID.newBuilder().setSpiffeId(svid.id().toString())
                    .setX509Svid(der(svid.chain())).setX509SvidKey(ByteString.copyFrom(svid.key().getEncoded()));
            state.bundles().bundleFor(state.trustDomain()).ifPresent(b -> entry.setBundle(der(b.x509Authorities())));
            response.addSvids(entry);
        }
        Map<String, ByteString> federated = new LinkedHashMap<>();
        for (TrustBundle b : state.bundles().bundles().values()) {
            if (!b.trustDomain().equals(state.trustDomain())) {
                federated.put(b.trustDomain().id().toString(), der(b.x509Authorities()));
            }
        }
        return response.putAllFederatedBundles(federated).build();
    }

    static Workload.X509BundlesResponse bundlesResponse(AgentState state) {
        Workload.X509BundlesResponse.Builder b = Workload.X509BundlesResponse.newBuilder();
        for (TrustBundle bundle : state.bundles().bundles().values()) {
            b.putBundles(bundle.trustDomain().id().toString(), der(bundle.x509Authorities()));
        }
        return b.build();
    }

    private static ByteString der(List<X509Certificate> certs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate c : certs) {
            try {
                out.writeBytes(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        return ByteString.copyFrom(out.toByteArray());
    }
}

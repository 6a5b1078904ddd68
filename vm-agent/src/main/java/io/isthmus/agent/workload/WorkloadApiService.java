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
import java.util.function.Function;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import com.google.protobuf.ByteString;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.jwt.JwtSvidCache;
import io.isthmus.agent.state.AgentState;
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
 * every change. FetchJWTSVID answers from the agent's {@link JwtSvidCache} (the cluster's gateway signs);
 * ValidateJWTSVID validates against the bundles the agent holds ({@link JwtSvidValidator}).
 */
final class WorkloadApiService extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {
    private static final Logger LOG = Logger.getLogger(WorkloadApiService.class);

    private static final BundleCodec CODEC = new BundleCodec();

    private final Supplier<AgentState> current;
    private final List<Stream<?>> streams = new CopyOnWriteArrayList<>();
    private final Function<SpiffeId, Optional<X509Svid>> workloadSvids;

    private final JwtSvidCache jwtSvids;

    WorkloadApiService(Supplier<AgentState> current) {
        this(current, id -> Optional.empty(), null);
    }

    /**
     * @param workloadSvids the SVIDs the agent holds for workload IDs under the VM's (registration entries)
     * @param jwtSvids where FetchJWTSVID gets tokens; null answers UNAVAILABLE (no gateway to sign them)
     */
    WorkloadApiService(Supplier<AgentState> current, Function<SpiffeId, Optional<X509Svid>> workloadSvids,
            JwtSvidCache jwtSvids) {
        this.current = current;
        this.workloadSvids = workloadSvids;
        this.jwtSvids = jwtSvids;
    }

    /** One open server stream and how to render a state for it. Sends are serialized per stream. */
    private final class Stream<T> {
        private final ServerCallStreamObserver<T> observer;
        private final Function<AgentState, T> render;

        Stream(StreamObserver<T> observer, Function<AgentState, T> render) {
            this.observer = (ServerCallStreamObserver<T>) observer;
            this.render = render;
        }

        synchronized void send(AgentState state) {
            if (observer.isCancelled()) {
                streams.remove(this);
                return;
            }
            try {
                T message = render.apply(state);
                if (message == null) {
                    return;
                }
                observer.onNext(message);
            } catch (RuntimeException e) {
                LOG.debugf("dropping a Workload API stream: %s", e.getMessage());
                streams.remove(this);
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
        SortedSet<SpiffeId> ids = CallerIdentities.current();
        open(observer, state -> svidResponse(state, svidsFor(state, ids)));
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
        open(observer, WorkloadApiService::bundlesResponse);
    }

    private <T> void open(StreamObserver<T> observer, Function<AgentState, T> render) {
        Stream<T> stream = new Stream<>(observer, render);
        stream.observer.setOnCancelHandler(() -> streams.remove(stream));
        streams.add(stream);
        stream.send(current.get());
    }

    void publish(AgentState state) {
        for (Stream<?> s : streams) {
            s.send(state);
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
        open(observer, WorkloadApiService::jwtBundlesResponse);
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

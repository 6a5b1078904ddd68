package io.isthmus.trust.membership;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.concurrent.Workers;
import io.isthmus.trust.endpoint.EndpointAnswer;
import io.isthmus.trust.endpoint.EndpointRequest;
import io.isthmus.trust.endpoint.EndpointRoute;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.text.Printable;

/**
 * The federation's membership as this gateway holds it, and how it spreads with no central server:
 * <ul>
 * <li>an operator offers a signed document to any one member ({@link #offer}, from the admin API);</li>
 * <li>a member that takes a document pushes it to every member of the old and the new version
 * ({@link MembershipGossip}), and each of them verifies and takes it the same way, and pushes it on;</li>
 * <li>every member also asks the others for their document every {@code pollInterval} (and at start), so a member
 * that was cut off, down, or new (knowing one existing member's address, the seed) catches up.</li>
 * </ul>
 * A gateway that holds no document yet takes neither a pushed document nor a polled one as it comes: it asks the
 * members the pushed document lists, its seed and its configured peers, and takes what {@link FirstDocument} chooses
 * (an old document replayed to it is replaced by the newest one served). The operator's own offer (the admin API) is
 * taken as it is.
 * Taking a document: {@link MembershipVerifier#verify}, then the members it adds are probed and
 * {@link MembershipVerifier#admit} decides; then it is persisted, swapped in, and the listeners apply it (trust
 * peers, registry sites, gateway identities), in registration order, on the thread that offered it. Offers are
 * serialized. Thread-safe.
 */
public final class FederationMembership implements AutoCloseable, EndpointRoute {
    private static final Logger LOG = Logger.getLogger(FederationMembership.class);

    private final String selfName;
    private final TrustDomain selfTrustDomain;
    private final RootsSource roots;
    private final MembershipStore store;
    private final Function<Member, CompletableFuture<MemberCheck>> probe;
    private final MembershipGossip gossip;
    private final Supplier<Set<URI>> bootstrap;
    private final Duration pollInterval;
    private final Duration probeTimeout;
    private static final Duration STOP_GRACE = Duration.ofSeconds(2);

    private final MembershipVerifier verifier = new MembershipVerifier();
    private final AtomicReference<SignedMembership> current = new AtomicReference<>();
    private final List<Consumer<MembershipChange>> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService worker;
    private final Object offers = new Object();
    private volatile PushAdmission pushes = PushAdmission.UNLIMITED;
    /** The other members of the last document pushed while holding none: asked at every poll until one is taken. */
    private final AtomicReference<Set<URI>> offeredMembers = new AtomicReference<>(Set.of());
    private final AtomicReference<Pending> firstOffer = new AtomicReference<>();

    /**
     * @param held the document in force at start (see {@link #loadPersisted}), if any
     * @param probe checks a member a document adds ({@link MemberProbe#probe})
     * @param bootstrap where to ask for the document besides the members of the one held: the seed member, and the
     *     statically configured peers
     */
    public FederationMembership(String selfName, TrustDomain selfTrustDomain, RootsSource roots, MembershipStore store,
            Optional<SignedMembership> held, Function<Member, CompletableFuture<MemberCheck>> probe,
            MembershipGossip gossip, Supplier<Set<URI>> bootstrap, Duration pollInterval, Duration probeTimeout) {
        this.selfName = selfName;
        this.selfTrustDomain = selfTrustDomain;
        this.roots = roots;
        this.store = store;
        this.probe = probe;
        this.gossip = gossip;
        this.bootstrap = bootstrap;
        this.pollInterval = pollInterval;
        this.probeTimeout = probeTimeout;
        held.ifPresent(current::set);
        this.worker = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
                .name("isthmus-membership").factory());
    }

    /**
     * The persisted document, verified again under {@code roots} (a root removed since it was written refuses it); an
     * unusable file is logged and ignored: the gateway then starts from its static peers and the seed.
     */
    public static Optional<SignedMembership> loadPersisted(MembershipStore store, RootsSource roots) {
        try {
            Optional<String> text = store.load();
            if (text.isEmpty()) {
                return Optional.empty();
            }
            MembershipVerdict v = new MembershipVerifier().verify(text.get(), roots.roots(), OptionalLong.empty());
            if (v instanceof MembershipVerdict.Accepted a) {
                LOG.infof("membership: version %d loaded from %s (%d members)", a.document().version(), store.file(),
                        a.document().membership().members().size());
                return Optional.of(a.document());
            }
            MembershipVerdict.Refused r = (MembershipVerdict.Refused) v;
            LOG.warnf("membership: the persisted document %s is not usable (%s: %s); starting from the configured"
                    + " peers", store.file(), r.reason().code(), r.message());
        } catch (IOException e) {
            LOG.warnf("membership: cannot read %s (%s); starting from the configured peers", store.file(), e);
        }
        return Optional.empty();
    }

    /** Listeners apply a change (on the offering thread, in order); they must not throw. */
    /** Limits pushes per source from now on ({@link PushAdmission}); unlimited until set. */
    public void limitPushes(PushAdmission admission) {
        this.pushes = java.util.Objects.requireNonNull(admission, "admission");
    }

    public void addListener(Consumer<MembershipChange> listener) {
        listeners.add(listener);
    }

    public Optional<SignedMembership> current() {
        return Optional.ofNullable(current.get());
    }

    public String selfName() {
        return selfName;
    }

    /** Starts asking the other members (and the seed) for their document, now and every poll interval. */
    public void start() {
        worker.scheduleWithFixedDelay(this::poll, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Verifies {@code compact}, probes the members it adds, and takes it if all holds: persisted, swapped in, applied
     * by the listeners, pushed on to the other members. Returns the verdict; a refusal changes nothing.
     *
     * @param source who offered it, for the log
     */
    public MembershipVerdict offer(String compact, String source) {
        synchronized (offers) {
            Optional<SignedMembership> held = current();
            MembershipVerdict verdict = verifier.verify(compact, roots.roots(),
                    held.map(h -> OptionalLong.of(h.version())).orElse(OptionalLong.empty()));
            if (verdict instanceof MembershipVerdict.Refused r) {
                logRefusal(r, source, held);
                return r;
            }
            MembershipVerdict.Accepted accepted = (MembershipVerdict.Accepted) verdict;
            Membership next = accepted.document().membership();
            Map<TrustDomain, MemberCheck> checks = probeAdded(held.map(SignedMembership::membership), next);
            verdict = verifier.admit(accepted, held.map(SignedMembership::membership), selfName, selfTrustDomain, checks);
            if (verdict instanceof MembershipVerdict.Refused r) {
                logRefusal(r, source, held);
                return r;
            }
            accepted = (MembershipVerdict.Accepted) verdict;
            accepted.warnings().forEach(w -> LOG.warnf("membership version %d: %s", next.version(), w));
            try {
                store.save(accepted.document());
            } catch (IOException e) {
                LOG.errorf("membership: could not persist version %d to %s (%s); it is in force in memory",
                        next.version(), store.file(), e);
            }
            current.set(accepted.document());
            MembershipChange change = new MembershipChange(held, accepted.document(), selfName, checks);
            LOG.infof("membership: version %d taken (from %s): members %s%s", next.version(), source,
                    next.members().stream().map(Member::name).toList(),
                    change.selfIsMember() ? "" : "; this cluster (" + selfName + ") is not a member: it federates"
                            + " with nobody");
            for (Consumer<MembershipChange> l : listeners) {
                try {
                    l.accept(change);
                } catch (RuntimeException e) {
                    LOG.errorf(e, "membership: applying version %d failed in %s", next.version(), l);
                }
            }
            pushAll(change);
            return accepted;
        }
    }

    private void logRefusal(MembershipVerdict.Refused r, String source, Optional<SignedMembership> held) {
        String holding = held.map(h -> "version " + h.version()).orElse("no document");
        if (r.reason() == MembershipRefusal.VERSION_NOT_NEWER) {
            LOG.debugf("membership: a document from %s is not newer than %s", source, holding);
        } else {
            LOG.warnf("membership: refused a document from %s (%s): %s; still holding %s", source, r.reason().code(),
                    r.message(), holding);
        }
    }

    private Map<TrustDomain, MemberCheck> probeAdded(Optional<Membership> held, Membership next) {
        Map<TrustDomain, CompletableFuture<MemberCheck>> asks = new LinkedHashMap<>();
        for (Member m : MembershipVerifier.added(held, next)) {
            if (!m.trustDomain().equals(selfTrustDomain)) {
                asks.put(m.trustDomain(), probe.apply(m));
            }
        }
        Map<TrustDomain, MemberCheck> out = new LinkedHashMap<>();
        asks.forEach((td, ask) -> out.put(td, ask.completeOnTimeout(new MemberCheck.Unreachable("no answer within "
                + probeTimeout), probeTimeout.toMillis(), TimeUnit.MILLISECONDS).exceptionally(t ->
                        new MemberCheck.Unreachable(String.valueOf(t.getMessage()))).join()));
        return out;
    }

    /** Pushes the document just taken to every member of the old and the new version but this one. */
    private void pushAll(MembershipChange change) {
        Set<URI> targets = new LinkedHashSet<>();
        change.previous().ifPresent(p -> p.membership().members().forEach(m -> addTarget(targets, m)));
        change.next().membership().members().forEach(m -> addTarget(targets, m));
        for (URI target : targets) {
            gossip.push(target, change.next().compact()).whenComplete((response, failure) -> {
                if (failure != null) {
                    LOG.infof("membership: could not push version %d to %s (%s); it will ask for it", change.next()
                            .version(), target, failure.getMessage());
                } else if (response.statusCode() >= 300 && response.statusCode() != 409) {
                    LOG.infof("membership: %s answered HTTP %d to version %d", target, response.statusCode(),
                            change.next().version());
                }
            });
        }
    }

    private void addTarget(Set<URI> targets, Member m) {
        if (!m.name().equals(selfName)) {
            targets.add(m.bundleEndpoint());
        }
    }

    private void poll() {
        try {
            Set<URI> targets = new LinkedHashSet<>();
            current().ifPresent(c -> c.membership().members().forEach(m -> addTarget(targets, m)));
            targets.addAll(bootstrap.get());
            if (current().isEmpty()) {
                targets.addAll(offeredMembers.get());
                first(Optional.empty(), targets, "a poll");
                return;
            }
            for (URI target : targets) {
                gossip.fetch(target).whenCompleteAsync((doc, failure) -> {
                    if (failure != null) {
                        LOG.debugf("membership: asking %s failed: %s", target, failure.getMessage());
                    } else if (doc.isPresent() && newer(doc.get())) {
                        offer(doc.get(), "the document held at " + target);
                    }
                }, worker);
            }
        } catch (RuntimeException e) {
            LOG.warnf("membership: polling the other members failed: %s", e.toString());
        }
    }

    /** A document pushed while this gateway held none, waiting for {@link #checkFirstOffer}. */
    private record Pending(SignedMembership document, String source) {
    }

    private void checkFirstOffer() {
        Pending p = firstOffer.getAndSet(null);
        if (p == null) {
            return;
        }
        if (current().isPresent()) {
            offer(p.document().compact(), p.source());
            return;
        }
        Set<URI> listed = new LinkedHashSet<>();
        p.document().membership().members().forEach(m -> addTarget(listed, m));
        offeredMembers.set(Set.copyOf(listed));
        Set<URI> targets = new LinkedHashSet<>(listed);
        targets.addAll(bootstrap.get());
        first(Optional.of(p.document()), targets, p.source());
    }

    /**
     * Asks the member at {@code target} which document it holds, and verifies it here: the document it serves, that it
     * holds none, or why it told nothing usable (no answer within {@code within}, a failure, a document refused here).
     * Never completes exceptionally.
     */
    private CompletableFuture<FirstDocument.Answer> ask(URI target, Duration within) {
        return gossip.fetch(target).<FirstDocument.Answer>thenApply(doc -> {
            if (doc.isEmpty()) {
                return new FirstDocument.HoldsNone(target);
            }
            MembershipVerdict v = verifier.verify(doc.get(), roots.roots(), OptionalLong.empty());
            return v instanceof MembershipVerdict.Accepted a ? new FirstDocument.Serves(target, a.document())
                    : new FirstDocument.Silent(target, "holds a document refused here: "
                            + ((MembershipVerdict.Refused) v).reason().code());
        }).exceptionally(t -> new FirstDocument.Silent(target, Printable.escape( // may quote the answer's bytes
                t.getCause() != null ? t.getCause().getMessage() : t.getMessage())))
                .completeOnTimeout(new FirstDocument.Silent(target, "no answer within " + within), within.toMillis(),
                        TimeUnit.MILLISECONDS);
    }

    /**
     * Holding no document, asks every one of {@code targets} what it holds and takes what {@link FirstDocument} chooses
     * (on the worker; waits at most the probe timeout for the answers).
     */
    private void first(Optional<SignedMembership> offered, Set<URI> targets, String source) {
        List<CompletableFuture<FirstDocument.Answer>> asks = new ArrayList<>();
        for (URI target : targets) {
            asks.add(ask(target, probeTimeout));
        }
        List<FirstDocument.Answer> answers = asks.stream().map(CompletableFuture::join).toList();
        switch (FirstDocument.choose(offered, answers)) {
            case FirstDocument.Take t -> {
                if (offered.isPresent() && t.document().version() != offered.get().version()) {
                    LOG.warnf("membership: %s offered version %d while this gateway held none, but %s; taking"
                            + " version %d", source, offered.get().version(), t.why(), t.document().version());
                }
                offer(t.document().compact(), offered.isPresent() && t.document() == offered.get() ? source
                        : t.why());
            }
            case FirstDocument.TakeNothing n -> {
                if (offered.isPresent()) {
                    LOG.warnf("membership: did not take version %d from %s: %s", offered.get().version(), source,
                            n.why());
                } else {
                    LOG.debugf("membership: %s", n.why());
                }
            }
        }
    }

    /** Cheap check before the work of an offer: signed by a root, newer than held. */
    private boolean newer(String compact) {
        MembershipVerdict v = verifier.verify(compact, roots.roots(),
                current().map(h -> OptionalLong.of(h.version())).orElse(OptionalLong.empty()));
        return v instanceof MembershipVerdict.Accepted;
    }

    /** Asks every member of the document held for the version it holds, in parallel, waiting at most {@code timeout}. */
    public List<MemberVersion> status(Duration timeout) {
        Optional<SignedMembership> held = current();
        if (held.isEmpty()) {
            return List.of();
        }
        List<CompletableFuture<MemberVersion>> asks = new ArrayList<>();
        for (Member m : held.get().membership().members()) {
            if (m.name().equals(selfName)) {
                asks.add(CompletableFuture.completedFuture(new MemberVersion(m.name(), m.trustDomain(),
                        OptionalLong.of(held.get().version()), Optional.empty())));
                continue;
            }
            asks.add(ask(m.bundleEndpoint(), timeout).thenApply(answer -> switch (answer) {
                case FirstDocument.Serves s -> new MemberVersion(m.name(), m.trustDomain(),
                        OptionalLong.of(s.document().version()), Optional.empty());
                case FirstDocument.HoldsNone none -> new MemberVersion(m.name(), m.trustDomain(), OptionalLong.empty(),
                        Optional.of("holds none"));
                case FirstDocument.Silent silent -> new MemberVersion(m.name(), m.trustDomain(), OptionalLong.empty(),
                        Optional.of(silent.why()));
            }));
        }
        return asks.stream().map(CompletableFuture::join).toList();
    }

    /**
     * {@code GET /v1/membership}: the document held (404 when none). {@code POST}: offer one. The answer comes once
     * the document is verified ({@code 409} with the reason when refused, {@code 202} when it is newer and being
     * taken; {@code 429} with {@code Retry-After}, never parsed or verified, when its source is over the {@link PushAdmission} limit); taking it (probes, applying) runs on this component's own thread, so that offers never hold the bundle
     * endpoint's few threads.
     */
    @Override
    public EndpointAnswer answer(EndpointRequest request) {
        return switch (request.method()) {
            case "GET" -> current().map(held -> new EndpointAnswer(200, MembershipGossip.CONTENT_TYPE, Map.of(),
                    held.compact())).orElseGet(() -> EndpointAnswer.json(404, "{\"error\":\"no-membership\","
                            + "\"detail\":\"this gateway holds no membership document\"}"));
            case "POST" -> offered(request);
            default -> EndpointAnswer.json(405, "{\"error\":\"method-not-allowed\",\"detail\":\"use GET or POST\"}")
                    .withHeader("Allow", "GET, POST");
        };
    }

    private EndpointAnswer offered(EndpointRequest request) {
        byte[] bytes = request.body();
        String body = new String(bytes, 0, Math.min(bytes.length, MembershipVerifier.MAX_BYTES + 1),
                StandardCharsets.UTF_8);
        String from = request.clientAddress();
        if (pushes.admit(from) instanceof PushAdmission.Limited l) {
            return EndpointAnswer.json(429, "{\"error\":\"rate-limited\",\"detail\":" + quote(l.detail()) + "}")
                    .withHeader("Retry-After", Long.toString(Math.max(1, l.retryAfter().toSeconds() + 1)));
        }
        String source = "a push from " + from;
        MembershipVerdict v = verifier.verify(body, roots.roots(),
                current().map(h -> OptionalLong.of(h.version())).orElse(OptionalLong.empty()));
        if (v instanceof MembershipVerdict.Refused r) {
            return EndpointAnswer.json(409, "{\"error\":\"" + r.reason().code() + "\",\"detail\":"
                    + quote(r.message()) + "}");
        }
        SignedMembership pushed = ((MembershipVerdict.Accepted) v).document();
        boolean first = current().isEmpty();
        try {
            if (first) {
                // Holding none, this gateway cannot tell an old document replayed from the current one: it asks the
                // members the document lists, the seed and the configured peers first (FirstDocument). One check
                // runs at a time, for the newest document offered meanwhile, so pushes cannot queue up work.
                Pending before = firstOffer.getAndAccumulate(new Pending(pushed, source),
                        (p, q) -> p == null || q.document().version() > p.document().version() ? q : p);
                if (before == null) {
                    worker.execute(this::checkFirstOffer);
                }
            } else {
                worker.execute(() -> offer(body, source));
            }
        } catch (RejectedExecutionException stopping) {
            firstOffer.set(null);
            return EndpointAnswer.json(503, "{\"error\":\"stopping\",\"detail\":\"this gateway is stopping; offer the "
                    + "document to another member, or again once this one is back\"}").withHeader("Retry-After", "30");
        }
        return EndpointAnswer.json(202, "{\"version\":" + pushed.version() + ",\"result\":\""
                + (first ? "checking" : "taking") + "\"}");
    }

    private static String quote(String s) {
        return com.fasterxml.jackson.databind.node.TextNode.valueOf(s).toString();
    }

    /**
     * Takes no more offers (a push then gets 503), and gives the one being taken {@link #STOP_GRACE} to finish before
     * it is interrupted.
     */
    @Override
    public void close() {
        Workers.stop(worker, STOP_GRACE);
    }
}

package io.isthmus.gateway.authz;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.proxy.authz.policy.PolicyParser;
import io.isthmus.proxy.authz.policy.PolicyViolation;
import io.isthmus.proxy.authz.policy.source.PolicyStore;
import io.isthmus.proxy.authz.policy.source.ReloadStatus;

/**
 * Feeds the {@code kubernetes} source of the {@link PolicyStore} from {@code AuthorizationPolicy} custom resources
 * ({@code authorizationpolicies.security.isthmus.io/v1alpha1}) in every namespace, through a fabric8 informer.
 *
 * <p>Every change (add, update, delete, relist) re-validates the informer's whole cache on one worker thread and
 * publishes the valid policies as one set, so a decision never sees half of a change. An invalid resource is left
 * out, logged with its field paths and reported on the resource's {@code status} ({@code accepted: false},
 * {@code reason}); the others stay in force. Until the first list completes the source contributes nothing.
 */
public final class PolicyCrdSource implements AutoCloseable {
    public static final String SOURCE = "kubernetes";
    public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
            .withGroup("security.isthmus.io").withVersion("v1alpha1").withKind(AuthorizationPolicy.KIND)
            .withPlural("authorizationpolicies").withNamespaced(true).build();
    private static final Logger LOG = Logger.getLogger(PolicyCrdSource.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KubernetesClient client;
    private final PolicyStore store;
    private final Clock clock;
    private final Consumer<ReloadStatus> listener;
    private final boolean writeStatus;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "isthmus-authz-crd");
        t.setDaemon(true);
        return t;
    });
    private volatile SharedIndexInformer<GenericKubernetesResource> informer;
    private volatile ReloadStatus status = ReloadStatus.initial(SOURCE);
    private volatile Map<String, List<PolicyViolation>> rejected = Map.of();
    private final Map<String, String> reportedStatus = new HashMap<>();

    /**
     * @param writeStatus whether to record acceptance on each resource's status subresource
     * @param listener    called on the worker thread after each recomputation
     */
    public PolicyCrdSource(KubernetesClient client, PolicyStore store, Clock clock, boolean writeStatus,
            Consumer<ReloadStatus> listener) {
        this.client = Objects.requireNonNull(client, "client");
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.writeStatus = writeStatus;
    }

    /** Starts watching; returns at once (the first list happens in the background). */
    public synchronized void start() {
        if (informer != null) {
            return;
        }
        SharedIndexInformer<GenericKubernetesResource> inf = client.genericKubernetesResources(CONTEXT)
                .inAnyNamespace().runnableInformer(TimeUnit.MINUTES.toMillis(10));
        inf.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(GenericKubernetesResource obj) {
                changed();
            }

            @Override
            public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
                changed();
            }

            @Override
            public void onDelete(GenericKubernetesResource obj, boolean deletedFinalStateUnknown) {
                changed();
            }
        });
        // Keep retrying when the API server is unreachable or the CRD is missing, instead of giving up for good.
        inf.exceptionHandler((started, t) -> {
            LOG.errorf("AuthorizationPolicy informer: %s (is the CRD installed, and may the gateway list/watch "
                    + "authorizationpolicies.security.isthmus.io?); retrying", t.toString());
            return true;
        });
        informer = inf;
        // Does not block startup; the first list (even an empty one) publishes the source once.
        inf.start().whenComplete((v, t) -> {
            if (t == null) {
                changed();
            }
        });
    }

    public ReloadStatus status() {
        return status;
    }

    /** Resources currently refused, by {@code namespace/name}, with why. */
    public Map<String, List<PolicyViolation>> rejected() {
        return rejected;
    }

    private void changed() {
        try {
            worker.execute(this::recompute);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    private void recompute() {
        SharedIndexInformer<GenericKubernetesResource> inf = informer;
        if (inf == null) {
            return;
        }
        List<AuthorizationPolicy> valid = new ArrayList<>();
        Map<String, List<PolicyViolation>> refused = new LinkedHashMap<>();
        List<GenericKubernetesResource> resources = new ArrayList<>(inf.getStore().list());
        resources.sort((a, b) -> key(a).compareTo(key(b)));
        for (GenericKubernetesResource r : resources) {
            String key = key(r);
            try {
                valid.add(toPolicy(r));
                report(r, true, "");
            } catch (InvalidPolicyException e) {
                refused.put(key, e.violations());
                String why = e.violations().stream().map(PolicyViolation::toString).collect(Collectors.joining("; "));
                if (!why.equals(reportedStatus.get(key + "#log"))) {
                    LOG.errorf("AuthorizationPolicy %s refused, left out of the policy set: %s", key, why);
                    reportedStatus.put(key + "#log", why);
                }
                report(r, false, why);
            } catch (RuntimeException e) {
                refused.put(key, List.of(new PolicyViolation("(resource)", "could not be read: " + e)));
                LOG.errorf(e, "AuthorizationPolicy %s could not be read", key);
            }
        }
        store.update(SOURCE, valid);
        rejected = Map.copyOf(refused);
        List<PolicyViolation> errors = refused.entrySet().stream()
                .flatMap(en -> en.getValue().stream().map(v -> new PolicyViolation(en.getKey() + " " + v.path(),
                        v.message())))
                .toList();
        ReloadStatus s = status.succeededWith(valid.size(), clock.instant(), errors);
        status = s;
        reportedStatus.keySet().removeIf(k -> resources.stream().noneMatch(r -> k.startsWith(key(r) + "#")));
        listener.accept(s);
    }

    /**
     * The policy a custom resource describes, validated as a policy document. What the API server hands over is
     * outside input (anyone allowed to create the resource writes it): the only exception is
     * {@link InvalidPolicyException}.
     */
    static AuthorizationPolicy toPolicy(GenericKubernetesResource r) {
        JsonNode doc = JSON.valueToTree(r);
        return PolicyParser.parse(doc, "crd:" + key(r));
    }

    /** {@code namespace/name}; {@code ?} for what the resource leaves out (it is then refused by the parser). */
    private static String key(GenericKubernetesResource r) {
        if (r.getMetadata() == null) {
            return "?/?";
        }
        return Objects.requireNonNullElse(r.getMetadata().getNamespace(), "?") + "/"
                + Objects.requireNonNullElse(r.getMetadata().getName(), "?");
    }

    /** Writes {@code status.accepted}/{@code status.reason} when they differ from what the resource shows. */
    private void report(GenericKubernetesResource r, boolean accepted, String reason) {
        if (!writeStatus) {
            return;
        }
        Long generation = r.getMetadata().getGeneration();
        Object current = r.getAdditionalProperties().get("status");
        if (current instanceof Map<?, ?> m && Objects.equals(m.get("accepted"), accepted)
                && Objects.equals(m.get("reason"), reason)
                && Objects.equals(asLong(m.get("observedGeneration")), generation)) {
            return;
        }
        String marker = accepted + "|" + reason + "|" + generation + "|" + r.getMetadata().getResourceVersion();
        String key = key(r) + "#status";
        if (marker.equals(reportedStatus.get(key))) {
            return;
        }
        reportedStatus.put(key, marker);
        Map<String, Object> st = new LinkedHashMap<>();
        st.put("accepted", accepted);
        st.put("reason", reason);
        if (generation != null) {
            st.put("observedGeneration", generation);
        }
        try {
            // A patch of the status stanza only: it never reverts a spec change made since this version was read.
            client.genericKubernetesResources(CONTEXT).inNamespace(r.getMetadata().getNamespace()).resource(r)
                    .editStatus(latest -> {
                        GenericKubernetesResource copy = JSON.convertValue(latest, GenericKubernetesResource.class);
                        copy.setAdditionalProperty("status", st);
                        return copy;
                    });
        } catch (KubernetesClientException e) {
            // A conflict means a newer version is on its way through the informer; it will be reported then.
            LOG.debugf("AuthorizationPolicy %s: status not written (HTTP %d): %s", key(r), e.getCode(),
                    e.getMessage());
        }
    }

    private static Long asLong(Object o) {
        return o instanceof Number n ? n.longValue() : null;
    }

    @Override
    public synchronized void close() {
        if (informer != null) {
            informer.close();
            informer = null;
        }
        worker.shutdownNow();
    }
}

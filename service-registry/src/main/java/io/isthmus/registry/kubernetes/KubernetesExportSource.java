package io.isthmus.registry.kubernetes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.PortProtocols;
import io.isthmus.registry.Registry;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.ServiceKey;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Feeds the registry from Kubernetes: a service is exported while a {@code ServiceExport} of the same name and
 * namespace exists and its {@code Service} exists; its ports come from the Service ({@code appProtocol}, else the
 * port name's prefix) and its ready endpoint count from the Service's {@code EndpointSlice}s. Deleting the
 * ServiceExport (or the Service) unexports it.
 *
 * <p>Informer callbacks only enqueue the affected {@code namespace/name}; one worker thread reconciles it against
 * the informers' caches, so events of the three kinds can arrive in any order. On start, once the caches are
 * synced, entries this cluster owns that have no ServiceExport any more (removed while the gateway was down) are
 * unexported.
 */
public final class KubernetesExportSource implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KubernetesExportSource.class);

    private final KubernetesClient client;
    private final Registry registry;
    private final SerialWorker worker = new SerialWorker("isthmus-k8s-exports", LOG);
    private SharedIndexInformer<GenericKubernetesResource> exports;
    private SharedIndexInformer<Service> services;
    private SharedIndexInformer<EndpointSlice> slices;

    public KubernetesExportSource(KubernetesClient client, Registry registry) {
        this.client = client;
        this.registry = registry;
    }

    /** Starts the informers, waits for their first list, then reconciles everything. */
    public void start() {
        exports = client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inAnyNamespace()
                .inform(handler(o -> enqueue(o.getMetadata().getNamespace(), o.getMetadata().getName())), 0);
        services = client.services().inAnyNamespace()
                .inform(handler(o -> enqueue(o.getMetadata().getNamespace(), o.getMetadata().getName())), 0);
        slices = client.discovery().v1().endpointSlices().inAnyNamespace().inform(handler(o -> {
            Map<String, String> labels = o.getMetadata().getLabels();
            String svc = labels == null ? null : labels.get(McsResources.SERVICE_NAME_LABEL);
            if (svc != null) {
                enqueue(o.getMetadata().getNamespace(), svc);
            }
        }), 0);
        try {
            exports.start().toCompletableFuture().get(30, TimeUnit.SECONDS);
            services.start().toCompletableFuture().get(30, TimeUnit.SECONDS);
            slices.start().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the Kubernetes informers for ServiceExport, Service and EndpointSlice did not "
                    + "sync within 30 s; check the API server and the gateway's RBAC (list/watch on these kinds): " + e, e);
        }
        synced = true;
        worker.submit("reconciling every ServiceExport", "each is retried on the next change of its objects",
                this::reconcileAll);
    }

    /**
     * Whether the three informers are running and synced. Their first events arrive while the others are still being
     * created; those are left to the full reconciliation that follows the sync, which sees every object anyway.
     */
    private volatile boolean synced;

    private <T extends HasMetadata> ResourceEventHandler<T> handler(java.util.function.Consumer<T> onChange) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                onChange.accept(obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                onChange.accept(newObj);
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                onChange.accept(obj);
            }
        };
    }

    private void enqueue(String namespace, String name) {
        if (!synced) {
            return;
        }
        worker.submit("reconciling export " + namespace + "/" + name, "it is retried on the next change of its objects",
                () -> reconcile(namespace, name));
    }

    /** The startup sweep: unexport orphans, then reconcile every ServiceExport. */
    void reconcileAll() {
        Set<String> wanted = new HashSet<>();
        for (GenericKubernetesResource e : exports.getStore().list()) {
            wanted.add(e.getMetadata().getNamespace() + "/" + e.getMetadata().getName());
        }
        for (var own : registry.list(RegistryQuery.cluster(registry.cluster()))) {
            if (!wanted.contains(own.key().namespace() + "/" + own.key().name()) && isKubernetesManaged(own.key())) {
                LOG.infof("unexporting %s: its ServiceExport is gone (removed while this gateway was down?)", own.key());
                registry.unexport(own.key());
            }
        }
        for (String key : wanted) {
            String[] nn = key.split("/", 2);
            reconcile(nn[0], nn[1]);
        }
    }

    /** Static exports from configuration and other sources' exports have no ServiceExport: leave those alone. */
    private boolean isKubernetesManaged(ServiceKey key) {
        return !staticKeys.contains(key) && otherSources.stream().noneMatch(owned -> owned.test(key));
    }

    private final Set<ServiceKey> staticKeys = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<java.util.function.Predicate<ServiceKey>> otherSources =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Keys exported from configuration, which the startup sweep must not remove. */
    public void keepStatic(ServiceKey key) {
        staticKeys.add(key);
    }

    /**
     * Another source of this cluster's exports (e.g. services registered by VMs): keys it owns are neither swept at
     * start nor unexported when a Service of the same name changes without a ServiceExport. Asked at each decision.
     */
    public void keep(java.util.function.Predicate<ServiceKey> ownedByAnotherSource) {
        otherSources.add(ownedByAnotherSource);
    }

    void reconcile(String namespace, String name) {
        ServiceKey key = new ServiceKey(registry.cluster(), namespace, name);
        GenericKubernetesResource export = exports.getStore().getByKey(namespace + "/" + name);
        Service service = services.getStore().getByKey(namespace + "/" + name);
        if (export == null || service == null || export.getMetadata().getDeletionTimestamp() != null) {
            if (registry.get(key).isPresent() && isKubernetesManaged(key)) {
                registry.unexport(key);
                LOG.infof("unexported %s (%s)", key, export == null ? "no ServiceExport" : "no Service");
            }
            return;
        }
        List<io.isthmus.registry.ServicePort> ports = new ArrayList<>();
        if (service.getSpec() != null && service.getSpec().getPorts() != null) {
            for (ServicePort p : service.getSpec().getPorts()) {
                String portName = p.getName() == null ? "port-" + p.getPort() : p.getName();
                ports.add(new io.isthmus.registry.ServicePort(portName, p.getPort(),
                        PortProtocols.infer(p.getAppProtocol(), p.getName())));
            }
        }
        int ready = 0;
        for (EndpointSlice slice : slices.getStore().list()) {
            Map<String, String> labels = slice.getMetadata().getLabels();
            if (namespace.equals(slice.getMetadata().getNamespace()) && labels != null
                    && name.equals(labels.get(McsResources.SERVICE_NAME_LABEL)) && slice.getEndpoints() != null) {
                for (Endpoint ep : slice.getEndpoints()) {
                    // Per the EndpointSlice API, a missing "ready" condition means ready.
                    boolean isReady = ep.getConditions() == null || ep.getConditions().getReady() == null
                            || ep.getConditions().getReady();
                    if (isReady) {
                        ready++;
                    }
                }
            }
        }
        List<SpiffeId> ids = new ArrayList<>();
        Map<String, String> annotations = export.getMetadata().getAnnotations();
        String idList = annotations == null ? null : annotations.get(McsResources.IDENTITIES_ANNOTATION);
        if (idList != null && !idList.isBlank()) {
            Arrays.stream(idList.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(SpiffeId::parse).forEach(ids::add);
        }
        var result = registry.export(new ExportSpec(key, ports, ids, ready));
        LOG.debugf("exported %s revision %d, %d ready", key, result.revision(), ready);
    }

    /**
     * Stops the worker first (a reconciliation in progress has {@link SerialWorker#STOP_GRACE} to finish), then the
     * informers.
     */
    @Override
    public void close() {
        worker.close();
        for (SharedIndexInformer<?> i : new SharedIndexInformer<?>[] {exports, services, slices}) {
            if (i != null) {
                i.close();
            }
        }
    }
}

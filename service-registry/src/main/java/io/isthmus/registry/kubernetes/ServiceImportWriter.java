package io.isthmus.registry.kubernetes;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Registry;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.ServicePort;

/**
 * Mirrors other clusters' exports into the local cluster as {@code ServiceImport} objects (one per namespace/name
 * exported by at least one other cluster), and deletes them when no other cluster exports the service any more.
 * Only ServiceImports labelled {@code app.kubernetes.io/managed-by=isthmus} are touched. Registry events are
 * handed to one worker thread (the listener must not block); on start, orphans left from before are deleted.
 */
public final class ServiceImportWriter implements RegistryListener, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ServiceImportWriter.class);

    private final KubernetesClient client;
    private final Registry registry;
    private final SerialWorker worker = new SerialWorker("isthmus-k8s-imports", LOG);

    public ServiceImportWriter(KubernetesClient client, Registry registry) {
        this.client = client;
        this.registry = registry;
    }

    public void start() {
        registry.addListener(this);
        worker.submit("writing the ServiceImports of other clusters' exports", "retried on the next registry change "
                + "of each", this::syncAll);
    }

    @Override
    public void exported(ExportedService current, ExportedService previous) {
        if (!current.key().cluster().equals(registry.cluster())
                && (previous == null || !previous.ports().equals(current.ports()))) {
            submit(current.key().namespace(), current.key().name());
        }
    }

    @Override
    public void unexported(ExportedService previous) {
        if (!previous.key().cluster().equals(registry.cluster())) {
            submit(previous.key().namespace(), previous.key().name());
        }
    }

    private void submit(String namespace, String name) {
        worker.submit("writing ServiceImport " + namespace + "/" + name, "retried on the next registry change",
                () -> sync(namespace, name));
    }

    void syncAll() {
        Set<String> wanted = new HashSet<>();
        for (ExportedService e : registry.list(RegistryQuery.ALL)) {
            if (!e.key().cluster().equals(registry.cluster())) {
                wanted.add(e.key().namespace() + "/" + e.key().name());
            }
        }
        for (GenericKubernetesResource existing : client.genericKubernetesResources(McsResources.SERVICE_IMPORT).inAnyNamespace()
                .withLabel(McsResources.MANAGED_BY, McsResources.MANAGER).list().getItems()) {
            String key = existing.getMetadata().getNamespace() + "/" + existing.getMetadata().getName();
            if (!wanted.contains(key)) {
                LOG.infof("deleting orphaned ServiceImport %s", key);
                client.genericKubernetesResources(McsResources.SERVICE_IMPORT).inNamespace(existing.getMetadata().getNamespace())
                        .withName(existing.getMetadata().getName()).delete();
            }
        }
        for (String key : wanted) {
            String[] nn = key.split("/", 2);
            sync(nn[0], nn[1]);
        }
    }

    void sync(String namespace, String name) {
        List<ExportedService> remote = registry.exportsOf(new MeshName(name, namespace, registry.meshSuffix())).stream()
                .filter(e -> !e.key().cluster().equals(registry.cluster())).toList();
        var resource = client.genericKubernetesResources(McsResources.SERVICE_IMPORT).inNamespace(namespace).withName(name);
        if (remote.isEmpty()) {
            GenericKubernetesResource existing = resource.get();
            if (existing != null && McsResources.MANAGER.equals(labels(existing).get(McsResources.MANAGED_BY))) {
                resource.delete();
                LOG.infof("deleted ServiceImport %s/%s: no other cluster exports it", namespace, name);
            }
            return;
        }
        Map<String, Map<String, Object>> ports = new LinkedHashMap<>();
        Set<String> clusters = new TreeSet<>();
        for (ExportedService e : remote) {
            clusters.add(e.key().cluster());
            for (ServicePort p : e.ports()) {
                Map<String, Object> port = new LinkedHashMap<>();
                port.put("name", p.name());
                port.put("port", p.port());
                port.put("protocol", "TCP");
                port.put("appProtocol", p.protocol().name().toLowerCase(java.util.Locale.ROOT));
                ports.putIfAbsent(p.name() + ":" + p.port(), port);
            }
        }
        List<Map<String, Object>> statusClusters = new ArrayList<>();
        clusters.forEach(c -> statusClusters.add(Map.of("cluster", c)));
        GenericKubernetesResource si = new GenericKubernetesResourceBuilder()
                .withApiVersion(McsResources.API_VERSION).withKind("ServiceImport")
                .withNewMetadata().withNamespace(namespace).withName(name)
                .addToLabels(McsResources.MANAGED_BY, McsResources.MANAGER)
                .addToAnnotations(McsResources.CLUSTERS_ANNOTATION, String.join(",", clusters))
                .endMetadata()
                .addToAdditionalProperties("spec", Map.of("type", "ClusterSetIP", "ports", new ArrayList<>(ports.values())))
                .build();
        GenericKubernetesResource written = client.genericKubernetesResources(McsResources.SERVICE_IMPORT)
                .inNamespace(namespace).resource(si).createOr(NonDeletingOperation::update);
        // The ServiceImport CRD (upstream mcs-api, and ours) has a status subresource: the API server ignores status
        // in a create or update of the object, so it is written through /status, unconditionally (no resourceVersion):
        // every replica writes the same value, so a conflict between them would only be noise.
        written.setAdditionalProperty("status", Map.of("clusters", statusClusters));
        written.getMetadata().setResourceVersion(null);
        client.genericKubernetesResources(McsResources.SERVICE_IMPORT).inNamespace(namespace).resource(written)
                .updateStatus();
    }

    private static Map<String, String> labels(GenericKubernetesResource r) {
        Map<String, String> l = r.getMetadata().getLabels();
        return l == null ? Map.of() : l;
    }

    /** Stops listening; a write in progress has {@link SerialWorker#STOP_GRACE} to finish. */
    @Override
    public void close() {
        registry.removeListener(this);
        worker.close();
    }
}

package io.isthmus.integration.support;

import java.io.IOException;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.isthmus.registry.kubernetes.McsResources;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * A cluster's Kubernetes API for a gateway process: the fabric8 mock API server in CRUD mode (real HTTP, real
 * watches), with the calls a platform team makes to export a service the MCS way.
 */
public final class MockKubernetes implements AutoCloseable {
    private final KubernetesMockServer server;
    private final KubernetesClient client;

    private MockKubernetes(KubernetesMockServer server) {
        this.server = server;
        this.client = server.createClient();
    }

    public static MockKubernetes start(String host) throws IOException {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getByName(host), 0);
        return new MockKubernetes(server);
    }

    /** The gateway's keys to use this API server and the registry's Kubernetes source. */
    public Map<String, String> gatewayProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("isthmus.registry.kubernetes.enabled", "true");
        p.put("quarkus.kubernetes-client.api-server-url", "http://" + server.getHostName() + ":" + server.getPort());
        p.put("quarkus.kubernetes-client.namespace", "default");
        p.put("quarkus.kubernetes-client.trust-certs", "true");
        return p;
    }

    public KubernetesClient client() {
        return client;
    }

    /** Service + EndpointSlice with {@code ready} ready endpoints + ServiceExport naming the serving identity. */
    public void export(String namespace, String name, int port, int ready, String identity) {
        client.services().inNamespace(namespace).resource(new ServiceBuilder().withNewMetadata().withNamespace(namespace)
                .withName(name).endMetadata().withNewSpec().addNewPort().withName("http").withPort(port)
                .withProtocol("TCP").endPort().endSpec().build()).createOr(op -> op.update());
        setReadyEndpoints(namespace, name, ready);
        GenericKubernetesResource export = new GenericKubernetesResourceBuilder().withApiVersion(McsResources.API_VERSION)
                .withKind("ServiceExport").withNewMetadata().withNamespace(namespace).withName(name)
                .addToAnnotations(McsResources.IDENTITIES_ANNOTATION, identity).endMetadata().build();
        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace(namespace).resource(export)
                .createOr(op -> op.update());
    }

    public void setReadyEndpoints(String namespace, String name, int ready) {
        EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withNamespace(namespace)
                .withName(name + "-slice").addToLabels(McsResources.SERVICE_NAME_LABEL, name).endMetadata()
                .withAddressType("IPv4");
        for (int i = 0; i < Math.max(ready, 1); i++) {
            b.addNewEndpoint().withAddresses("10.1.0." + (i + 1)).withNewConditions().withReady(i < ready).endConditions()
                    .endEndpoint();
        }
        client.discovery().v1().endpointSlices().inNamespace(namespace).resource(b.build()).createOr(op -> op.update());
    }

    public void unexport(String namespace, String name) {
        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace(namespace).withName(name).delete();
    }

    /** The ServiceImport the gateway wrote for a service other clusters export, or null. */
    public GenericKubernetesResource serviceImport(String namespace, String name) {
        return client.genericKubernetesResources(McsResources.SERVICE_IMPORT).inNamespace(namespace).withName(name).get();
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}

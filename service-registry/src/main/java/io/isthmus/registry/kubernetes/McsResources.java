package io.isthmus.registry.kubernetes;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/** The Kubernetes Multi-Cluster Services API kinds Isthmus reads and writes (multicluster.x-k8s.io/v1alpha1). */
public final class McsResources {
    public static final String GROUP = "multicluster.x-k8s.io";
    public static final String VERSION = "v1alpha1";
    public static final String API_VERSION = GROUP + "/" + VERSION;

    public static final ResourceDefinitionContext SERVICE_EXPORT = new ResourceDefinitionContext.Builder()
            .withGroup(GROUP).withVersion(VERSION).withKind("ServiceExport").withPlural("serviceexports")
            .withNamespaced(true).build();

    public static final ResourceDefinitionContext SERVICE_IMPORT = new ResourceDefinitionContext.Builder()
            .withGroup(GROUP).withVersion(VERSION).withKind("ServiceImport").withPlural("serviceimports")
            .withNamespaced(true).build();

    /** Label on every ServiceImport Isthmus writes; only those are ever updated or deleted. */
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String MANAGER = "isthmus";
    /** Annotation on a ServiceImport: the clusters that export the service, comma-separated. */
    public static final String CLUSTERS_ANNOTATION = "isthmus.io/clusters";
    /** Optional annotation on a ServiceExport: the SPIFFE IDs that serve the service, comma-separated. */
    public static final String IDENTITIES_ANNOTATION = "isthmus.io/spiffe-ids";
    /** The label EndpointSlices carry naming their Service. */
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private McsResources() {
    }
}

package io.isthmus.gateway.registry;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.kubernetes.KubernetesExportSource;
import io.isthmus.registry.kubernetes.ServiceImportWriter;
import io.quarkus.runtime.StartupEvent;

/**
 * Runs the Kubernetes source of the registry when {@code isthmus.registry.kubernetes.enabled=true}: exports
 * follow {@code ServiceExport}s, remote exports become {@code ServiceImport}s. The Quarkus Kubernetes client is
 * looked up only then, so a gateway outside Kubernetes never touches it.
 */
@ApplicationScoped
public class KubernetesRegistrySource {
    private static final Logger LOG = Logger.getLogger(KubernetesRegistrySource.class);

    @Inject
    RegistryService registry;

    @Inject
    Instance<KubernetesClient> clients;

    /** Services VMs registered with this gateway: exports the ServiceExport watcher must not remove. */
    @Inject
    Instance<io.isthmus.gateway.agent.VmServiceRegistry> vmServices;

    private KubernetesExportSource exports;
    private ServiceImportWriter imports;

    void start(@Observes StartupEvent start) {
        if (!registry.config().kubernetes().enabled()) {
            LOG.debug("registry: Kubernetes source disabled (isthmus.registry.kubernetes.enabled=false)");
            return;
        }
        KubernetesClient client = clients.get();
        exports = new KubernetesExportSource(client, registry.registry());
        registry.config().staticExports().forEach((name, e) ->
                exports.keepStatic(new ServiceKey(registry.site(), e.namespace(), name)));
        if (vmServices.isResolvable()) {
            exports.keep(vmServices.get()::registered);
        }
        exports.start();
        imports = new ServiceImportWriter(client, registry.registry());
        imports.start();
        LOG.infof("registry: watching ServiceExports at %s", client.getMasterUrl());
    }

    @PreDestroy
    void stop() {
        if (exports != null) {
            exports.close();
        }
        if (imports != null) {
            imports.close();
        }
    }
}

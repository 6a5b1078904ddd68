package io.isthmus.gateway.registry;

import java.util.Optional;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.gateway.config.ConfigException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.kubernetes.ExportLeadership;
import io.isthmus.registry.kubernetes.ExportLeadership.LeaderWork;
import io.isthmus.registry.kubernetes.KubernetesExportSource;
import io.isthmus.registry.kubernetes.ServiceImportWriter;
import io.quarkus.runtime.StartupEvent;

/**
 * Runs the Kubernetes source of the registry when {@code isthmus.registry.kubernetes.enabled=true}: exports
 * follow {@code ServiceExport}s, remote exports become {@code ServiceImport}s. Only the replica holding the
 * cluster's Lease runs it ({@link ExportLeadership}), unless leader election is off. The Quarkus Kubernetes client is
 * looked up only then, so a gateway outside Kubernetes never touches it.
 */
@ApplicationScoped
public class KubernetesRegistrySource {
    private static final Logger LOG = Logger.getLogger(KubernetesRegistrySource.class);

    @Inject
    RegistryService registry;

    @Inject
    Instance<KubernetesClient> clients;

    @Inject
    GatewayConfig gateway;

    /** Services VMs registered with this gateway: exports the ServiceExport watcher must not remove. */
    @Inject
    Instance<io.isthmus.gateway.agent.VmServiceRegistry> vmServices;

    private LeaderWork alone;
    private ExportLeadership leadership;

    void start(@Observes StartupEvent start) {
        RegistryConfig.Kubernetes k8s = registry.config().kubernetes();
        if (!k8s.enabled()) {
            LOG.debug("registry: Kubernetes source disabled (isthmus.registry.kubernetes.enabled=false)");
            return;
        }
        KubernetesClient client = clients.get();
        if (!k8s.leaderElection().enabled()) {
            alone = work(client);
            alone.start();
            LOG.infof("registry: watching ServiceExports at %s (leader election off: run one replica only)",
                    client.getMasterUrl());
            return;
        }
        LeaseIdentity identity = LeaseIdentity.choose(k8s.leaderElection().identity(), KubernetesRegistrySource::env,
                host(), gateway.dataDir());
        leadership = new ExportLeadership(client, leaseSettings(k8s.leaderElection(), client, identity.value()),
                () -> work(client));
        leadership.start();
        LOG.infof("registry: standing for the Lease of the Kubernetes source at %s as '%s' (from %s)",
                client.getMasterUrl(), identity.value(), identity.source().description());
    }

    /** The leader's work: a fresh export source and ServiceImport writer. */
    private LeaderWork work(KubernetesClient client) {
        KubernetesExportSource exports = new KubernetesExportSource(client, registry.registry());
        registry.config().staticExports().forEach((name, e) ->
                exports.keepStatic(new ServiceKey(registry.site(), e.namespace(), name)));
        if (vmServices.isResolvable()) {
            exports.keep(vmServices.get()::registered);
        }
        ServiceImportWriter imports = new ServiceImportWriter(client, registry.registry());
        return LeaderWork.of(() -> {
            exports.start();
            imports.start();
        }, () -> {
            exports.close();
            imports.close();
        });
    }

    static ExportLeadership.Settings leaseSettings(RegistryConfig.LeaderElection c, KubernetesClient client,
            String identity) {
        String namespace = c.namespace().or(() -> env("POD_NAMESPACE")).or(() -> Optional.ofNullable(client.getNamespace()))
                .orElse("isthmus-system");
        try {
            return new ExportLeadership.Settings(namespace, c.leaseName(), identity, c.leaseDuration(), c.renewDeadline(),
                    c.retryPeriod());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.registry.kubernetes.leader-election", e.getMessage());
        }
    }

    private static Optional<String> env(String name) {
        return Optional.ofNullable(System.getenv(name)).map(String::strip).filter(s -> !s.isEmpty());
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }

    /** Whether this replica runs the Kubernetes source now. */
    public boolean leading() {
        return alone != null || (leadership != null && leadership.leading());
    }

    @PreDestroy
    void stop() {
        if (leadership != null) {
            leadership.close();
        }
        if (alone != null) {
            alone.close();
        }
    }
}

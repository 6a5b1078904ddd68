package io.isthmus.gateway.enrolment;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.isthmus.gateway.trust.TrustService;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.tls.TlsConfigurationRegistry;

/**
 * Registers the SVID-backed TLS configuration that {@code quarkus.http.tls-configuration-name=isthmus-enrolment}
 * names. Quarkus opens the HTTP server's sockets after the startup event, so the configuration is in the
 * registry by the time the server looks it up.
 */
@ApplicationScoped
public class EnrolmentTls {

    void register(@Observes StartupEvent event, TlsConfigurationRegistry registry, TrustService trust) {
        registry.register(SvidTlsConfiguration.NAME, new SvidTlsConfiguration(trust.runtime()));
    }
}

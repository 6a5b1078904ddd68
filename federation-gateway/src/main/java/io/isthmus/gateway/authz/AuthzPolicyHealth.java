package io.isthmus.gateway.authz;

import java.util.Map;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

import io.isthmus.proxy.authz.policy.source.ReloadStatus;
import io.smallrye.health.api.HealthGroup;

/**
 * {@code /q/health/group/authz}: DOWN while a policy source's latest load refused something (an invalid policy
 * file, whose previous version stays in force, or invalid custom resources, which are left out), naming each
 * problem. It is a separate group, not readiness: the gateway keeps serving with the policies in force.
 */
@HealthGroup("authz")
@ApplicationScoped
public class AuthzPolicyHealth implements HealthCheck {
    @Inject
    AuthzService authz;

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("isthmus-authz-policies");
        boolean healthy = true;
        for (Map.Entry<String, ReloadStatus> e : authz.statuses().entrySet()) {
            ReloadStatus s = e.getValue();
            b.withData(e.getKey() + ".policies", s.policies());
            if (s.degraded()) {
                healthy = false;
                b.withData(e.getKey() + ".errors", s.lastErrors().stream().map(Object::toString)
                        .collect(Collectors.joining("; ")));
            }
        }
        return b.status(healthy).build();
    }
}

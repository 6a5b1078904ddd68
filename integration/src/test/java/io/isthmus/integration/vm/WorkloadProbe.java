package io.isthmus.integration.vm;

import java.util.stream.Collectors;

import io.grpc.StatusRuntimeException;
import io.isthmus.trust.x509.Pem;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;

/**
 * An unmodified java-spiffe Workload API client in a JVM of its own (run as another user by
 * {@link VmWorkloadAttestationE2ETest}). Prints {@code svids=<ids>} and the first SVID's chain, or
 * {@code svids-error=<gRPC code>: <description>}; then {@code bundles=<trust domains>} or {@code bundles-error=...}.
 */
public final class WorkloadProbe {
    private WorkloadProbe() {
    }

    public static void main(String[] args) throws Exception {
        try (WorkloadApiClient client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath("unix:" + args[0]).build())) {
            try {
                X509Context context = client.fetchX509Context();
                System.out.println("svids=" + context.getX509Svids().stream().map(s -> s.getSpiffeId().toString())
                        .collect(Collectors.joining(",")));
                System.out.print(Pem.write(context.getX509Svids().get(0).getChain().toArray()));
            } catch (Exception e) {
                System.out.println("svids-error=" + status(e));
            }
            try {
                System.out.println("bundles=" + client.fetchX509Bundles().getBundles().keySet().stream()
                        .map(Object::toString).sorted().collect(Collectors.joining(",")));
            } catch (Exception e) {
                System.out.println("bundles-error=" + status(e));
            }
        }
    }

    private static String status(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StatusRuntimeException s) {
                return s.getStatus().getCode() + ": " + s.getStatus().getDescription();
            }
        }
        return e.toString();
    }
}

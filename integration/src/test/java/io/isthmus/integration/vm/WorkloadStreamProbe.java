package io.isthmus.integration.vm;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.stream.Collectors;

import io.grpc.StatusRuntimeException;
import io.isthmus.trust.x509.Certificates;
import io.spiffe.bundle.jwtbundle.JwtBundleSet;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.Watcher;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import io.spiffe.workloadapi.retry.ExponentialBackoffPolicy;

/**
 * A long-lived java-spiffe workload (run as another user by {@link VmWorkloadAttestationE2ETest}) that holds open a
 * FetchX509SVID stream ({@code watchX509Context}) and a FetchJWTBundles stream, printing one line per event:
 * {@code x509=<ids> serials=<leaf serials>} per update, {@code x509-end=<code>: <description>} when the stream ends,
 * {@code jwt-bundles=<trust domains>} and {@code jwt-bundles-end=...} likewise. Each line {@code jwt} on stdin asks
 * FetchJWTSVID for audience {@code e2e} and prints {@code jwt=<subject>} or {@code jwt-error=...}; {@code quit} ends it.
 *
 * <p>java-spiffe retries a stream that ends with any code but INVALID_ARGUMENT; one retry here (its answer is the
 * same refusal) and then the watcher hears the error, so an ended stream shows up as one line, not a retry loop.
 */
public final class WorkloadStreamProbe {
    private WorkloadStreamProbe() {
    }

    public static void main(String[] args) throws Exception {
        ExponentialBackoffPolicy oneRetry = ExponentialBackoffPolicy.builder().maxRetries(1)
                .initialDelay(Duration.ofMillis(100)).maxDelay(Duration.ofMillis(100)).build();
        try (WorkloadApiClient client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath("unix:" + args[0]).exponentialBackoffPolicy(oneRetry).build())) {
            client.watchX509Context(new Watcher<>() {
                @Override
                public void onUpdate(X509Context update) {
                    print("x509=" + update.getX509Svids().stream().map(s -> s.getSpiffeId().toString())
                            .collect(Collectors.joining(",")) + " serials=" + update.getX509Svids().stream()
                                    .map(s -> Certificates.serialHex(s.getLeaf())).collect(Collectors.joining(",")));
                }

                @Override
                public void onError(Throwable error) {
                    print("x509-end=" + status(error));
                }
            });
            client.watchJwtBundles(new Watcher<>() {
                @Override
                public void onUpdate(JwtBundleSet update) {
                    print("jwt-bundles=" + update.getBundles().keySet().stream().map(Object::toString).sorted()
                            .collect(Collectors.joining(",")));
                }

                @Override
                public void onError(Throwable error) {
                    print("jwt-bundles-end=" + status(error));
                }
            });
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null && !line.equals("quit"); line = in.readLine()) {
                if (line.equals("jwt")) {
                    try {
                        print("jwt=" + client.fetchJwtSvid("e2e").getSpiffeId());
                    } catch (Exception e) {
                        print("jwt-error=" + status(e));
                    }
                }
            }
        }
    }

    private static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
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

package io.isthmus.bench.enrolment;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Pem;

/**
 * Enrolments per second through a running gateway's real {@code POST /v1/enrol} (TLS, join token check and use in
 * the replicated store, CSR signature check, SVID signing, bundles in the reply). Not JMH: the unit of work is a
 * network round trip to another process. CSRs and tokens are prepared before the clock starts, so the number is
 * the gateway's, not the client's key generation. HTTP/1.1 connections are reused (one TLS handshake per client
 * thread), as an agent fleet behind a load balancer would not be; see the note printed at the end.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.isthmus.bench.enrolment.EnrolmentLoad \
 *   https://127.0.0.1:15012 root.pem admin-token-file [threads=4] [enrolments=2000] [warmup=300]
 * </pre>
 * The gateway needs a rate limit that lets one source through (isthmus.enrolment.rate-limit.burst).
 */
public final class EnrolmentLoad {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int USES_PER_TOKEN = 1000;

    private EnrolmentLoad() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: EnrolmentLoad <gateway-url> <root.pem> <admin-token-file> [threads] [enrolments] [warmup]");
            System.exit(2);
        }
        URI gateway = URI.create(args[0]);
        FederationRoots roots = new FederationRoots(Pem.readCertificates(Path.of(args[1])));
        String admin = Files.readString(Path.of(args[2]), StandardCharsets.UTF_8).trim();
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        int total = args.length > 4 ? Integer.parseInt(args[4]) : 2000;
        int warmup = args.length > 5 ? Integer.parseInt(args[5]) : 300;

        HttpClient client = client(roots);
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < (total + warmup + USES_PER_TOKEN - 1) / USES_PER_TOKEN; i++) {
            String body = JSON.createObjectNode().put("namespace", "bench").put("serviceAccount", "vm")
                    .put("ttl", "1h").put("maxUses", USES_PER_TOKEN).toString();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(gateway.resolve("/v1/admin/join-tokens"))
                    .header("Authorization", "Bearer " + admin).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 201) {
                throw new IllegalStateException("creating a token failed: " + r.statusCode() + " " + r.body());
            }
            tokens.add(JSON.readTree(r.body()).path("token").asText());
        }
        System.out.printf("preparing %d CSRs...%n", total + warmup);
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < total + warmup; i++) {
            bodies.add(JSON.createObjectNode().put("token", tokens.get(i / USES_PER_TOKEN)).put("csr", csr()).toString());
        }
        run(gateway, roots, threads, bodies.subList(0, warmup), "warm-up");
        long[] latencies = run(gateway, roots, threads, bodies.subList(warmup, warmup + total), "measured");
        Arrays.sort(latencies);
        System.out.printf("latency p50 %.1f ms, p99 %.1f ms%n", latencies[latencies.length / 2] / 1e6,
                latencies[(int) (latencies.length * 0.99)] / 1e6);
    }

    private static long[] run(URI gateway, FederationRoots roots, int threads, List<String> bodies, String label)
            throws Exception {
        AtomicInteger next = new AtomicInteger();
        long[] latencies = new long[bodies.size()];
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        List<Future<Integer>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            done.add(pool.submit(() -> {
                HttpClient c = client(roots);
                int failures = 0;
                int i;
                while ((i = next.getAndIncrement()) < bodies.size()) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = c.send(HttpRequest.newBuilder(gateway.resolve("/v1/enrol"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(bodies.get(i))).build(),
                            HttpResponse.BodyHandlers.ofString());
                    latencies[i] = System.nanoTime() - t0;
                    if (r.statusCode() != 200) {
                        failures++;
                        if (failures == 1) {
                            JsonNode e = JSON.readTree(r.body());
                            System.err.println("enrolment failed: " + r.statusCode() + " " + e.path("code").asText());
                        }
                    }
                }
                return failures;
            }));
        }
        int failures = 0;
        for (Future<Integer> f : done) {
            failures += f.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        System.out.printf("%s: %d enrolments with %d threads in %.2f s = %.0f enrolments/s (%d failed)%n", label,
                bodies.size(), threads, seconds, bodies.size() / seconds, failures);
        return latencies;
    }

    private static HttpClient client(FederationRoots roots) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new RootAnchoredTrustManager(null,
                id -> id.path().equals("/ns/isthmus-system/sa/isthmus-gateway") ? null : "a gateway", roots,
                td -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30))}, null);
        return HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1).build();
    }

    private static String csr() throws Exception {
        KeyPair keys = Crypto.generateEcP256();
        return Pem.write(new JcaPKCS10CertificationRequestBuilder(new X500Name("O=bench"), keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(Crypto.BC).build(keys.getPrivate())));
    }
}

package io.isthmus.bench.rotation;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

import org.bouncycastle.asn1.x500.X500Name;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Csrs;
import io.isthmus.trust.x509.Pem;

/**
 * A VM fleet renewing early because a rotation retires their signer: N agents enrol with one gateway, the gateway's
 * intermediate is rotated (prepare, sign with the root key given, publish, activate), and each agent then renews at a
 * random moment within the spread, as agents that noticed the new signer would, over its own mutual TLS connection with
 * its current SVID ({@code POST /v1/renew}, a full handshake each: no client session is shared between agents). Reports
 * the renewal latency (p50/p90/p99/max, from the moment the renewal was due, and of the request alone), failures, that
 * every new SVID is signed by the new intermediate, and whether every agent held it before its old SVID expired. Not
 * JMH: the unit of work is a network round trip to another process on the same host.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.isthmus.bench.rotation.RenewalLoad \
 *   https://127.0.0.1:15012 root.pem root.key admin-token-file [agents=10000] [spread-seconds=60] [threads=64]
 * </pre>
 * The gateway needs a lax enrolment rate limit for one source (isthmus.enrolment.rate-limit.burst / per-minute) and no
 * peers (activation is forced past the agents' refresh wait).
 */
public final class RenewalLoad {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Small enough that the enrolling threads rarely share a token (its use count is updated optimistically). */
    private static final int USES_PER_TOKEN = 50;

    private record Agent(X509Svid svid) {
    }

    private RenewalLoad() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: RenewalLoad <gateway-url> <root.pem> <root.key> <admin-token-file> [agents] "
                    + "[spread-seconds] [threads]");
            System.exit(2);
        }
        URI gateway = URI.create(args[0]);
        X509Certificate rootCert = Pem.readCertificate(Path.of(args[1]));
        CaCredential root = new CaCredential(Pem.readPrivateKey(Path.of(args[2])), List.of(rootCert));
        FederationRoots roots = FederationRoots.of(rootCert);
        String admin = Files.readString(Path.of(args[3]), StandardCharsets.UTF_8).trim();
        int agents = args.length > 4 ? Integer.parseInt(args[4]) : 10_000;
        int spreadSeconds = args.length > 5 ? Integer.parseInt(args[5]) : 60;
        int threads = args.length > 6 ? Integer.parseInt(args[6]) : 64;

        // 1. The fleet enrols (before the clock of interest starts).
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < (agents + USES_PER_TOKEN - 1) / USES_PER_TOKEN; i++) {
            tokens.add(call(gateway, roots, null, "POST", "/v1/admin/join-tokens", admin, JSON.createObjectNode()
                    .put("namespace", "bench").put("serviceAccount", "vm-" + i).put("ttl", "1h")
                    .put("maxUses", USES_PER_TOKEN).toString()).path("token").asText());
        }
        Agent[] fleet = new Agent[agents];
        long enrolStart = System.nanoTime();
        parallel(threads, agents, i -> {
            KeyPair keys = Crypto.generateEcP256();
            String body = JSON.createObjectNode().put("token", tokens.get(i % tokens.size()))
                    .put("csr", Csrs.create(keys, new X500Name("O=bench"))).toString();
            for (int attempt = 1;; attempt++) {
                try {
                    fleet[i] = new Agent(svidOf(call(gateway, roots, null, "POST", "/v1/enrol", null, body), keys));
                    return;
                } catch (IllegalStateException e) {
                    // 503 store-unavailable: two enrolments raced for one token's use count; the gateway says retry.
                    if (attempt >= 5 || !e.getMessage().contains(" 503")) {
                        throw e;
                    }
                }
            }
        });
        System.out.printf("%d agents enrolled in %.1f s%n", agents, (System.nanoTime() - enrolStart) / 1e9);
        TrustDomain td = fleet[0].svid().id().trustDomain();
        String oldSigner = Certificates.serialHex(fleet[0].svid().chain().get(1));

        // 2. The rotation: the new CA signs from activation on; every agent's signer is now retiring.
        String csr = call(gateway, roots, null, "POST", "/v1/admin/rotation/intermediate/prepare", admin, "")
                .path("csr").asText();
        PublicKey key = SvidIssuer.verifiedKey(csr.getBytes(StandardCharsets.US_ASCII));
        String chain = Pem.write(new CaFactory(Clock.systemUTC()).issueIntermediateCertificate(root, td, key,
                Duration.ofDays(30)));
        call(gateway, roots, null, "POST", "/v1/admin/rotation/intermediate/sign", admin,
                JSON.createObjectNode().put("chain", chain).toString());
        call(gateway, roots, null, "POST", "/v1/admin/rotation/intermediate/publish", admin, "");
        JsonNode activated = call(gateway, roots, null, "POST", "/v1/admin/rotation/intermediate/activate", admin,
                "{\"force\":true}");
        String newSigner = activated.path("active").path("serial").asText();
        System.out.printf("rotated %s: %s -> %s; %d agents renew over %d s with %d client threads%n", td, oldSigner,
                newSigner, agents, spreadSeconds, threads);

        // 3. Each agent renews at a random moment of the spread.
        long t0 = System.nanoTime();
        long[] due = new long[agents];
        for (int i = 0; i < agents; i++) {
            due[i] = t0 + ThreadLocalRandom.current().nextLong(spreadSeconds * 1_000_000_000L);
        }
        Integer[] order = new Integer[agents];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Long.compare(due[a], due[b]));
        long[] sinceDue = new long[agents];
        long[] request = new long[agents];
        AtomicInteger failures = new AtomicInteger();
        AtomicInteger wrongSigner = new AtomicInteger();
        AtomicInteger afterExpiry = new AtomicInteger();
        long[] slackMillis = {Long.MAX_VALUE};
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        for (Integer i : order) {
            long wait = due[i] - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            done.add(pool.submit(() -> {
                Agent agent = fleet[i];
                long start = System.nanoTime();
                try {
                    KeyPair keys = Crypto.generateEcP256();
                    String body = JSON.createObjectNode().put("csr", Csrs.create(keys, new X500Name("O=bench"))).toString();
                    long sent = System.nanoTime();
                    JsonNode r = call(gateway, roots, agent.svid(), "POST", "/v1/renew", null, body);
                    long end = System.nanoTime();
                    request[i] = end - sent;
                    sinceDue[i] = end - due[i];
                    X509Svid renewed = svidOf(r, keys);
                    if (!Certificates.serialHex(renewed.chain().get(1)).equals(newSigner)) {
                        wrongSigner.incrementAndGet();
                    }
                    long slack = Duration.between(Instant.now(), agent.svid().notAfter()).toMillis();
                    synchronized (slackMillis) {
                        slackMillis[0] = Math.min(slackMillis[0], slack);
                    }
                    if (slack <= 0) {
                        afterExpiry.incrementAndGet();
                    }
                } catch (Exception e) {
                    sinceDue[i] = System.nanoTime() - start;
                    if (failures.incrementAndGet() <= 3) {
                        System.err.println("renewal failed: " + e);
                    }
                }
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        double seconds = (System.nanoTime() - t0) / 1e9;
        Arrays.sort(sinceDue);
        Arrays.sort(request);
        System.out.printf("%d renewals in %.1f s (%.0f/s): %d failed, %d not signed by the new CA, %d after the old SVID "
                + "expired (least validity left at renewal: %d s)%n", agents, seconds, agents / seconds, failures.get(),
                wrongSigner.get(), afterExpiry.get(), slackMillis[0] / 1000);
        System.out.printf("latency from due time  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms%n", pct(sinceDue, 0.5),
                pct(sinceDue, 0.9), pct(sinceDue, 0.99), sinceDue[agents - 1] / 1e6);
        System.out.printf("request alone          p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms%n", pct(request, 0.5),
                pct(request, 0.9), pct(request, 0.99), request[agents - 1] / 1e6);
    }

    private static double pct(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))] / 1e6;
    }

    private interface Task {
        void run(int i) throws Exception;
    }

    private static void parallel(int threads, int n, Task task) throws Exception {
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            done.add(pool.submit(() -> {
                int i;
                while ((i = next.getAndIncrement()) < n) {
                    task.run(i);
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
    }

    private static X509Svid svidOf(JsonNode reply, KeyPair keys) {
        return new X509Svid(SpiffeId.parse(reply.path("spiffeId").asText()), keys.getPrivate(),
                Pem.readCertificates(reply.path("svidChain").asText(), "gateway reply"));
    }

    /**
     * One HTTP/1.1 exchange on its own TLS connection (a fresh context: no session shared with another agent), as
     * {@code svid} when given. Fails unless the gateway answers 2xx.
     */
    private static JsonNode call(URI gateway, FederationRoots roots, X509Svid svid, String method, String path,
            String bearer, String body) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(svid == null ? null : new KeyManager[] {new SvidKeyManager(() -> svid)},
                new TrustManager[] {new RootAnchoredTrustManager(null,
                        id -> id.path().equals("/ns/isthmus-system/sa/isthmus-gateway") ? null : "a gateway", roots,
                        td -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30))}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(gateway.getHost(), gateway.getPort()), 10_000);
            s.setSoTimeout(60_000);
            byte[] content = body.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: " + gateway.getHost() + "\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + content.length + "\r\n"
                    + (bearer == null ? "" : "Authorization: Bearer " + bearer + "\r\n") + "\r\n";
            OutputStream out = s.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(content);
            out.flush();
            InputStream in = s.getInputStream();
            String raw = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(raw.substring(9, 12));
            int bodyAt = raw.indexOf("\r\n\r\n") + 4;
            String responseBody = raw.substring(bodyAt);
            if (raw.substring(0, bodyAt).toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
                responseBody = dechunk(responseBody);
            }
            if (status / 100 != 2) {
                throw new IllegalStateException(method + " " + path + " answered " + status + ": " + responseBody);
            }
            return JSON.readTree(responseBody);
        }
    }

    private static String dechunk(String chunked) {
        StringBuilder out = new StringBuilder();
        int at = 0;
        while (true) {
            int eol = chunked.indexOf("\r\n", at);
            int size = Integer.parseInt(chunked.substring(at, eol).trim(), 16);
            if (size == 0) {
                return out.toString();
            }
            out.append(chunked, eol + 2, eol + 2 + size);
            at = eol + 2 + size + 2;
        }
    }
}

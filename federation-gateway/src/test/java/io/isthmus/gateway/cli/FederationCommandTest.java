package io.isthmus.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.membership.Member;
import io.isthmus.trust.membership.MembershipVerdict;
import io.isthmus.trust.membership.MembershipVerifier;
import io.isthmus.trust.x509.Pem;

/** {@code isthmus federation add|remove|sign} where the root key is kept: offline, file in, file out. */
class FederationCommandTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    private MembershipVerdict.Accepted verify(Path doc) throws Exception {
        FederationRoots roots = new FederationRoots(Pem.readCertificates(dir.resolve("root/root.pem")));
        MembershipVerdict v = new MembershipVerifier().verify(Files.readString(doc), roots, OptionalLong.empty());
        assertThat(v).isInstanceOf(MembershipVerdict.Accepted.class);
        return (MembershipVerdict.Accepted) v;
    }

    private String[] signing(String current, String out) {
        return current == null
                ? new String[] {"--root-cert", dir.resolve("root/root.pem").toString(), "--root-key",
                        dir.resolve("root/root.key").toString(), "--out", dir.resolve(out).toString()}
                : new String[] {"--root-cert", dir.resolve("root/root.pem").toString(), "--root-key",
                        dir.resolve("root/root.key").toString(), "--current", dir.resolve(current).toString(), "--out",
                        dir.resolve(out).toString()};
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void addsAndRemovesMembersOneSignedVersionAtATime() throws Exception {
        assertThat(run("ca", "init-root", "--out", dir.resolve("root").toString()).exit()).isZero();
        CliRun v1 = run(concat(new String[] {"federation", "add", "--name", "east", "--trust-domain", "east.acme.internal",
                "--bundle-endpoint", "https://gw-east:8443/", "--bridge", "gw-east:7900", "--ingress", "gw-east:15443",
                "--region", "us-east-1"}, signing(null, "v1.jws")));
        assertThat(v1.exit()).as(v1.err()).isZero();
        assertThat(v1.out()).contains("membership version 1: [east]");
        CliRun v2 = run(concat(new String[] {"federation", "add", "--name", "west", "--trust-domain", "west.acme.internal",
                "--bundle-endpoint", "https://gw-west:8443/", "--bridge", "gw-west:7900", "--ingress", "gw-west:15443",
                "--gateway-id", "spiffe://west.acme.internal/ns/mesh/sa/gw"}, signing("v1.jws", "v2.jws")));
        assertThat(v2.exit()).as(v2.err()).isZero();
        MembershipVerdict.Accepted two = verify(dir.resolve("v2.jws"));
        assertThat(two.document().version()).isEqualTo(2);
        assertThat(two.document().membership().members()).extracting(Member::name).containsExactly("east", "west");
        assertThat(two.document().membership().member("west").orElseThrow().gatewayIds()).extracting(Object::toString)
                .containsExactly("spiffe://west.acme.internal/ns/mesh/sa/gw");
        assertThat(two.document().membership().member("east").orElseThrow().gatewayIds()).extracting(Object::toString)
                .containsExactly("spiffe://east.acme.internal/ns/isthmus-system/sa/isthmus-gateway");

        CliRun v3 = run(concat(new String[] {"federation", "remove", "--name", "east"}, signing("v2.jws", "v3.jws")));
        assertThat(v3.exit()).as(v3.err()).isZero();
        assertThat(verify(dir.resolve("v3.jws")).document().membership().members()).extracting(Member::name)
                .containsExactly("west");

        CliRun unknown = run(concat(new String[] {"federation", "remove", "--name", "north"}, signing("v3.jws", "v4.jws")));
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("'north' is not a member of version 3");
        assertThat(dir.resolve("v4.jws")).doesNotExist();
    }

    @Test
    void signsARenderedPayloadOnlyIfItIsNewer() throws Exception {
        assertThat(run("ca", "init-root", "--out", dir.resolve("root").toString()).exit()).isZero();
        Path payload = Files.writeString(dir.resolve("membership.json"), """
                {"version": 3, "issuedAt": "2026-12-04T22:00:00Z", "members": [
                  {"name": "east", "trustDomain": "east.acme.internal", "bundleEndpoint": "https://gw-east:8443/",
                   "bridgeAddresses": ["gw-east:7900"], "ingressAddress": "gw-east:15443",
                   "gatewayIds": ["spiffe://east.acme.internal/ns/isthmus-system/sa/isthmus-gateway"],
                   "locality": {"region": "us-east-1", "zone": ""}}]}
                """);
        CliRun signed = run(concat(new String[] {"federation", "sign", "--payload", payload.toString()}, signing(null, "v3.jws")));
        assertThat(signed.exit()).as(signed.err()).isZero();
        assertThat(verify(dir.resolve("v3.jws")).document().version()).isEqualTo(3);

        CliRun again = run(concat(new String[] {"federation", "sign", "--payload", payload.toString()}, signing("v3.jws", "again.jws")));
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("not newer than the version 3 in force", "set it to 4");

        // Without version and time (as Terraform renders it): the version after the one in force, stamped now.
        Files.writeString(payload, Files.readString(payload).replace("\"version\": 3, \"issuedAt\": \"2026-12-04T22:00:00Z\", ", ""));
        CliRun next = run(concat(new String[] {"federation", "sign", "--payload", payload.toString()}, signing("v3.jws", "v4.jws")));
        assertThat(next.exit()).as(next.err()).isZero();
        assertThat(verify(dir.resolve("v4.jws")).document().version()).isEqualTo(4);

        Files.writeString(payload, Files.readString(payload).replace("\"gw-east:7900\"", "\"gw-east\""));
        CliRun bad = run(concat(new String[] {"federation", "sign", "--payload", payload.toString()}, signing(null, "bad.jws")));
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("'gw-east' is not host:port");
    }
}

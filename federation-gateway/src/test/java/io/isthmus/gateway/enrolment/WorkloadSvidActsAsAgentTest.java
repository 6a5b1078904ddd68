package io.isthmus.gateway.enrolment;

import static io.isthmus.gateway.enrolment.TestClients.JSON;
import static io.isthmus.gateway.enrolment.TestClients.client;
import static io.isthmus.gateway.enrolment.TestClients.csrPem;
import static io.isthmus.gateway.enrolment.TestClients.post;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import jakarta.inject.Inject;

import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

import io.isthmus.gateway.enrolment.TestClients.Reply;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.IsthmusOids;
import io.isthmus.trust.x509.Pem;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Attacker's view: a process on a VM whose registration entry names the VM's own SPIFFE ID (allowed: "equal to or
 * under the VM's own"; with attestation off every local process gets it). The agent has the gateway sign a WORKLOAD
 * SVID for it ({@code POST /v1/agent/workload-svid}) and hands the process that SVID and its private key over the
 * Workload API. The process then calls the gateway's agent-only endpoints itself, over real mutual TLS, with that
 * SVID: to have another workload ID of the VM signed (bypassing the agent's attestation), renew the VM's identity,
 * read the agent's registration entries, get JWT-SVIDs, register or remove the VM's services. Every one answers
 * 403 {@code workload-svid-not-an-agent} (the gateway marks the workload SVIDs it signs for agents,
 * {@link AgentCredential}), audited; the agent's own SVID, and the one it renews to, still do all of it.
 */
@QuarkusTest
class WorkloadSvidActsAsAgentTest {
    @Inject
    TrustService trust;

    @Inject
    EnrolmentService service;

    @Inject
    EnrolmentAudit audit;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    private URI uri(String path) {
        return URI.create(https.toString().replaceAll("/$", "") + path);
    }

    private static X509Svid svidOf(Reply r, KeyPair keys) {
        List<X509Certificate> chain = Pem.readCertificates(r.body().path("svidChain").asText(), "response");
        return new X509Svid(SpiffeId.parse(r.body().path("spiffeId").asText()), keys.getPrivate(), chain);
    }

    private static Reply send(HttpClient client, HttpRequest request) {
        try {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body() == null || r.body().isBlank() ? JSON.nullNode()
                    : JSON.readTree(r.body()), r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private X509Svid workloadSvid(X509Svid agent, SpiffeId id) {
        KeyPair workloadKey = Crypto.generateEcP256();
        Reply issued = post(client(trust.runtime(), agent), uri("/v1/agent/workload-svid"), JSON.createObjectNode()
                .put("spiffeId", id.toString()).put("csr", csrPem(workloadKey, null)).toString(), null);
        assertThat(issued.status()).as(issued.body().toString()).isEqualTo(200);
        return svidOf(issued, workloadKey);
    }

    /** Every agent-only endpoint, as a call with a given SVID; the name says which. */
    private Map<String, Function<X509Svid, Reply>> agentEndpoints(SpiffeId vm, String service) {
        Map<String, Function<X509Svid, Reply>> calls = new LinkedHashMap<>();
        calls.put("POST /v1/agent/workload-svid (a sibling workload's ID)", svid -> post(client(trust.runtime(), svid),
                uri("/v1/agent/workload-svid"), JSON.createObjectNode().put("spiffeId", vm + "/backup")
                        .put("csr", csrPem(Crypto.generateEcP256(), null)).toString(), null));
        calls.put("POST /v1/agent/workload-svid (the VM's own ID)", svid -> post(client(trust.runtime(), svid),
                uri("/v1/agent/workload-svid"), JSON.createObjectNode().put("spiffeId", vm.toString())
                        .put("csr", csrPem(Crypto.generateEcP256(), null)).toString(), null));
        calls.put("POST /v1/renew", svid -> post(client(trust.runtime(), svid), uri("/v1/renew"),
                JSON.createObjectNode().put("csr", csrPem(Crypto.generateEcP256(), null)).toString(), null));
        calls.put("GET /v1/agent/registration-entries", svid -> send(client(trust.runtime(), svid), HttpRequest
                .newBuilder(uri("/v1/agent/registration-entries")).timeout(Duration.ofSeconds(20)).GET().build()));
        calls.put("POST /v1/agent/jwt-svid (the VM's own ID)", svid -> post(client(trust.runtime(), svid),
                uri("/v1/agent/jwt-svid"), "{\"audience\": [\"orders\"]}", null));
        calls.put("POST /v1/agent/jwt-svid (a sibling workload's ID)", svid -> post(client(trust.runtime(), svid),
                uri("/v1/agent/jwt-svid"), "{\"audience\": [\"orders\"], \"spiffeId\": \"" + vm + "/backup\"}", null));
        calls.put("PUT /v1/agent/services/" + service, svid -> send(client(trust.runtime(), svid), HttpRequest
                .newBuilder(uri("/v1/agent/services/" + service)).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(JSON
                        .createObjectNode().put("namespace", "shop").put("port", 80).put("protocol", "http")
                        .put("backendPort", 18099).toString())).build()));
        calls.put("DELETE /v1/agent/services/" + service, svid -> send(client(trust.runtime(), svid), HttpRequest
                .newBuilder(uri("/v1/agent/services/" + service + "?namespace=shop")).timeout(Duration.ofSeconds(20))
                .DELETE().build()));
        return calls;
    }

    private static final Map<String, Integer> AGENT_OK = Map.of("DELETE", 204);

    @Test
    void aWorkloadSvidOfTheVmsOwnIdCannotActAsTheAgent() {
        X509Svid agent = TestClients.enrolledVm(service, "shop", "own-id-vm");
        X509Svid workload = workloadSvid(agent, agent.id());
        String mark = IsthmusOids.WORKLOAD_ISSUED_TO_AGENT.getId();
        // The workload's SVID is a valid SVID of the VM's own ID (it serves mesh traffic), and it is marked.
        assertThat(workload.id()).isEqualTo(agent.id());
        assertThat(trust.runtime().verifier().verify(workload.chain())).isInstanceOf(SvidVerdict.Verified.class);
        assertThat(workload.leaf().getNonCriticalExtensionOIDs()).contains(mark);
        assertThat(agent.leaf().getExtensionValue(mark)).as("the agent's own SVID (enrolment)").isNull();

        long issuedBefore = service.issuedCount();
        SoftAssertions soft = new SoftAssertions();
        Map<String, Function<X509Svid, Reply>> endpoints = agentEndpoints(agent.id(), "own-id-vm-api");
        for (Map.Entry<String, Function<X509Svid, Reply>> e : endpoints.entrySet()) {
            Reply r = e.getValue().apply(workload);
            soft.assertThat(r.status()).as("a WORKLOAD SVID (serial " + workload.leaf().getSerialNumber().toString(16)
                    + ") calls " + e.getKey() + ": " + r.body()).isEqualTo(403);
            soft.assertThat(r.code()).as(e.getKey()).isEqualTo("workload-svid-not-an-agent");
            soft.assertThat(r.body().path("detail").asText()).as(e.getKey()).contains(agent.id().toString())
                    .contains("only the VM agent's own SVID, from enrolment or renewal");
        }
        soft.assertThat(service.issuedCount()).as("no VM SVID was renewed").isEqualTo(issuedBefore);
        for (String action : List.of("workload.issue", "renew", "entries.read", "jwt.issue", "service.register",
                "service.unregister")) {
            soft.assertThat(audit.recent()).as("audited: " + action).anySatisfy(line -> assertThat(line)
                    .contains("\"action\":\"" + action + "\"").contains("\"decision\":\"deny\"")
                    .contains("\"code\":\"workload-svid-not-an-agent\""));
        }
        soft.assertAll();
    }

    @Test
    void aWorkloadSvidUnderTheVmsPathIsRefusedTooAndTheAgentsOwnSvidStillDoesEverything() {
        X509Svid agent = TestClients.enrolledVm(service, "shop", "control-vm");
        // Under the VM's path the ID is not a VM identity's form: refused before the mark is looked at.
        X509Svid child = workloadSvid(agent, SpiffeId.parse(agent.id() + "/billing"));
        Reply childRenew = post(client(trust.runtime(), child), uri("/v1/renew"),
                JSON.createObjectNode().put("csr", csrPem(Crypto.generateEcP256(), null)).toString(), null);
        assertThat(childRenew.code()).isEqualTo("not-a-vm-identity");

        // Control: the agent's own SVID does everything; then it renews, and the renewed SVID (unmarked) does too.
        SoftAssertions soft = new SoftAssertions();
        for (Map.Entry<String, Function<X509Svid, Reply>> e : agentEndpoints(agent.id(), "control-vm-api").entrySet()) {
            if (e.getKey().startsWith("POST /v1/renew")) {
                continue;
            }
            Reply r = e.getValue().apply(agent);
            soft.assertThat(r.status()).as("the agent's own SVID calls " + e.getKey() + ": " + r.body())
                    .isEqualTo(AGENT_OK.getOrDefault(e.getKey().split(" ")[0], 200));
        }
        KeyPair renewedKey = Crypto.generateEcP256();
        Reply renewed = post(client(trust.runtime(), agent), uri("/v1/renew"),
                JSON.createObjectNode().put("csr", csrPem(renewedKey, null)).toString(), null);
        soft.assertThat(renewed.status()).as(renewed.body().toString()).isEqualTo(200);
        X509Svid next = svidOf(renewed, renewedKey);
        soft.assertThat(next.leaf().getExtensionValue(IsthmusOids.WORKLOAD_ISSUED_TO_AGENT.getId()))
                .as("a renewed agent SVID carries no mark").isNull();
        for (Map.Entry<String, Function<X509Svid, Reply>> e : agentEndpoints(agent.id(), "control-vm-api").entrySet()) {
            Reply r = e.getValue().apply(next);
            soft.assertThat(r.status()).as("the agent's renewed SVID calls " + e.getKey() + ": " + r.body())
                    .isEqualTo(AGENT_OK.getOrDefault(e.getKey().split(" ")[0], 200));
        }
        soft.assertAll();
    }
}

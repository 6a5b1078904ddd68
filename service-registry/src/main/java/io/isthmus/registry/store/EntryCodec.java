package io.isthmus.registry.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Optional;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.registry.ExportFields;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryRecord;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.signing.EntrySignature;
import io.isthmus.registry.signing.SignedRecord;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.text.Printable;

/**
 * The wire form of registry entries: the key is the string {@code cluster/namespace/name}, the value a JSON
 * document. Plain strings need no marshaller registration in Infinispan (ProtoStream carries them natively) and
 * stay readable across versions of this code: unknown JSON fields are ignored, so a newer gateway may add fields.
 *
 * <p>Since signed entries the value is an envelope {@code {"record": "<record JSON>", "signer": "<base64 DER of the
 * gateway SVID leaf>", "signature": "<base64>"}}: the record travels as a string, so the bytes verified are exactly
 * the bytes signed (no canonical JSON needed). A record is an export (the entry's fields plus {@code signedAt}) or a
 * removal ({@code removed: true}, the key, {@code revision}, {@code signedAt}). A value written by a gateway from
 * before signed entries (the entry's fields at the top level) reads as an unsigned record.
 */
public final class EntryCodec {
    private static final ObjectMapper JSON = new ObjectMapper();

    private EntryCodec() {
    }

    public static String key(ServiceKey key) {
        return key.cluster() + "/" + key.namespace() + "/" + key.name();
    }

    public static ServiceKey parseKey(String text) {
        String[] parts = text.split("/", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("registry key '" + text + "' is not cluster/namespace/name");
        }
        return new ServiceKey(parts[0], parts[1], parts[2]);
    }

    public static String encode(ExportedService e) {
        return write(node(e));
    }

    private static String write(JsonNode n) {
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException("cannot encode a registry record", ex);
        }
    }

    /** The exact bytes a record is signed as. */
    public static String encodeRecord(RegistryRecord record) {
        return switch (record) {
            case RegistryRecord.Live live -> write(node(live.entry()).put("signedAt", live.signedAt().toString()));
            case RegistryRecord.Tombstone t -> write(JSON.createObjectNode().put("removed", true)
                    .put("cluster", t.key().cluster()).put("namespace", t.key().namespace()).put("name", t.key().name())
                    .put("revision", t.revision()).put("signedAt", t.signedAt().toString()));
            case RegistryRecord.SiteHeartbeat h -> write(JSON.createObjectNode().put("heartbeat", true)
                    .put("cluster", h.cluster()).put("signedAt", h.signedAt().toString())
                    .put("coversSince", h.coversSince().toString()));
        };
    }

    /** The cache value: {@code recordJson} (from {@link #encodeRecord}) and its signature, if any. */
    public static String envelope(String recordJson, Optional<EntrySignature> signature) {
        ObjectNode n = JSON.createObjectNode().put("record", recordJson);
        signature.ifPresent(s -> {
            try {
                n.put("signer", Base64.getEncoder().encodeToString(s.signer().getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("cannot encode the signer certificate", e);
            }
            n.put("signature", Base64.getEncoder().encodeToString(s.value()));
        });
        return write(n);
    }

    /**
     * A cache value as received (see the class comment); the signature is not checked here.
     *
     * @throws IllegalArgumentException naming what is wrong when the value is not a registry record
     */
    public static SignedRecord parseValue(String value) {
        JsonNode n = tree(value);
        JsonNode record = n.get("record");
        if (record == null) {
            // A gateway from before signed entries: the entry itself, unsigned.
            ExportedService legacy = decode(n);
            return new SignedRecord(new RegistryRecord.Live(legacy, legacy.heartbeat()),
                    value.getBytes(StandardCharsets.UTF_8), Optional.empty());
        }
        if (!record.isTextual()) {
            throw new IllegalArgumentException("registry value's 'record' is not a string");
        }
        String body = record.asText();
        JsonNode r = tree(body);
        Instant signedAt = Instant.parse(text(r, "signedAt"));
        RegistryRecord parsed;
        if (r.path("heartbeat").asBoolean(false)) {
            parsed = new RegistryRecord.SiteHeartbeat(text(r, "cluster"), signedAt, Instant.parse(text(r, "coversSince")));
        } else {
            parsed = r.path("removed").asBoolean(false)
                    ? new RegistryRecord.Tombstone(new ServiceKey(text(r, "cluster"), text(r, "namespace"), text(r, "name")),
                            required(r, "revision").asLong(), signedAt)
                    : new RegistryRecord.Live(decode(r), signedAt);
            if (RegistryRecord.reserved(parsed.key())) {
                throw new IllegalArgumentException("registry record for " + parsed.key() + " is an export or removal in"
                        + " the registry's own namespace, where only heartbeats are kept");
            }
        }
        Optional<EntrySignature> signature = Optional.empty();
        if (n.hasNonNull("signature") || n.hasNonNull("signer")) {
            signature = Optional.of(new EntrySignature(certificate(text(n, "signer")),
                    Base64.getDecoder().decode(text(n, "signature"))));
        }
        return new SignedRecord(parsed, body.getBytes(StandardCharsets.UTF_8), signature);
    }

    private static final java.util.Map<String, X509Certificate> SIGNERS = new java.util.concurrent.ConcurrentHashMap<>();

    /** Parsed once per distinct signer (a gateway's SVID signs every entry until it is renewed). */
    private static X509Certificate certificate(String base64) {
        X509Certificate known = SIGNERS.get(base64);
        if (known != null) {
            return known;
        }
        try {
            X509Certificate parsed = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(base64)));
            if (SIGNERS.size() > 256) {
                SIGNERS.clear();
            }
            SIGNERS.put(base64, parsed);
            return parsed;
        } catch (CertificateException e) {
            throw new IllegalArgumentException("registry value's 'signer' is not an X.509 certificate: " + e.getMessage(), e);
        }
    }

    private static ObjectNode node(ExportedService e) {
        ObjectNode n = JSON.createObjectNode();
        n.put("cluster", e.key().cluster());
        n.put("namespace", e.key().namespace());
        n.put("name", e.key().name());
        ArrayNode ports = n.putArray("ports");
        for (ServicePort p : e.ports()) {
            ports.addObject().put("name", p.name()).put("port", p.port()).put("protocol", p.protocol().name());
        }
        ArrayNode ids = n.putArray("identities");
        e.identities().forEach(id -> ids.add(id.toString()));
        n.put("ingressHost", e.ingress().host());
        n.put("ingressPort", e.ingress().port());
        n.put("region", e.locality().region());
        n.put("zone", e.locality().zone());
        n.put("readyEndpoints", e.readyEndpoints());
        n.put("revision", e.revision());
        n.put("heartbeat", e.heartbeat().toString());
        n.put("leaseMillis", e.lease().toMillis());
        return n;
    }

    /** @throws IllegalArgumentException naming the field when the document is not a registry entry */
    public static ExportedService decode(String json) {
        return decode(tree(json));
    }

    private static JsonNode tree(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException ex) {
            throw new IllegalArgumentException("registry entry is not JSON: " + ex.getMessage(), ex);
        }
    }

    private static ExportedService decode(JsonNode n) {
        List<ServicePort> ports = new ArrayList<>();
        for (JsonNode p : required(n, "ports")) {
            ports.add(new ServicePort(text(p, "name"), required(p, "port").asInt(), Protocol.valueOf(text(p, "protocol"))));
        }
        List<SpiffeId> ids = new ArrayList<>();
        for (JsonNode id : required(n, "identities")) {
            ids.add(SpiffeId.parse(id.asText()));
        }
        ExportedService e = new ExportedService(new ServiceKey(text(n, "cluster"), text(n, "namespace"), text(n, "name")),
                ports, ids, new IngressAddress(text(n, "ingressHost"), required(n, "ingressPort").asInt()),
                new Locality(text(n, "region"), text(n, "zone")), required(n, "readyEndpoints").asInt(),
                required(n, "revision").asLong(), Instant.parse(text(n, "heartbeat")),
                Duration.ofMillis(required(n, "leaseMillis").asLong()));
        // Its owner chose every field, and a compromised owner signs what it likes: text that is no name, or that a
        // terminal or a log reader acts on, makes the record malformed (ExportFields). The registry's own namespace
        // is refused by the caller, with its own reason.
        ExportFields.check(e).filter(p -> !RegistryRecord.reserved(e.key())).ifPresent(p -> {
            throw new IllegalArgumentException("registry entry " + Printable.escape(e.key().toString()) + ": "
                    + p.message());
        });
        return e;
    }

    private static JsonNode required(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("registry entry has no '" + field + "'");
        }
        return v;
    }

    private static String text(JsonNode n, String field) {
        return required(n, field).asText();
    }
}

package io.isthmus.registry.store;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The wire form of registry entries: the key is the string {@code cluster/namespace/name}, the value a JSON
 * document. Plain strings need no marshaller registration in Infinispan (ProtoStream carries them natively) and
 * stay readable across versions of this code: unknown JSON fields are ignored, so a newer gateway may add fields.
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
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException("cannot encode " + e.key(), ex);
        }
    }

    /** @throws IllegalArgumentException naming the field when the document is not a registry entry */
    public static ExportedService decode(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (IOException ex) {
            throw new IllegalArgumentException("registry entry is not JSON: " + ex.getMessage(), ex);
        }
        List<ServicePort> ports = new ArrayList<>();
        for (JsonNode p : required(n, "ports")) {
            ports.add(new ServicePort(text(p, "name"), required(p, "port").asInt(), Protocol.valueOf(text(p, "protocol"))));
        }
        List<SpiffeId> ids = new ArrayList<>();
        for (JsonNode id : required(n, "identities")) {
            ids.add(SpiffeId.parse(id.asText()));
        }
        return new ExportedService(new ServiceKey(text(n, "cluster"), text(n, "namespace"), text(n, "name")), ports, ids,
                new IngressAddress(text(n, "ingressHost"), required(n, "ingressPort").asInt()),
                new Locality(text(n, "region"), text(n, "zone")), required(n, "readyEndpoints").asInt(),
                required(n, "revision").asLong(), Instant.parse(text(n, "heartbeat")),
                Duration.ofMillis(required(n, "leaseMillis").asLong()));
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

package io.isthmus.proxy.authz.policy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/** Builds policies and requests for tests from YAML text. */
public final class TestPolicies {
    static final String ROOT = "isthmus-system";
    private static final YAMLMapper YAML = new YAMLMapper();

    private TestPolicies() {
    }

    static JsonNode node(String yaml) {
        try {
            return YAML.readTree(yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<AuthorizationPolicy> parseAll(String yaml) {
        List<AuthorizationPolicy> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            int i = 0;
            while (it.hasNext()) {
                JsonNode doc = it.next();
                i++;
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    out.add(PolicyParser.parse(doc, "test#" + i));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public static PolicySet set(String yaml) {
        return PolicySet.of(ROOT, parseAll(yaml));
    }

    static AccessRequest http(String principal, String destination, int port, String method, String path) {
        String[] d = destination.split("\\.");
        return AccessRequest.http(SpiffeId.parse(principal), MeshName.of(d[0], d[1]), port, method, path);
    }

    static AccessRequest tcp(String principal, String destination, int port) {
        String[] d = destination.split("\\.");
        return AccessRequest.tcp(SpiffeId.parse(principal), MeshName.of(d[0], d[1]), port);
    }
}

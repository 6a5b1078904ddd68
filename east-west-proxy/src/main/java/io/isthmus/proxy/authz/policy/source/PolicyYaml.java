package io.isthmus.proxy.authz.policy.source;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.proxy.authz.policy.PolicyParser;
import io.isthmus.proxy.authz.policy.PolicyViolation;

/**
 * Parses a multi-document YAML text ({@code ---} separated) into policies, all or nothing: if any document is
 * invalid the whole text is rejected with every violation of every document, so a half-applied file never
 * changes what is allowed. Empty documents are skipped. Thread-safe.
 */
public final class PolicyYaml {
    /**
     * Duplicate keys are refused: YAML says a mapping's keys are unique, and a reader that keeps the last of two
     * ({@code paths: ["/admin*"]} then {@code paths: ["/healthz"]}) would turn the policy a reviewer read into
     * another one.
     */
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '(.*)'", Pattern.DOTALL);

    private PolicyYaml() {
    }

    /**
     * @param name the file name, used in origins ({@code name#<document number>}) and error paths
     * @throws InvalidPolicyException naming the document and field of each violation
     */
    public static List<AuthorizationPolicy> parse(String text, String name) {
        List<PolicyViolation> violations = new ArrayList<>();
        List<JsonNode> documents = documents(text, name, violations);
        List<AuthorizationPolicy> policies = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            JsonNode node = documents.get(i);
            if (node == null || node.isNull() || node.isMissingNode()) {
                continue;
            }
            try {
                policies.add(PolicyParser.parse(node, name + "#" + (i + 1)));
            } catch (InvalidPolicyException e) {
                for (PolicyViolation v : e.violations()) {
                    violations.add(new PolicyViolation(e.source() + " " + v.path(), v.message()));
                }
            }
        }
        if (!violations.isEmpty()) {
            throw new InvalidPolicyException(name, violations);
        }
        checkUnique(policies, name);
        return List.copyOf(policies);
    }

    /**
     * The YAML documents of {@code text}, in order (null for an empty one); a syntax error is added to
     * {@code violations}. Only the YAML reading is guarded against unchecked exceptions: validating the documents
     * must never throw anything but {@link InvalidPolicyException}, and a bug there must not pass for bad YAML.
     */
    private static List<JsonNode> documents(String text, String name, List<PolicyViolation> violations) {
        List<JsonNode> documents = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
            while (it.hasNextValue()) {
                documents.add(it.nextValue());
            }
        } catch (JsonProcessingException e) {
            Matcher dup = DUPLICATE.matcher(e.getOriginalMessage());
            if (dup.matches()) {
                violations.add(new PolicyViolation(name + "#" + (documents.size() + 1), "duplicate key \""
                        + dup.group(1) + "\"" + (e.getLocation() == null ? "" : " at line "
                        + e.getLocation().getLineNr()) + ": a key may appear once in a mapping (the later value "
                        + "would silently replace the earlier one); keep one"));
                return documents;
            }
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            violations.add(new PolicyViolation(name + "#" + (documents.size() + 1), "not valid YAML" + where + ": "
                    + e.getOriginalMessage().replaceAll("\\s+", " ").trim()));
        } catch (IOException e) {
            violations.add(new PolicyViolation(name, "could not be read: " + e.getMessage()));
        } catch (RuntimeException e) {
            // SnakeYAML reports some syntax errors as unchecked exceptions wrapped by Jackson.
            violations.add(new PolicyViolation(name + "#" + (documents.size() + 1), "not valid YAML: " + e.getMessage()));
        }
        return documents;
    }

    private static void checkUnique(List<AuthorizationPolicy> policies, String name) {
        List<PolicyViolation> dups = new ArrayList<>();
        for (int i = 0; i < policies.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (policies.get(i).id().equals(policies.get(j).id())) {
                    dups.add(new PolicyViolation(policies.get(i).origin() + " metadata", "policy "
                            + policies.get(i).id() + " is already defined by " + policies.get(j).origin()));
                }
            }
        }
        if (!dups.isEmpty()) {
            throw new InvalidPolicyException(name, dups);
        }
    }
}

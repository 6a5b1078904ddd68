package io.isthmus.proxy.authz.policy;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Validates one {@code AuthorizationPolicy} document (a Jackson tree, from YAML or from a Kubernetes custom
 * resource) and builds the immutable {@link AuthorizationPolicy}. Every problem is collected with its field path;
 * unknown fields are errors (a typo such as {@code notPrincipal} must not silently widen a policy). Fields Istio
 * has but Isthmus does not implement ({@code when}, {@code requestPrincipals}, {@code ipBlocks}, action
 * {@code CUSTOM}...) are rejected by name rather than ignored. Pure; thread-safe.
 */
public final class PolicyParser {
    static final List<String> HTTP_METHODS =
            List.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile("(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    private static final Set<String> TOP_FIELDS = Set.of("apiVersion", "kind", "metadata", "spec", "status");
    private static final Set<String> SPEC_FIELDS = Set.of("action", "selector", "rules", "mode");
    private static final Set<String> SELECTOR_FIELDS = Set.of("services");
    private static final Set<String> RULE_FIELDS = Set.of("from", "to");
    private static final Set<String> FROM_FIELDS = Set.of("source");
    private static final Set<String> TO_FIELDS = Set.of("operation");
    private static final Set<String> SOURCE_FIELDS = Set.of("principals", "notPrincipals", "trustDomains",
            "notTrustDomains", "namespaces", "notNamespaces");
    private static final Set<String> OPERATION_FIELDS = Set.of("methods", "notMethods", "paths", "notPaths",
            "ports", "notPorts", "hosts", "notHosts");
    private static final Map<String, String> UNSUPPORTED = Map.of(
            "when", "conditions ('when') are not supported by Isthmus; express them with from/to",
            "provider", "CUSTOM providers are not supported by Isthmus",
            "targetRef", "targetRef is not supported; use selector.services",
            "targetRefs", "targetRefs is not supported; use selector.services",
            "requestPrincipals", "request principals (JWT) are not supported; use principals (SPIFFE IDs)",
            "notRequestPrincipals", "request principals (JWT) are not supported; use notPrincipals (SPIFFE IDs)",
            "ipBlocks", "Isthmus authorizes by identity, never by address: ipBlocks is not supported",
            "notIpBlocks", "Isthmus authorizes by identity, never by address: notIpBlocks is not supported",
            "remoteIpBlocks", "Isthmus authorizes by identity, never by address: remoteIpBlocks is not supported",
            "notRemoteIpBlocks", "Isthmus authorizes by identity, never by address: notRemoteIpBlocks is not supported");

    private PolicyParser() {
    }

    /** The HTTP methods a policy may name, in the order they are listed in messages. */
    public static List<String> httpMethods() {
        return HTTP_METHODS;
    }

    /**
     * @param doc    the whole document ({@code apiVersion}, {@code kind}, {@code metadata}, {@code spec})
     * @param origin where it came from, kept on the policy and used in the exception message
     * @throws InvalidPolicyException listing every violation with its field path
     */
    public static AuthorizationPolicy parse(JsonNode doc, String origin) {
        Errors errors = new Errors();
        AuthorizationPolicy policy = new PolicyParser.Run(errors).document(doc, origin);
        if (!errors.list.isEmpty() || policy == null) {
            throw new InvalidPolicyException(describe(doc, origin), errors.list);
        }
        return policy;
    }

    /** {@code origin (namespace/name)} when the document says who it is, for error messages. */
    static String describe(JsonNode doc, String origin) {
        if (doc != null && doc.path("metadata").isObject()) {
            JsonNode md = doc.get("metadata");
            if (md.path("name").isTextual()) {
                return origin + " (" + md.path("namespace").asText("?") + "/" + md.get("name").asText() + ")";
            }
        }
        return origin;
    }

    private static final class Errors {
        final List<PolicyViolation> list = new ArrayList<>();

        void add(String path, String message) {
            list.add(new PolicyViolation(path, message));
        }
    }

    private record Run(Errors errors) {

        AuthorizationPolicy document(JsonNode doc, String origin) {
            if (doc == null || doc.isNull() || doc.isMissingNode()) {
                errors.add("(document)", "is empty");
                return null;
            }
            if (!object(doc, "(document)")) {
                return null;
            }
            fields(doc, "", TOP_FIELDS);
            String apiVersion = requiredText(doc, "apiVersion", "apiVersion");
            if (apiVersion != null && !apiVersion.equals(AuthorizationPolicy.API_VERSION)) {
                errors.add("apiVersion", quote(apiVersion) + " is not supported (expected "
                        + quote(AuthorizationPolicy.API_VERSION) + ")");
            }
            String kind = requiredText(doc, "kind", "kind");
            if (kind != null && !kind.equals(AuthorizationPolicy.KIND)) {
                errors.add("kind", quote(kind) + " is not " + quote(AuthorizationPolicy.KIND));
            }
            String name = null;
            String namespace = null;
            JsonNode md = doc.get("metadata");
            if (md == null) {
                errors.add("metadata", "is required (name and namespace)");
            } else if (object(md, "metadata")) {
                name = requiredText(md, "name", "metadata.name");
                if (name != null && !DNS_SUBDOMAIN.matcher(name).matches()) {
                    errors.add("metadata.name", quote(name) + " is not a DNS-1123 subdomain (lowercase letters, "
                            + "digits, '-', '.')");
                }
                namespace = requiredText(md, "namespace", "metadata.namespace");
                if (namespace != null && !DNS_LABEL.matcher(namespace).matches()) {
                    errors.add("metadata.namespace", quote(namespace) + " is not a DNS-1123 label");
                }
            }
            DryRun dry = md != null && md.isObject() ? dryRun(md.get("annotations")) : DryRun.NO;
            Boolean dryRun = dry == null ? null : dry.value;
            PolicyAction action = PolicyAction.ALLOW;
            Set<String> services = Set.of();
            List<Rule> rules = List.of();
            Optional<PolicyMode> mode = Optional.empty();
            JsonNode spec = doc.get("spec");
            if (spec != null && !spec.isNull() && object(spec, "spec")) {
                fields(spec, "spec", SPEC_FIELDS);
                action = action(spec.get("action"));
                services = selector(spec.get("selector"));
                rules = list(spec.get("rules"), "spec.rules", this::rule);
                mode = mode(spec);
                if (mode == null) {
                    return null;
                }
            }
            if (Boolean.TRUE.equals(dryRun) && mode.isPresent()) {
                errors.add(dry.path, "a mode policy (spec.mode) cannot be dry-run: to try observe mode, "
                        + "it is the mode itself that changes nothing");
            } else if (Boolean.TRUE.equals(dryRun) && action == PolicyAction.AUDIT) {
                errors.add(dry.path, "an AUDIT policy never decides, so dry-run changes nothing for it; "
                        + "remove the annotation");
            }
            if (name == null || namespace == null || action == null || dryRun == null || !errors.list.isEmpty()) {
                return null;
            }
            return new AuthorizationPolicy(new PolicyId(namespace, name), action, services, rules, origin, mode,
                    dryRun);
        }

        /** {@code spec.mode}: empty when absent, null when invalid (the error is recorded). */
        private Optional<PolicyMode> mode(JsonNode spec) {
            JsonNode node = spec.get("mode");
            if (node == null || node.isNull()) {
                return Optional.empty();
            }
            if (!node.isTextual()) {
                errors.add("spec.mode", "expected ENFORCE or OBSERVE, got " + type(node));
                return null;
            }
            PolicyMode mode = null;
            for (PolicyMode m : PolicyMode.values()) {
                if (m.name().equals(node.asText())) {
                    mode = m;
                }
            }
            if (mode == null) {
                errors.add("spec.mode", quote(node.asText()) + " is not a mode (expected ENFORCE or OBSERVE)");
                return null;
            }
            boolean invalid = false;
            for (String f : List.of("action", "rules")) {
                if (spec.has(f) && !spec.get(f).isNull()) {
                    errors.add("spec." + f, "a mode policy (spec.mode) sets how the policies of its services are "
                            + "applied and has no " + f + " of its own; put the rules in a policy of their own");
                    invalid = true;
                }
            }
            return invalid ? null : Optional.of(mode);
        }

        /** Whether the policy is dry-run, and the annotation that says so (the path of errors about it). */
        private record DryRun(boolean value, String path) {
            static final DryRun NO = new DryRun(false, annotationPath(AuthorizationPolicy.DRY_RUN_ANNOTATION));
        }

        /**
         * The dry-run annotations, Isthmus's {@value AuthorizationPolicy#DRY_RUN_ANNOTATION} and Istio's
         * {@value AuthorizationPolicy#ISTIO_DRY_RUN_ANNOTATION}, which mean the same: not dry-run when neither is
         * present; null when one is invalid or the two disagree (the error is recorded).
         */
        private DryRun dryRun(JsonNode annotations) {
            if (annotations == null || annotations.isNull() || !annotations.isObject()) {
                return DryRun.NO;
            }
            String isthmusPath = annotationPath(AuthorizationPolicy.DRY_RUN_ANNOTATION);
            String istioPath = annotationPath(AuthorizationPolicy.ISTIO_DRY_RUN_ANNOTATION);
            JsonNode isthmus = annotations.get(AuthorizationPolicy.DRY_RUN_ANNOTATION);
            JsonNode istio = annotations.get(AuthorizationPolicy.ISTIO_DRY_RUN_ANNOTATION);
            Boolean a = dryRunValue(isthmus, isthmusPath);
            Boolean b = dryRunValue(istio, istioPath);
            if (a == null || b == null) {
                return null;
            }
            boolean hasIsthmus = isthmus != null && !isthmus.isNull();
            boolean hasIstio = istio != null && !istio.isNull();
            if (hasIsthmus && hasIstio && !a.equals(b)) {
                errors.add("metadata.annotations", quote(AuthorizationPolicy.DRY_RUN_ANNOTATION) + " is "
                        + quote(a.toString()) + " but " + quote(AuthorizationPolicy.ISTIO_DRY_RUN_ANNOTATION) + " is "
                        + quote(b.toString()) + ": the two mean the same; remove one, or give both the same value");
                return null;
            }
            if (hasIstio && !hasIsthmus) {
                return new DryRun(b, istioPath);
            }
            return new DryRun(a, isthmusPath);
        }

        /** One dry-run annotation: false when absent, null when invalid (the error is recorded). */
        private Boolean dryRunValue(JsonNode v, String path) {
            if (v == null || v.isNull()) {
                return Boolean.FALSE;
            }
            if (v.isTextual() && (v.asText().equals("true") || v.asText().equals("false"))) {
                return Boolean.valueOf(v.asText());
            }
            errors.add(path, (v.isTextual() ? quote(v.asText()) : type(v))
                    + " is not \"true\" or \"false\" (annotation values are strings: quote them)");
            return null;
        }

        private PolicyAction action(JsonNode node) {
            if (node == null || node.isNull()) {
                return PolicyAction.ALLOW;
            }
            if (!node.isTextual()) {
                errors.add("spec.action", "expected ALLOW, DENY or AUDIT, got " + type(node));
                return null;
            }
            String a = node.asText();
            if (a.equals("CUSTOM")) {
                errors.add("spec.action", "\"CUSTOM\" is not supported by Isthmus (expected ALLOW, DENY or AUDIT)");
                return null;
            }
            for (PolicyAction pa : PolicyAction.values()) {
                if (pa.name().equals(a)) {
                    return pa;
                }
            }
            errors.add("spec.action", quote(a) + " is not an action (expected ALLOW, DENY or AUDIT)");
            return null;
        }

        private Set<String> selector(JsonNode node) {
            if (node == null || node.isNull() || !object(node, "spec.selector")) {
                return Set.of();
            }
            fields(node, "spec.selector", SELECTOR_FIELDS);
            List<String> names = list(node.get("services"), "spec.selector.services", (n, p) -> {
                String s = text(n, p);
                if (s != null && !DNS_LABEL.matcher(s).matches()) {
                    errors.add(p, quote(s) + " is not a service name (a DNS-1123 label)");
                    return null;
                }
                return s;
            });
            if (names.isEmpty()) {
                errors.add("spec.selector.services", "must name at least one service (omit selector to apply "
                        + "to every service of the namespace)");
            }
            return new LinkedHashSet<>(names);
        }

        private Rule rule(JsonNode node, String path) {
            if (!object(node, path)) {
                return null;
            }
            fields(node, path, RULE_FIELDS);
            List<Source> from = nonEmptyList(node.get("from"), path + ".from", (n, p) -> {
                if (!object(n, p)) {
                    return null;
                }
                fields(n, p, FROM_FIELDS);
                JsonNode s = n.get("source");
                if (s == null) {
                    errors.add(p + ".source", "is required");
                    return null;
                }
                return source(s, p + ".source");
            });
            List<Operation> to = nonEmptyList(node.get("to"), path + ".to", (n, p) -> {
                if (!object(n, p)) {
                    return null;
                }
                fields(n, p, TO_FIELDS);
                JsonNode o = n.get("operation");
                if (o == null) {
                    errors.add(p + ".operation", "is required");
                    return null;
                }
                return operation(o, p + ".operation");
            });
            return new Rule(from, to);
        }

        private Source source(JsonNode node, String path) {
            if (!object(node, path)) {
                return null;
            }
            fields(node, path, SOURCE_FIELDS);
            if (!hasAny(node, SOURCE_FIELDS)) {
                errors.add(path, "must set at least one of " + new TreeSet<>(SOURCE_FIELDS));
            }
            return new Source(
                    nonEmptyList(node.get("principals"), path + ".principals", this::principal),
                    nonEmptyList(node.get("notPrincipals"), path + ".notPrincipals", this::principal),
                    nonEmptyList(node.get("trustDomains"), path + ".trustDomains", this::trustDomain),
                    nonEmptyList(node.get("notTrustDomains"), path + ".notTrustDomains", this::trustDomain),
                    nonEmptyList(node.get("namespaces"), path + ".namespaces", this::namespace),
                    nonEmptyList(node.get("notNamespaces"), path + ".notNamespaces", this::namespace));
        }

        private Operation operation(JsonNode node, String path) {
            if (!object(node, path)) {
                return null;
            }
            fields(node, path, OPERATION_FIELDS);
            if (!hasAny(node, OPERATION_FIELDS)) {
                errors.add(path, "must set at least one of " + new TreeSet<>(OPERATION_FIELDS));
            }
            return new Operation(
                    nonEmptyList(node.get("methods"), path + ".methods", this::method),
                    nonEmptyList(node.get("notMethods"), path + ".notMethods", this::method),
                    nonEmptyList(node.get("paths"), path + ".paths", this::httpPath),
                    nonEmptyList(node.get("notPaths"), path + ".notPaths", this::httpPath),
                    new LinkedHashSet<>(nonEmptyList(node.get("ports"), path + ".ports", this::port)),
                    new LinkedHashSet<>(nonEmptyList(node.get("notPorts"), path + ".notPorts", this::port)),
                    nonEmptyList(node.get("hosts"), path + ".hosts", this::host),
                    nonEmptyList(node.get("notHosts"), path + ".notHosts", this::host));
        }

        private StringMatch principal(JsonNode node, String path) {
            String v = text(node, path);
            if (v == null || !pattern(v, path)) {
                return null;
            }
            int scheme = v.indexOf("://");
            if (scheme >= 0 && !v.startsWith("spiffe://")) {
                errors.add(path, quote(v) + " is not a SPIFFE ID pattern (the scheme must be spiffe://, or "
                        + "omitted as in Istio's \"td/ns/<ns>/sa/<sa>\")");
                return null;
            }
            StringMatch m = StringMatch.parse(v, false).orElseThrow();
            String full = v.startsWith("spiffe://") ? v : "spiffe://" + v;
            try {
                if (m.kind() == StringMatch.Kind.EXACT) {
                    SpiffeId.parseWorkload(full);
                } else if (m.kind() == StringMatch.Kind.PREFIX && full.indexOf('/', "spiffe://".length()) > 0) {
                    String td = full.substring("spiffe://".length(), full.indexOf('/', "spiffe://".length()));
                    new TrustDomain(td);
                }
            } catch (InvalidSpiffeIdException e) {
                errors.add(path, quote(v) + " is not a valid principal: " + e.getMessage());
                return null;
            }
            return m;
        }

        private StringMatch trustDomain(JsonNode node, String path) {
            String v = text(node, path);
            if (v == null || !pattern(v, path)) {
                return null;
            }
            StringMatch m = StringMatch.parse(v, false).orElseThrow();
            if (m.kind() == StringMatch.Kind.EXACT) {
                try {
                    return new StringMatch(StringMatch.Kind.EXACT, TrustDomain.parse(v).name(), false);
                } catch (InvalidSpiffeIdException e) {
                    errors.add(path, quote(v) + " is not a trust domain: " + e.getMessage());
                    return null;
                }
            }
            return m;
        }

        private StringMatch namespace(JsonNode node, String path) {
            String v = text(node, path);
            if (v == null || !pattern(v, path)) {
                return null;
            }
            StringMatch m = StringMatch.parse(v, false).orElseThrow();
            if (m.kind() == StringMatch.Kind.EXACT && !DNS_LABEL.matcher(v).matches()) {
                errors.add(path, quote(v) + " is not a namespace name (a DNS-1123 label)");
                return null;
            }
            return m;
        }

        private StringMatch method(JsonNode node, String path) {
            String v = text(node, path);
            if (v == null) {
                return null;
            }
            if (v.equals("*")) {
                return StringMatch.parse(v, false).orElseThrow();
            }
            if (!HTTP_METHODS.contains(v)) {
                String upper = v.toUpperCase(Locale.ROOT);
                errors.add(path, quote(v) + " is not an HTTP method ("
                        + (HTTP_METHODS.contains(upper) ? "methods are upper case: " + quote(upper)
                                : "expected one of " + String.join(", ", HTTP_METHODS) + ", or *")
                        + ")");
                return null;
            }
            return new StringMatch(StringMatch.Kind.EXACT, v, false);
        }

        private StringMatch httpPath(JsonNode node, String path) {
            String v = text(node, path);
            if (v == null) {
                return null;
            }
            if (PathTemplate.isTemplate(v) && (v.indexOf('?') >= 0 || v.indexOf('#') >= 0)) {
                errors.add(path, quote(v) + ": paths are matched without the query string or fragment; "
                        + "remove '?'/'#'");
                return null;
            }
            if (PathTemplate.isTemplate(v)) {
                String e = PathTemplate.error(v);
                if (e != null) {
                    errors.add(path, quote(v) + ": " + e);
                    return null;
                }
            } else if (!pattern(v, path)) {
                return null;
            }
            StringMatch m = PathTemplate.isTemplate(v) ? StringMatch.pathTemplate(v)
                    : StringMatch.parse(v, false).orElseThrow();
            if (v.indexOf('?') >= 0 || v.indexOf('#') >= 0) {
                errors.add(path, quote(v) + ": paths are matched without the query string or fragment; "
                        + "remove '?'/'#'");
                return null;
            }
            if (v.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
                errors.add(path, quote(v) + " contains whitespace or control characters");
                return null;
            }
            if ((m.kind() == StringMatch.Kind.EXACT || m.kind() == StringMatch.Kind.PREFIX) && !v.startsWith("/")) {
                errors.add(path, quote(v) + " must start with '/' (or '*' for a suffix match)");
                return null;
            }
            return m;
        }

        private Integer port(JsonNode node, String path) {
            int p;
            if (node.isIntegralNumber()) {
                p = node.asInt();
                if (!node.canConvertToInt()) {
                    p = -1;
                }
            } else if (node.isTextual() && node.asText().matches("[0-9]{1,5}")) {
                p = Integer.parseInt(node.asText());
            } else {
                errors.add(path, (node.isTextual() ? quote(node.asText()) : type(node)) + " is not a port number");
                return null;
            }
            if (p < 1 || p > 65535) {
                errors.add(path, node.asText() + " is not a port number (1-65535)");
                return null;
            }
            return p;
        }

        /**
         * A host pattern, matched case-insensitively against the destination's mesh name
         * ({@code <service>.<namespace>.<suffix>}): no scheme, port, path, user or trailing dot is ever part of it,
         * so a value with one could never match and is refused (in a DENY rule it would silently deny nothing).
         */
        private StringMatch host(JsonNode node, String path) {
            String v = text(node, path);
            if (v == null || !pattern(v, path)) {
                return null;
            }
            String e = hostError(v);
            if (e != null) {
                errors.add(path, quote(v) + e);
                return null;
            }
            return StringMatch.parse(v, true).orElseThrow();
        }

        /** Why host pattern {@code v} (already a valid {@link StringMatch} pattern) can never match, or null. */
        private static String hostError(String v) {
            if (v.equals("*")) {
                return null;
            }
            if (v.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
                return " contains whitespace or control characters";
            }
            int scheme = v.indexOf("://");
            if (scheme >= 0) {
                return ": hosts are matched against the mesh name, which has no scheme: remove "
                        + quote(v.substring(0, scheme + 3));
            }
            int slash = v.indexOf('/');
            if (slash >= 0) {
                return ": hosts are matched against the mesh name, which has no path: remove "
                        + quote(v.substring(slash)) + " (use paths to match paths)";
            }
            int at = v.indexOf('@');
            if (at >= 0) {
                return ": hosts are matched against the mesh name, which has no user: remove "
                        + quote(v.substring(0, at + 1));
            }
            String name = v.startsWith("*") ? v.substring(1) : v.endsWith("*") ? v.substring(0, v.length() - 1) : v;
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                        || c == ':')) {
                    return ": " + quote(String.valueOf(c)) + " can never be part of a mesh name (letters, digits, "
                            + "'-' and '.')";
                }
            }
            int colon = v.indexOf(':');
            if (colon >= 0) {
                String port = v.substring(colon + 1);
                return ": hosts are matched without the port, against the mesh name: remove "
                        + quote(v.substring(colon)) + " and use ports"
                        + (port.matches("[0-9]{1,5}") ? ": [" + port + "]" : "") + " instead";
            }
            if (name.contains("..")) {
                return ": a mesh name has no empty label (\"..\")";
            }
            if (!v.endsWith("*") && name.endsWith(".")) {
                return ": hosts are matched against the mesh name without a trailing dot: remove it";
            }
            if (!v.startsWith("*") && name.startsWith(".")) {
                return ": a mesh name does not start with '.'";
            }
            return null;
        }

        private boolean pattern(String v, String path) {
            String e = StringMatch.patternError(v);
            if (e != null) {
                errors.add(path, quote(v) + ": " + e);
                return false;
            }
            return true;
        }

        /**
         * A list a rule matches against: absent is "any", but an explicitly empty or null list is refused. Read as
         * "no condition" it would match every caller or request, the opposite of what a list rendered empty (a
         * template whose values ran out) meant to say; Istio refuses an empty {@code from}/{@code to} too.
         */
        private <T> List<T> nonEmptyList(JsonNode node, String path, BiFunction<JsonNode, String, T> element) {
            if (node != null && node.isArray() && node.isEmpty()) {
                errors.add(path, EMPTY_LIST);
                return List.of();
            }
            if (node != null && node.isNull()) {
                // "principals:" with nothing after it (or "~"): what a template whose value ran out renders.
                errors.add(path, NULL_LIST);
                return List.of();
            }
            return list(node, path, element);
        }

        private <T> List<T> list(JsonNode node, String path, BiFunction<JsonNode, String, T> element) {
            if (node == null || node.isNull()) {
                return List.of();
            }
            if (!node.isArray()) {
                errors.add(path, "expected a list, got " + type(node));
                return List.of();
            }
            List<T> out = new ArrayList<>(node.size());
            for (int i = 0; i < node.size(); i++) {
                T t = element.apply(node.get(i), path + "[" + i + "]");
                if (t != null) {
                    out.add(t);
                }
            }
            return out;
        }

        private boolean object(JsonNode node, String path) {
            if (!node.isObject()) {
                errors.add(path, "expected an object, got " + type(node));
                return false;
            }
            return true;
        }

        private void fields(JsonNode node, String path, Set<String> allowed) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
                String f = it.next();
                if (allowed.contains(f)) {
                    continue;
                }
                String p = path.isEmpty() ? f : path + "." + f;
                String why = UNSUPPORTED.get(f);
                errors.add(p, why != null ? why
                        : "unknown field (expected one of " + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
        }

        private boolean hasAny(JsonNode node, Set<String> names) {
            for (String n : names) {
                if (node.has(n) && !node.get(n).isNull()) {
                    return true;
                }
            }
            return false;
        }

        private String requiredText(JsonNode parent, String field, String path) {
            JsonNode n = parent.get(field);
            if (n == null || n.isNull()) {
                errors.add(path, "is required");
                return null;
            }
            return text(n, path);
        }

        private String text(JsonNode node, String path) {
            if (!node.isTextual()) {
                errors.add(path, "expected a string, got " + type(node));
                return null;
            }
            return node.asText();
        }
    }

    static final String EMPTY_LIST = "is an empty list, which would match everything: leave the field out to "
            + "match any, or list at least one value";
    static final String NULL_LIST = "has no value (null), which would match everything: leave the field out to "
            + "match any, or list at least one value";

    static String annotationPath(String annotation) {
        return "metadata.annotations[\"" + annotation + "\"]";
    }

    static String quote(String s) {
        return "\"" + s + "\"";
    }

    private static String type(JsonNode n) {
        return switch (n.getNodeType()) {
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number (" + n.asText() + ")";
            case BOOLEAN -> "a boolean (" + n.asText() + ")";
            case NULL -> "null";
            default -> n.getNodeType().toString().toLowerCase(Locale.ROOT);
        };
    }

}

package io.isthmus.trust.membership;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * Decides whether a membership document may be taken. Two pure steps, each with a typed verdict:
 * <ol>
 * <li>{@link #verify}: the document itself. It is a JWS signed by one of this gateway's federation roots (not by an
 * intermediate, a leaf or a foreign root), its payload is a well-formed membership with unique names and trust
 * domains, and its version is higher than the one held (an older or the same version, replayed, is refused).</li>
 * <li>{@link #admit}: the document against this cluster and the members it adds. It must list this cluster under
 * its own name and trust domain (or not at all: then this cluster is not, or no longer, a member), and every member it
 * adds must, where its bundle endpoint answered, serve a bundle under a federation root for its trust domain.</li>
 * </ol>
 * No I/O, no clock; thread-safe.
 */
public final class MembershipVerifier {
    /** The largest signed document taken (a federation of a few hundred clusters fits easily). */
    public static final int MAX_BYTES = 256 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MembershipCodec codec = new MembershipCodec();

    /**
     * @param compact the signed document as received
     * @param roots the federation roots in force here
     * @param heldVersion the version of the document held now, if any
     */
    public MembershipVerdict verify(String compact, FederationRoots roots, OptionalLong heldVersion) {
        try {
            SignedMembership doc = open(compact == null ? "" : compact.strip(), roots);
            if (heldVersion.isPresent() && doc.version() <= heldVersion.getAsLong()) {
                return new MembershipVerdict.Refused(MembershipRefusal.VERSION_NOT_NEWER, "membership version "
                        + doc.version() + " is not newer than the version " + heldVersion.getAsLong() + " held here"
                        + (doc.version() < heldVersion.getAsLong() ? " (an older document replayed)" : "")
                        + "; sign a new document with version " + (heldVersion.getAsLong() + 1) + " or higher");
            }
            return new MembershipVerdict.Accepted(doc, List.of());
        } catch (InvalidMembershipException e) {
            return new MembershipVerdict.Refused(e.reason(), e.getMessage());
        }
    }

    private SignedMembership open(String compact, FederationRoots roots) {
        if (compact.isEmpty()) {
            throw refuse(MembershipRefusal.MALFORMED, "the membership document is empty");
        }
        if (compact.length() > MAX_BYTES) {
            throw refuse(MembershipRefusal.MALFORMED, "the membership document has " + compact.length()
                    + " bytes, more than the " + MAX_BYTES + " taken");
        }
        if (compact.startsWith("{")) {
            throw refuse(MembershipRefusal.UNSIGNED, "the membership document is bare JSON, not a JWS signed by the"
                    + " federation root; sign it offline: isthmus federation add|remove --root-key ...");
        }
        String[] parts = compact.split("\\.", -1);
        if (parts.length == 2 || parts.length == 3 && parts[2].isEmpty()) {
            throw refuse(MembershipRefusal.UNSIGNED, "the membership document carries no signature");
        }
        if (parts.length != 3) {
            throw refuse(MembershipRefusal.MALFORMED, "the membership document is not a compact JWS"
                    + " (header.payload.signature): it has " + parts.length + " dot-separated parts");
        }
        JsonNode header = header(parts[0]);
        String alg = header.path("alg").asText("");
        if (alg.isEmpty() || "none".equalsIgnoreCase(alg)) {
            throw refuse(MembershipRefusal.UNSIGNED, "the membership document's JWS algorithm is '" + alg
                    + "'; it must be signed by the federation root (ES256, ES384 or RS256)");
        }
        if (!MembershipJws.TYPE.equals(header.path("typ").asText(""))) {
            throw refuse(MembershipRefusal.MALFORMED, "JWS type '" + header.path("typ").asText("") + "' is not '"
                    + MembershipJws.TYPE + "': this is not a membership document");
        }
        X509Certificate signer = signer(header);
        byte[] signature = decode(parts[2], "signature");
        byte[] input = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        if (!MembershipJws.verifies(signer.getPublicKey(), alg, input, signature)) {
            throw refuse(MembershipRefusal.BAD_SIGNATURE, "the " + alg + " signature does not verify under the"
                    + " certificate the document names, " + Certificates.describe(signer)
                    + "; the document was altered after signing, or signed by another key");
        }
        if (!roots.certificates().contains(signer)) {
            String what = Certificates.describe(signer);
            String chain = roots.issuerOf(signer).map(r -> ", issued by federation root " + Certificates.describe(r))
                    .orElse("");
            if (!Certificates.isCa(signer)) {
                throw refuse(MembershipRefusal.SIGNED_BY_LEAF, "the membership document is signed by " + what
                        + chain + ", which is not a CA; only a federation root may change membership");
            }
            if (!Certificates.signedBy(signer, signer)) {
                throw refuse(MembershipRefusal.SIGNED_BY_INTERMEDIATE, "the membership document is signed by"
                        + " intermediate CA " + what + chain + "; only a federation root may change membership (a"
                        + " cluster's intermediate must not admit or remove clusters)");
            }
            throw refuse(MembershipRefusal.UNKNOWN_ROOT, "the membership document is signed by root " + what
                    + ", which is not one of this gateway's federation roots " + roots.certificates().stream()
                            .map(Certificates::describe).toList());
        }
        Membership membership = codec.parse(new String(decode(parts[1], "payload"), StandardCharsets.UTF_8));
        return new SignedMembership(membership, compact, signer);
    }

    /**
     * @param held the membership in force here, if any
     * @param selfName this cluster's name
     * @param selfTrustDomain this cluster's trust domain
     * @param checks what probing each member added by {@code accepted} (see {@link #added}) found; a member missing
     *     here counts as unreachable
     */
    public MembershipVerdict admit(MembershipVerdict.Accepted accepted, Optional<Membership> held, String selfName,
            TrustDomain selfTrustDomain, Map<TrustDomain, MemberCheck> checks) {
        Membership next = accepted.document().membership();
        Optional<Member> byDomain = next.memberOf(selfTrustDomain);
        Optional<Member> byName = next.member(selfName);
        if (byDomain.isPresent() && !byDomain.get().name().equals(selfName)) {
            return new MembershipVerdict.Refused(MembershipRefusal.SELF_MISMATCH, "membership version "
                    + next.version() + " lists this cluster's trust domain " + selfTrustDomain + " as member '"
                    + byDomain.get().name() + "', but this cluster is '" + selfName + "'; fix the member's name");
        }
        if (byName.isPresent() && !byName.get().trustDomain().equals(selfTrustDomain)) {
            return new MembershipVerdict.Refused(MembershipRefusal.SELF_MISMATCH, "membership version "
                    + next.version() + " lists member '" + selfName + "' with trust domain "
                    + byName.get().trustDomain() + ", but this cluster's trust domain is " + selfTrustDomain);
        }
        List<String> warnings = new ArrayList<>(accepted.warnings());
        for (Member m : added(held, next)) {
            if (m.trustDomain().equals(selfTrustDomain)) {
                continue;
            }
            MemberCheck check = checks.getOrDefault(m.trustDomain(), new MemberCheck.Unreachable("not probed"));
            if (check instanceof MemberCheck.NotUnderRoot refused) {
                return new MembershipVerdict.Refused(MembershipRefusal.MEMBER_NOT_UNDER_ROOT, "membership version "
                        + next.version() + " adds member '" + m.name() + "' (" + m.trustDomain() + "), whose bundle"
                        + " endpoint " + m.bundleEndpoint() + " is not under a federation root for that trust domain: "
                        + refused.message() + "; issue its intermediate from the federation root (isthmus ca"
                        + " issue-intermediate --trust-domain " + m.trustDomain() + ")");
            }
            if (check instanceof MemberCheck.Unreachable unreachable) {
                warnings.add("new member '" + m.name() + "' (" + m.trustDomain() + ") was not reachable at "
                        + m.bundleEndpoint() + " (" + unreachable.message() + "); its bundle syncs once it is up");
            }
        }
        return new MembershipVerdict.Accepted(accepted.document(), warnings);
    }

    /**
     * The members of {@code next} that are new to {@code held}: a trust domain not held before, or one whose bundle
     * endpoint moved (what it serves there must be checked again).
     */
    public static List<Member> added(Optional<Membership> held, Membership next) {
        Map<TrustDomain, Member> before = new LinkedHashMap<>();
        held.ifPresent(h -> h.members().forEach(m -> before.put(m.trustDomain(), m)));
        List<Member> out = new ArrayList<>();
        for (Member m : next.members()) {
            Member old = before.get(m.trustDomain());
            if (old == null || !old.bundleEndpoint().equals(m.bundleEndpoint())) {
                out.add(m);
            }
        }
        return out;
    }

    private static JsonNode header(String part) {
        try {
            JsonNode header = JSON.readTree(decode(part, "header"));
            if (header == null || !header.isObject()) {
                throw refuse(MembershipRefusal.MALFORMED, "the JWS header is not a JSON object");
            }
            return header;
        } catch (java.io.IOException e) {
            throw refuse(MembershipRefusal.MALFORMED, "the JWS header is not JSON: " + e.getMessage());
        }
    }

    private static X509Certificate signer(JsonNode header) {
        JsonNode x5c = header.get("x5c");
        if (x5c == null || !x5c.isArray() || x5c.isEmpty() || !x5c.get(0).isTextual()) {
            throw refuse(MembershipRefusal.MALFORMED, "the JWS header names no signer certificate (x5c); sign with"
                    + " isthmus federation, which names the root");
        }
        try {
            byte[] der = Base64.getDecoder().decode(x5c.get(0).asText());
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (IllegalArgumentException | CertificateException e) {
            throw refuse(MembershipRefusal.MALFORMED, "the JWS header's x5c[0] is not a base64 DER certificate: "
                    + e.getMessage());
        }
    }

    private static byte[] decode(String part, String what) {
        try {
            return Base64.getUrlDecoder().decode(part);
        } catch (IllegalArgumentException e) {
            throw refuse(MembershipRefusal.MALFORMED, "the JWS " + what + " is not base64url: " + e.getMessage());
        }
    }

    private static InvalidMembershipException refuse(MembershipRefusal reason, String message) {
        return new InvalidMembershipException(reason, message);
    }
}

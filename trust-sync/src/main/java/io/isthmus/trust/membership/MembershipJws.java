package io.isthmus.trust.membership;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.util.Base64;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The signed form of a membership document: a JWS (RFC 7515) in compact serialization whose payload is the
 * {@link MembershipCodec} JSON, header {@code {"alg": "ES256", "typ": "isthmus-membership+jws", "x5c": [signer]}}.
 * {@code x5c} carries the signing certificate so that a verifier can name what signed a refused document; trust
 * comes only from that certificate being one of the verifier's own roots. Algorithms: ES256 / ES384 (P-256 / P-384
 * root keys, the signature as R||S per RFC 7518) and RS256.
 *
 * <p>Written with the JDK alone: one fixed algorithm family and a fixed header do not need a JOSE library, and the
 * algorithm is chosen by the key, never by the header (no algorithm confusion).
 */
public final class MembershipJws {
    public static final String TYPE = "isthmus-membership+jws";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    private MembershipJws() {
    }

    /** Signs {@code membership} with {@code key}, naming {@code signer} (its certificate) in the header. */
    public static String sign(Membership membership, PrivateKey key, X509Certificate signer) {
        String alg = algorithm(signer.getPublicKey());
        ObjectNode header = JSON.createObjectNode();
        header.put("alg", alg);
        header.put("typ", TYPE);
        try {
            header.putArray("x5c").add(Base64.getEncoder().encodeToString(signer.getEncoded()));
            String input = B64URL.encodeToString(JSON.writeValueAsBytes(header)) + "."
                    + B64URL.encodeToString(new MembershipCodec().toJson(membership).getBytes(StandardCharsets.UTF_8));
            Signature s = Signature.getInstance(jdkAlgorithm(alg));
            s.initSign(key);
            s.update(input.getBytes(StandardCharsets.US_ASCII));
            return input + "." + B64URL.encodeToString(s.sign());
        } catch (GeneralSecurityException | JsonProcessingException e) {
            throw new IllegalStateException("cannot sign the membership document: " + e.getMessage(), e);
        }
    }

    /** The JWS algorithm for a signer's key. */
    static String algorithm(PublicKey key) {
        if (key instanceof ECKey ec) {
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            return switch (bits) {
                case 256 -> "ES256";
                case 384 -> "ES384";
                default -> throw new IllegalArgumentException("EC keys of " + bits + " bits are not supported; use P-256 or P-384");
            };
        }
        if (key instanceof RSAKey) {
            return "RS256";
        }
        throw new IllegalArgumentException("a " + key.getAlgorithm() + " key cannot sign membership; use EC or RSA");
    }

    static String jdkAlgorithm(String alg) {
        return switch (alg) {
            case "ES256" -> "SHA256withECDSAinP1363Format";
            case "ES384" -> "SHA384withECDSAinP1363Format";
            case "RS256" -> "SHA256withRSA";
            default -> throw new IllegalArgumentException("unsupported JWS algorithm " + alg);
        };
    }

    /** Whether {@code signature} over {@code input} verifies under {@code key} with the algorithm the key implies. */
    static boolean verifies(PublicKey key, String claimedAlg, byte[] input, byte[] signature) {
        try {
            String alg = algorithm(key);
            if (!alg.equals(claimedAlg)) {
                return false;
            }
            Signature s = Signature.getInstance(jdkAlgorithm(alg));
            s.initVerify(key);
            s.update(input);
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /** For tests and tools: the three parts of a compact JWS. */
    static List<String> parts(String compact) {
        return List.of(compact.split("\\.", -1));
    }
}

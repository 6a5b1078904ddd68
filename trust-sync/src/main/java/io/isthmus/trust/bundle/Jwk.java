package io.isthmus.trust.bundle;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/** JWK public key parameters (RFC 7518 section 6) for the key types bundles carry: EC P-256 and RSA. */
final class Jwk {
    static final String KTY_EC = "EC";
    static final String KTY_RSA = "RSA";
    private static final int P256_COORDINATE_BYTES = 32;
    private static final ECParameterSpec P256 = p256();

    private Jwk() {
    }

    static boolean supportedKty(String kty) {
        return KTY_EC.equals(kty) || KTY_RSA.equals(kty);
    }

    /** kty and the key parameters, in the order RFC 7638 thumbprints list them. */
    static Map<String, String> params(PublicKey key) {
        Map<String, String> p = new LinkedHashMap<>();
        if (key instanceof ECPublicKey ec) {
            if (ec.getParams().getCurve().getField().getFieldSize() != 256) {
                throw new IllegalArgumentException("only P-256 EC keys can be written to a bundle");
            }
            p.put("kty", KTY_EC);
            p.put("crv", "P-256");
            p.put("x", b64(unsigned(ec.getW().getAffineX(), P256_COORDINATE_BYTES)));
            p.put("y", b64(unsigned(ec.getW().getAffineY(), P256_COORDINATE_BYTES)));
        } else if (key instanceof RSAPublicKey rsa) {
            p.put("kty", KTY_RSA);
            p.put("n", b64(unsigned(rsa.getModulus(), 0)));
            p.put("e", b64(unsigned(rsa.getPublicExponent(), 0)));
        } else {
            throw new IllegalArgumentException("unsupported key algorithm " + key.getAlgorithm());
        }
        return p;
    }

    /**
     * The public key the JWK parameters describe.
     *
     * @param param looks up a string parameter, null when absent
     * @throws IllegalArgumentException naming the missing or malformed parameter
     */
    static PublicKey toPublicKey(String kty, java.util.function.Function<String, String> param) {
        try {
            if (KTY_EC.equals(kty)) {
                String crv = param.apply("crv");
                if (!"P-256".equals(crv)) {
                    throw new IllegalArgumentException("crv must be P-256, got " + crv);
                }
                BigInteger x = coordinate(param, "x");
                BigInteger y = coordinate(param, "y");
                if (!onP256(x, y)) {
                    // KeyFactory accepts any point; an off-curve key invites invalid-curve attacks.
                    throw new IllegalArgumentException("the point (x, y) is not on the P-256 curve");
                }
                return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(x, y), P256));
            }
            if (KTY_RSA.equals(kty)) {
                BigInteger n = new BigInteger(1, decode(param, "n"));
                BigInteger e = new BigInteger(1, decode(param, "e"));
                if (n.bitLength() < 2048) {
                    throw new IllegalArgumentException("RSA modulus is " + n.bitLength() + " bits; at least 2048 required");
                }
                return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("key parameters do not form a valid " + kty + " key: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("unsupported kty " + kty);
    }

    /** Whether the JWK's own parameters, where present, describe {@code key}. */
    static boolean describes(String kty, java.util.function.Function<String, String> param, PublicKey key) {
        Map<String, String> expected;
        try {
            expected = params(key);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (!expected.get("kty").equals(kty)) {
            return false;
        }
        for (Map.Entry<String, String> e : expected.entrySet()) {
            String actual = param.apply(e.getKey());
            if (actual != null && !actual.equals(e.getValue())) {
                return false;
            }
        }
        return true;
    }

    /** y^2 == x^3 + a*x + b (mod p), with both coordinates in [0, p). */
    static boolean onP256(BigInteger x, BigInteger y) {
        java.security.spec.ECFieldFp field = (java.security.spec.ECFieldFp) P256.getCurve().getField();
        BigInteger p = field.getP();
        if (x.signum() < 0 || y.signum() < 0 || x.compareTo(p) >= 0 || y.compareTo(p) >= 0) {
            return false;
        }
        BigInteger a = P256.getCurve().getA();
        BigInteger b = P256.getCurve().getB();
        BigInteger left = y.modPow(BigInteger.TWO, p);
        BigInteger right = x.pow(3).add(a.multiply(x)).add(b).mod(p);
        return left.equals(right);
    }

    private static BigInteger coordinate(java.util.function.Function<String, String> param, String name) {
        byte[] bytes = decode(param, name);
        if (bytes.length != P256_COORDINATE_BYTES) {
            throw new IllegalArgumentException(name + " must be " + P256_COORDINATE_BYTES + " bytes, got " + bytes.length);
        }
        return new BigInteger(1, bytes);
    }

    private static byte[] decode(java.util.function.Function<String, String> param, String name) {
        String value = param.apply(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("parameter '" + name + "' is missing");
        }
        try {
            return Base64.getUrlDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("parameter '" + name + "' is not base64url", e);
        }
    }

    private static byte[] unsigned(BigInteger value, int length) {
        byte[] bytes = value.toByteArray();
        int start = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
        int n = bytes.length - start;
        int size = Math.max(length, n);
        byte[] out = new byte[size];
        System.arraycopy(bytes, start, out, size - n, n);
        return out;
    }

    private static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static ECParameterSpec p256() {
        try {
            AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
            params.init(new ECGenParameterSpec("secp256r1"));
            return params.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("P-256 is not available in this JVM", e);
        }
    }
}

package io.isthmus.trust.x509;

import java.security.KeyPair;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** PKCS#10 certificate requests over a key held here; the signer takes only the key from them. */
public final class Csrs {
    private Csrs() {
    }

    /** A PEM CSR for {@code keys}, self-signed with its private key (proof of possession). */
    public static String create(KeyPair keys, X500Name subject) {
        try {
            return Pem.write(new JcaPKCS10CertificationRequestBuilder(subject, keys.getPublic())
                    .build(new JcaContentSignerBuilder(Crypto.signatureAlgorithm(keys.getPrivate())).setProvider(Crypto.BC)
                            .build(keys.getPrivate())));
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign a certificate request: " + e.getMessage(), e);
        }
    }
}

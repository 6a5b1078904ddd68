package io.isthmus.trust.x509;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.testing.TestCa;

class PemTest {
    private final TestCa pki = TestCa.create();

    @Test
    void privateKeysRoundTripAsPkcs8() {
        KeyPair keys = Crypto.generateEcP256();
        String pem = Pem.writePrivateKey(keys.getPrivate());
        assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Crypto.keysMatch(Pem.readPrivateKey(pem, "test"), keys.getPublic())).isTrue();
    }

    @Test
    void certificatesRoundTripInOrder() {
        CaCredential a = pki.intermediate("a.acme.internal");
        String pem = Pem.write(a.certificate(), pki.rootCertificate());
        assertThat(Pem.readCertificates(pem, "test")).containsExactly(a.certificate(), pki.rootCertificate());
    }

    @Test
    void saysWhatItFoundWhenItIsNotWhatWasAsked() {
        String cert = Pem.write(pki.rootCertificate());
        String key = Pem.writePrivateKey(pki.root().key());
        assertThatThrownBy(() -> Pem.readPrivateKey(cert, "ca.pem")).hasMessage(
                "ca.pem: expected an unencrypted PRIVATE KEY, found a CERTIFICATE");
        assertThatThrownBy(() -> Pem.readCertificates(key, "k.pem")).hasMessage(
                "k.pem: expected only CERTIFICATE blocks, found a PRIVATE KEY");
        assertThatThrownBy(() -> Pem.readCertificates("", "empty.pem")).hasMessage("empty.pem: no CERTIFICATE block found");
        assertThatThrownBy(() -> Pem.readPrivateKey(key + key, "two.pem"))
                .hasMessageContaining("expected one private key, found more PEM blocks after it");
        assertThatThrownBy(() -> Pem.readCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "bad.pem"))
                .isInstanceOf(PemException.class).hasMessageStartingWith("bad.pem: ");
    }
}

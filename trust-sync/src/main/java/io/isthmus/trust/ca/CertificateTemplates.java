package io.isthmus.trust.ca;

import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import io.isthmus.trust.x509.Crypto;

/** The parts every certificate Isthmus signs shares: random serial, key identifiers, signing. */
final class CertificateTemplates {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final JcaX509CertificateConverter CONVERTER = new JcaX509CertificateConverter();

    private CertificateTemplates() {
    }

    /** A positive 127-bit serial: unpredictable, and within RFC 5280's 20 octets. */
    static BigInteger newSerial() {
        return new BigInteger(127, RANDOM).setBit(120);
    }

    static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, PublicKey subjectKey,
            PublicKey issuerKey, Instant notBefore, Instant notAfter) {
        try {
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, newSerial(),
                    Date.from(notBefore), Date.from(notAfter), subject, subjectKey);
            SubjectKeyIdentifier ski = utils.createSubjectKeyIdentifier(subjectKey);
            AuthorityKeyIdentifier aki = utils.createAuthorityKeyIdentifier(issuerKey);
            b.addExtension(Extension.subjectKeyIdentifier, false, ski);
            b.addExtension(Extension.authorityKeyIdentifier, false, aki);
            return b;
        } catch (java.security.NoSuchAlgorithmException | CertIOException e) {
            throw new IllegalStateException("cannot build certificate template", e);
        }
    }

    static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey) {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(Crypto.signatureAlgorithm(issuerKey))
                    .setProvider(Crypto.BC).build(issuerKey);
            return toX509(builder.build(signer));
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign certificate", e);
        }
    }

    /** The signed certificate as the JDK's own object (what TLS and PKIX code expects). */
    static X509Certificate toX509(org.bouncycastle.cert.X509CertificateHolder holder) {
        try {
            return CONVERTER.getCertificate(holder);
        } catch (java.security.cert.CertificateException e) {
            throw new IllegalStateException("cannot read back a certificate just signed", e);
        }
    }

    static void add(X509v3CertificateBuilder b, org.bouncycastle.asn1.ASN1ObjectIdentifier oid, boolean critical,
            org.bouncycastle.asn1.ASN1Encodable value) {
        try {
            b.addExtension(oid, critical, value);
        } catch (CertIOException e) {
            throw new IllegalStateException("cannot add extension " + oid, e);
        }
    }

    /** Subject of an existing certificate, byte-exact, so that issuer/subject chaining never depends on re-encoding. */
    static X500Name subjectOf(X509Certificate cert) {
        try {
            return new org.bouncycastle.cert.jcajce.JcaX509CertificateHolder(cert).getSubject();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalArgumentException("cannot read subject of " + cert.getSubjectX500Principal(), e);
        }
    }
}

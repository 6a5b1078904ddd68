package io.isthmus.trust.x509;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMException;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Reads and writes PEM: certificates, PKCS#8 / SEC1 private keys and PKCS#10 requests. Every failure is a
 * {@link PemException} that says what was expected and what was found; nothing is returned half-read.
 */
public final class Pem {
    private static final int MAX_PEM_BYTES = 1 << 20;

    private Pem() {
    }

    public static List<X509Certificate> readCertificates(Path file) {
        return readCertificates(readFile(file), file.toString());
    }

    /** All certificates in {@code pem}, in order. At least one is required. */
    public static List<X509Certificate> readCertificates(String pem, String source) {
        List<X509Certificate> certs = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            Object o;
            while ((o = next(parser, source)) != null) {
                if (!(o instanceof org.bouncycastle.cert.X509CertificateHolder holder)) {
                    throw new PemException(source + ": expected only CERTIFICATE blocks, found " + describe(o));
                }
                certs.add(toX509(holder.getEncoded(), source));
            }
        } catch (IOException e) {
            throw new PemException(source + ": unreadable PEM: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) {
            throw new PemException(source + ": no CERTIFICATE block found");
        }
        return List.copyOf(certs);
    }

    public static X509Certificate readCertificate(Path file) {
        List<X509Certificate> certs = readCertificates(file);
        if (certs.size() != 1) {
            throw new PemException(file + ": expected exactly one certificate, found " + certs.size());
        }
        return certs.get(0);
    }

    public static PrivateKey readPrivateKey(Path file) {
        return readPrivateKey(readFile(file), file.toString());
    }

    /** One private key, PKCS#8 ("PRIVATE KEY") or SEC1/PKCS#1 ("EC PRIVATE KEY", "RSA PRIVATE KEY"). */
    public static PrivateKey readPrivateKey(String pem, String source) {
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            Object o = next(parser, source);
            if (o == null) {
                throw new PemException(source + ": no PRIVATE KEY block found");
            }
            if (next(parser, source) != null) {
                throw new PemException(source + ": expected one private key, found more PEM blocks after it");
            }
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair pair) {
                return converter.getPrivateKey(pair.getPrivateKeyInfo());
            }
            if (o instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            throw new PemException(source + ": expected an unencrypted PRIVATE KEY, found " + describe(o));
        } catch (PEMException e) {
            throw new PemException(source + ": unsupported private key: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new PemException(source + ": unreadable PEM: " + e.getMessage(), e);
        }
    }

    /** One PKCS#10 certificate request, PEM or DER. Its signature is not checked here. */
    public static PKCS10CertificationRequest readCsr(byte[] pemOrDer) {
        if (pemOrDer.length > MAX_PEM_BYTES) {
            throw new PemException("CSR is larger than " + MAX_PEM_BYTES + " bytes");
        }
        String text = new String(pemOrDer, StandardCharsets.US_ASCII);
        if (!text.contains("-----BEGIN")) {
            try {
                return new PKCS10CertificationRequest(pemOrDer);
            } catch (IOException | RuntimeException e) {
                throw new PemException("CSR is neither PEM nor a DER PKCS#10 request: " + e.getMessage(), e);
            }
        }
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o = next(parser, "CSR");
            if (o instanceof PKCS10CertificationRequest csr) {
                if (next(parser, "CSR") != null) {
                    throw new PemException("CSR: expected one CERTIFICATE REQUEST block, found more after it");
                }
                return csr;
            }
            throw new PemException("CSR: expected a CERTIFICATE REQUEST block, found " + describe(o));
        } catch (IOException e) {
            throw new PemException("CSR: unreadable PEM: " + e.getMessage(), e);
        }
    }

    public static String write(Object... objects) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            for (Object o : objects) {
                if (o instanceof List<?> list) {
                    for (Object item : list) {
                        writer.writeObject(item);
                    }
                } else {
                    writer.writeObject(o);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** The private key as PKCS#8 "PRIVATE KEY", the form openssl and most tools read. */
    public static String writePrivateKey(PrivateKey key) {
        // Written as the PKCS#8 bytes themselves: letting the PEM writer re-encode an EC key as SEC1 drops the
        // curve parameters that SunEC leaves out of the inner structure, and the key becomes unreadable.
        StringWriter out = new StringWriter();
        try (org.bouncycastle.util.io.pem.PemWriter writer = new org.bouncycastle.util.io.pem.PemWriter(out)) {
            writer.writeObject(new org.bouncycastle.util.io.pem.PemObject("PRIVATE KEY", key.getEncoded()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    public static X509Certificate toX509(byte[] der, String source) {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            return (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException | RuntimeException e) {
            throw new PemException(source + ": not a parseable X.509 certificate: " + e.getMessage(), e);
        }
    }

    private static Object next(PEMParser parser, String source) throws IOException {
        try {
            return parser.readObject();
        } catch (PEMException e) {
            throw new PemException(source + ": malformed PEM block: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new PemException(source + ": malformed PEM block: " + e, e);
        }
    }

    private static String describe(Object o) {
        if (o == null) {
            return "nothing";
        }
        if (o instanceof SubjectPublicKeyInfo) {
            return "a PUBLIC KEY";
        }
        if (o instanceof PKCS10CertificationRequest) {
            return "a CERTIFICATE REQUEST";
        }
        if (o instanceof PEMKeyPair || o instanceof PrivateKeyInfo) {
            return "a PRIVATE KEY";
        }
        if (o instanceof org.bouncycastle.cert.X509CertificateHolder) {
            return "a CERTIFICATE";
        }
        if (o instanceof org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo
                || o instanceof org.bouncycastle.openssl.PEMEncryptedKeyPair) {
            return "an encrypted private key (decrypt it first)";
        }
        return o.getClass().getSimpleName();
    }

    private static String readFile(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_PEM_BYTES) {
                throw new PemException(file + ": larger than " + MAX_PEM_BYTES + " bytes, not a PEM file");
            }
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new PemException(file + ": not a text PEM file");
        } catch (IOException e) {
            throw new PemException(file + ": cannot read: " + e, e);
        }
    }
}

package io.isthmus.trust.x509;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;

/**
 * Object identifiers of Isthmus's own certificate extensions. Isthmus has no IANA Private Enterprise Number, so each
 * is a UUID OID: {@code 2.25.<a random UUID read as one unsigned decimal integer>} (ITU-T X.667 | ISO/IEC 9834-8,
 * section 6.3), an arc where anyone may mint an identifier without registration and which no other party's can
 * collide with. Every extension here is non-critical, so any X.509 implementation that does not know it (OpenSSL,
 * Go, the JDK's PKIX, java-spiffe) still accepts the certificate, as the SPIFFE X.509-SVID spec allows.
 */
public final class IsthmusOids {
    private IsthmusOids() {
    }

    /**
     * On an X.509-SVID leaf: "issued to a workload through its VM's agent" ({@code POST /v1/agent/workload-svid}), never
     * on a VM agent's own SVID (enrolment, renewal). Its value is the DER UTF8String of the SPIFFE ID of the agent that
     * asked for it. Its presence, whatever its value, means the certificate is not an agent credential: the gateway's
     * agent-only endpoints refuse it, so a workload given the VM's own SPIFFE ID cannot act as the agent.
     * UUID 9e8a1b85-6b6b-4ab7-aba3-fe7958bc66bc.
     */
    public static final ASN1ObjectIdentifier WORKLOAD_ISSUED_TO_AGENT =
            new ASN1ObjectIdentifier("2.25.210735118496144031080621664851518580412");
}

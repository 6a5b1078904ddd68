package io.isthmus.gateway.enrolment;

import java.security.cert.X509Certificate;

import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1UTF8String;

import io.isthmus.trust.x509.IsthmusOids;

/**
 * Whether a client certificate is a VM agent's own credential (its SVID from enrolment or renewal) or a workload SVID
 * the gateway signed for the agent ({@code POST /v1/agent/workload-svid}), which carries the extension
 * {@link IsthmusOids#WORKLOAD_ISSUED_TO_AGENT}. A workload may hold the VM's own SPIFFE ID, so the ID alone cannot
 * tell them apart; the mark does. Its presence alone decides, whatever its value or criticality: a value that cannot
 * be read is refused too, never taken for an agent. Pure.
 */
public final class AgentCredential {
    private AgentCredential() {
    }

    /** The decision on a client certificate's leaf. */
    public sealed interface Verdict {
    }

    /** No mark: the agent's own SVID (the caller has checked the chain and the VM identity). */
    public record Agent() implements Verdict {
    }

    /**
     * The mark: a workload SVID. {@code issuedThrough} is the agent the value names, or a description of why the
     * value could not be read.
     */
    public record WorkloadSvid(String issuedThrough, boolean malformed) implements Verdict {
    }

    public static Verdict check(X509Certificate leaf) {
        byte[] ext = leaf.getExtensionValue(IsthmusOids.WORKLOAD_ISSUED_TO_AGENT.getId());
        if (ext == null) {
            return new Agent();
        }
        try {
            ASN1Primitive value = ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(ext).getOctets());
            if (value instanceof ASN1UTF8String agent && !agent.getString().isBlank()) {
                return new WorkloadSvid(agent.getString(), false);
            }
            return new WorkloadSvid("(unreadable mark: not a UTF8String SPIFFE ID)", true);
        } catch (java.io.IOException | RuntimeException e) {
            return new WorkloadSvid("(unreadable mark: " + e.getMessage() + ")", true);
        }
    }

    /** Whether {@code leaf} may call the agent-only endpoints: true only without the mark. */
    public static boolean isAgentCredential(X509Certificate leaf) {
        return check(leaf) instanceof Agent;
    }
}

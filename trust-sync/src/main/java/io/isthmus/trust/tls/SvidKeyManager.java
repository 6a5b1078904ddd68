package io.isthmus.trust.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;

/**
 * Presents the current SVID in every handshake, so rotation needs no restart and no new SSLContext. The alias
 * names the exact SVID (its serial) so that the chain and the key a handshake asks for separately always
 * belong together, even when a rotation lands between the two calls.
 */
public final class SvidKeyManager extends X509ExtendedKeyManager {
    private static final String PREFIX = "svid:";

    private final SvidSource source;
    /** The SVID most recently handed out, kept so a handshake in flight can finish with it after a rotation. */
    private final AtomicReference<X509Svid> lastChosen = new AtomicReference<>();

    public SvidKeyManager(SvidSource source) {
        this.source = source;
    }

    private String choose(String[] keyTypes) {
        X509Svid svid = source.current();
        if (svid == null) {
            return null;
        }
        String algorithm = svid.key().getAlgorithm();
        if (keyTypes != null) {
            boolean match = false;
            for (String type : keyTypes) {
                if (type == null || type.equals(algorithm) || type.startsWith(algorithm + "_")
                        || ("EC".equals(algorithm) && type.startsWith("EC"))) {
                    match = true;
                    break;
                }
            }
            if (!match) {
                return null;
            }
        }
        lastChosen.set(svid);
        return PREFIX + Certificates.serialHex(svid.leaf());
    }

    private X509Svid byAlias(String alias) {
        X509Svid current = source.current();
        if (current != null && alias.equals(PREFIX + Certificates.serialHex(current.leaf()))) {
            return current;
        }
        X509Svid last = lastChosen.get();
        if (last != null && alias.equals(PREFIX + Certificates.serialHex(last.leaf()))) {
            return last;
        }
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return choose(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return choose(keyTypes);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return choose(new String[] {keyType});
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return choose(new String[] {keyType});
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        String alias = choose(new String[] {keyType});
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return getClientAliases(keyType, issuers);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        X509Svid svid = alias == null ? null : byAlias(alias);
        return svid == null ? null : svid.chain().toArray(X509Certificate[]::new);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        X509Svid svid = alias == null ? null : byAlias(alias);
        return svid == null ? null : svid.key();
    }
}

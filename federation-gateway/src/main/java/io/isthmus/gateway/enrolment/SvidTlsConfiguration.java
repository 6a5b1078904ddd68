package io.isthmus.gateway.enrolment;

import java.security.KeyStore;
import java.security.Provider;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;

import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.tls.TlsContexts;
import io.quarkus.tls.BaseTlsConfiguration;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.SSLOptions;
import io.vertx.core.net.TrustOptions;

/**
 * The TLS of the gateway's main HTTP server (port 15012): presents the gateway's current SVID on every handshake
 * (rotation needs no reload: {@link SvidKeyManager} reads the live snapshot) and accepts, but does not require,
 * a client SVID that verifies under the federation's current bundles. Which client may do what is decided per
 * request (renewal: an enrolled VM of this trust domain; admin: a configured admin ID).
 */
final class SvidTlsConfiguration extends BaseTlsConfiguration {
    static final String NAME = "isthmus-enrolment";
    private static final Provider PROVIDER = new Provider("isthmus-svid", "1.0", "SVID key and trust managers") {
        private static final long serialVersionUID = 1L;
    };

    private final TrustRuntime runtime;
    private final KeyManager keyManager;
    private final TrustManager trustManager;

    SvidTlsConfiguration(TrustRuntime runtime) {
        this.runtime = runtime;
        this.keyManager = new SvidKeyManager(runtime);
        this.trustManager = new SpiffeTrustManager(runtime.verifier(), PeerPolicy.anyFederated());
    }

    @Override
    public KeyCertOptions getKeyStoreOptions() {
        return KeyCertOptions.wrap(new FixedKeyManagerFactory(keyManager));
    }

    @Override
    public TrustOptions getTrustStoreOptions() {
        return TrustOptions.wrap(new FixedTrustManagerFactory(trustManager));
    }

    @Override
    public SSLOptions getSSLOptions() {
        SSLOptions options = new SSLOptions();
        options.setEnabledSecureTransportProtocols(java.util.Set.of(TlsContexts.PROTOCOLS));
        return options;
    }

    @Override
    public SSLContext createSSLContext() {
        return TlsContexts.create(runtime, new SpiffeTrustManager(runtime.verifier(), PeerPolicy.anyFederated()));
    }

    @Override
    public KeyStore getKeyStore() {
        return null;
    }

    @Override
    public String getName() {
        return NAME;
    }

    private static final class FixedKeyManagerFactory extends KeyManagerFactory {
        FixedKeyManagerFactory(KeyManager km) {
            super(new KeyManagerFactorySpi() {
                @Override
                protected void engineInit(KeyStore ks, char[] password) {
                }

                @Override
                protected void engineInit(ManagerFactoryParameters spec) {
                }

                @Override
                protected KeyManager[] engineGetKeyManagers() {
                    return new KeyManager[] {km};
                }
            }, PROVIDER, "isthmus-svid");
        }
    }

    private static final class FixedTrustManagerFactory extends TrustManagerFactory {
        FixedTrustManagerFactory(TrustManager tm) {
            super(new TrustManagerFactorySpi() {
                @Override
                protected void engineInit(KeyStore ks) {
                }

                @Override
                protected void engineInit(ManagerFactoryParameters spec) {
                }

                @Override
                protected TrustManager[] engineGetTrustManagers() {
                    return new TrustManager[] {tm};
                }
            }, PROVIDER, "isthmus-spiffe");
        }
    }
}

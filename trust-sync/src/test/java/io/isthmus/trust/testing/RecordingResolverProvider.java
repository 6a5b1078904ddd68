package io.isthmus.trust.testing;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * The JVM's resolver in trust-sync's tests (installed by {@code META-INF/services}, kept out of the test-jar): the
 * JDK's own, unchanged, except that every reverse lookup ({@link InetAddress#getHostName()} of an address without a
 * name, whoever calls it) is recorded first. The JDK sends every lookup through this one resolver, so a test can show
 * that serving a client looked up nothing.
 */
public final class RecordingResolverProvider extends InetAddressResolverProvider {
    private static final List<InetAddress> REVERSE = new CopyOnWriteArrayList<>();
    private static volatile boolean installed;

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        installed = true;
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                return builtin.lookupByName(host, policy);
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                REVERSE.add(InetAddress.getByAddress(addr));
                return builtin.lookupByAddress(addr);
            }
        };
    }

    @Override
    public String name() {
        return "isthmus-test-recording-resolver";
    }

    /** Whether the JVM resolves through this provider (it is chosen at the JVM's first lookup). */
    public static boolean installed() {
        return installed;
    }

    /** How many reverse lookups of {@code address} the JVM has made so far. */
    public static long reverseLookupsOf(InetAddress address) {
        return REVERSE.stream().filter(address::equals).count();
    }
}

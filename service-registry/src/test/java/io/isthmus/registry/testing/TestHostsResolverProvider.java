package io.isthmus.registry.testing;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The JVM's name resolver in this module's tests (installed through {@code META-INF/services}): names registered
 * with {@link #register} resolve to the given addresses, like A records of a headless Kubernetes Service; every
 * other name and every reverse lookup goes to the JDK's built-in resolver unchanged. It stands in for the DNS
 * server only; the code under test resolves through the ordinary {@code InetAddress} path.
 */
public final class TestHostsResolverProvider extends InetAddressResolverProvider {
    private static final Map<String, List<InetAddress>> NAMES = new ConcurrentHashMap<>();

    /** Makes {@code name} resolve to {@code addresses} until {@link #unregister}. */
    public static void register(String name, List<InetAddress> addresses) {
        NAMES.put(normalise(name), List.copyOf(addresses));
    }

    public static void unregister(String name) {
        NAMES.remove(normalise(name));
    }

    private static String normalise(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                List<InetAddress> registered = NAMES.get(normalise(host));
                return registered != null ? registered.stream() : builtin.lookupByName(host, policy);
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                return builtin.lookupByAddress(addr);
            }
        };
    }

    @Override
    public String name() {
        return "isthmus-test-hosts";
    }
}

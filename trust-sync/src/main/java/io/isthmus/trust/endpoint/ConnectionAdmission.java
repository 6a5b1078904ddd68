package io.isthmus.trust.endpoint;

/**
 * Whether a listener takes one more connection, judged at accept from the counts of connections it holds open: the
 * bundle endpoint (which answers anyone: bundles are public) and the data plane's ingress and egress. Without a bound
 * one client could hold every file descriptor, and the memory of a TLS engine per connection, with idle connections.
 * Pure; thread-safe.
 */
public final class ConnectionAdmission {
    private ConnectionAdmission() {
    }

    public enum Reason {
        PER_CLIENT("max-connections-per-client"), TOTAL("max-connections");

        private final String setting;

        Reason(String setting) {
            this.setting = setting;
        }

        /** The setting that bounds it, below the listener's prefix ({@link ConnectionLimits#settings()}). */
        public String setting() {
            return setting;
        }
    }

    public sealed interface Verdict {
        record Admit() implements Verdict {
        }

        /** Close it now; {@code detail} names the client, the count, the limit and what to do. */
        record Refused(Reason reason, String detail) implements Verdict {
        }
    }

    /**
     * @param client the client's IP address as text
     * @param fromClient connections from that address open now (this one not counted)
     * @param total connections open now (this one not counted)
     */
    public static Verdict decide(String client, int fromClient, int total, ConnectionLimits limits) {
        if (fromClient < 0 || total < fromClient) {
            throw new IllegalArgumentException("open connections " + fromClient + " from " + client + " of " + total
                    + " in all: expected 0 <= from-client <= total");
        }
        if (fromClient >= limits.perClient()) {
            return new Verdict.Refused(Reason.PER_CLIENT, client + " holds " + fromClient + " open connections, the "
                    + "limit per client (" + limits.perClientSetting() + "=" + limits.perClient() + "): this client "
                    + "leaks or floods connections, or many clients share its address (NAT, a proxy, a node's "
                    + "address): then raise the limit");
        }
        if (total >= limits.total()) {
            return new Verdict.Refused(Reason.TOTAL, "the listener holds " + total + " open connections, its limit "
                    + "(" + limits.totalSetting() + "=" + limits.total() + "); refused "
                    + client + ". Many clients hold connections open: find them (ss -tn sport = :<port>) or raise "
                    + "the limit");
        }
        return new Verdict.Admit();
    }
}

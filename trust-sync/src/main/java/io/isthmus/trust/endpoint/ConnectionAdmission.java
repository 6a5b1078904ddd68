package io.isthmus.trust.endpoint;

/**
 * Whether the bundle endpoint takes one more connection, judged at accept from the counts of connections it holds
 * open. The endpoint answers anyone (bundles are public), so without a bound one client could hold every file
 * descriptor and thread with idle connections. Pure; thread-safe.
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

        /** The {@code isthmus.bundle-endpoint.*} setting that bounds it. */
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
                    + "limit per client (isthmus.bundle-endpoint." + Reason.PER_CLIENT.setting() + "=" + limits.perClient()
                    + "); a peer needs one or two at a time, so this client leaks or floods connections. If many "
                    + "peers share this address (NAT, a proxy), raise the limit");
        }
        if (total >= limits.total()) {
            return new Verdict.Refused(Reason.TOTAL, "the endpoint holds " + total + " open connections, its limit "
                    + "(isthmus.bundle-endpoint." + Reason.TOTAL.setting() + "=" + limits.total() + "); refused "
                    + client + ". Many clients hold connections open: find them (ss -tn sport = :<port>) or raise "
                    + "the limit");
        }
        return new Verdict.Admit();
    }
}

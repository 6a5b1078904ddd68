package io.isthmus.gateway.l4;

import java.util.List;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import io.isthmus.gateway.api.access.FederatedRead;
import io.isthmus.gateway.proxy.ProxyService;
import io.isthmus.proxy.l4.TcpListeners;

/**
 * The egress's TCP listeners, as bound: {@code GET /v1/tcp-listeners}. What an operator (or a DNS record:
 * {@code srv}, to serve as {@code _<port>._tcp.<service>.<namespace>.<mesh suffix>}) needs to point clients at a TCP
 * service: the address each one listens on, and whom its clients act as. Readers of the registry only
 * ({@link FederatedRead}): a listener whose plaintext clients act as an identity is a door that identity's name is
 * written on, and where it is.
 */
@FederatedRead
@Path("/v1/tcp-listeners")
@Produces(MediaType.APPLICATION_JSON)
public class TcpListenerResource {
    @Inject
    ProxyService proxy;

    /**
     * @param listen          {@code host:port} the listener is bound to
     * @param clients         {@code tls-svid} (clients present their SVID) or {@code plaintext}
     * @param plaintextCaller the identity plaintext clients act as, or null
     * @param srv             an SRV record for the listener ({@code <bind host>} when it listens on every address:
     *                        put the egress's own DNS name there)
     */
    public record ListenerView(String name, String service, int port, String serverName, String listen,
            String clients, String plaintextCaller, String srv) {
        static ListenerView of(TcpListeners.Bound b) {
            var spec = b.spec();
            String host = b.address().getAddress() != null && !b.address().getAddress().isAnyLocalAddress()
                    ? b.address().getAddress().getHostAddress() : "<egress host>";
            return new ListenerView(spec.name(), spec.route().name().host(), spec.route().port(), spec.route().sni(),
                    b.address().getHostString() + ":" + b.address().getPort(),
                    spec.plaintextCaller().isPresent() ? "plaintext" : "tls-svid",
                    spec.plaintextCaller().map(Object::toString).orElse(null),
                    "_" + spec.route().port() + "._tcp." + spec.route().name().host() + ". 30 IN SRV 0 0 "
                            + b.address().getPort() + " " + host + ".");
        }
    }

    @GET
    public List<ListenerView> list() {
        return proxy.tcpListeners().stream().map(ListenerView::of).toList();
    }
}

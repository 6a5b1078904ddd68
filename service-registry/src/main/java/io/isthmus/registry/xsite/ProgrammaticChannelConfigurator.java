package io.isthmus.registry.xsite;

import java.util.List;

import javax.sql.DataSource;

import org.infinispan.remoting.transport.jgroups.JGroupsChannelConfigurator;
import org.jgroups.JChannel;
import org.jgroups.conf.ProtocolConfiguration;
import org.jgroups.util.SocketFactory;

/**
 * Hands Infinispan the channel {@link ChannelFactory} builds. (Passing a ready {@code JGroupsTransport} through
 * the global configuration does not work in 16.0.9: the cache manager starts a default transport instead.)
 */
final class ProgrammaticChannelConfigurator implements JGroupsChannelConfigurator {
    private final ChannelFactory factory;
    private final String name;

    ProgrammaticChannelConfigurator(ChannelFactory factory, String name) {
        this.factory = factory;
        this.name = name;
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public JChannel createChannel(String clusterName) throws Exception {
        return factory.createLocalChannel();
    }

    @Override
    public void setSocketFactory(SocketFactory socketFactory) {
        // The bridge sets its own TLS socket factory; the local channel keeps plain sockets.
    }

    @Override
    public void setDataSource(DataSource dataSource) {
    }

    @Override
    public String getProtocolStackString() {
        return "programmatic:" + name;
    }

    @Override
    public List<ProtocolConfiguration> getProtocolStack() {
        return List.of();
    }
}

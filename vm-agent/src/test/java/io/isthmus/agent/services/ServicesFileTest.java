package io.isthmus.agent.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.util.Properties;

import org.junit.jupiter.api.Test;

class ServicesFileTest {

    private static Properties props(String text) throws Exception {
        Properties p = new Properties();
        p.load(new StringReader(text));
        return p;
    }

    @Test
    void readsServicesWithDefaults() throws Exception {
        var services = ServicesFile.parse(props("""
                orders.namespace=shop
                orders.backend-port=8080
                orders.port=80
                ledger.namespace=shop
                ledger.backend-port=9090
                ledger.protocol=grpc
                """), "test");
        assertThat(services).containsExactly(new AgentService("ledger", "shop", 9090, "grpc", 9090),
                new AgentService("orders", "shop", 80, "http", 8080));
    }

    @Test
    void refusesUnknownFieldsMissingKeysAndBadValues() throws Exception {
        assertThatThrownBy(() -> ServicesFile.parse(props("orders.namespace=shop\norders.colour=red\n"), "f"))
                .hasMessageContaining("orders.colour").hasMessageContaining("unknown field");
        assertThatThrownBy(() -> ServicesFile.parse(props("orders.namespace=shop\n"), "f"))
                .hasMessageContaining("orders.backend-port");
        assertThatThrownBy(() -> ServicesFile.parse(props("orders.namespace=shop\norders.backend-port=x\n"), "f"))
                .hasMessageContaining("not a number");
        assertThatThrownBy(() -> ServicesFile.parse(props("Orders.namespace=shop\nOrders.backend-port=80\n"), "f"))
                .hasMessageContaining("DNS label");
        assertThatThrownBy(() -> ServicesFile.parse(props("o.namespace=shop\no.backend-port=80\no.protocol=ftp\n"), "f"))
                .hasMessageContaining("protocol 'ftp'");
    }
}

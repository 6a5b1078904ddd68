package io.isthmus.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExportFieldsTest {

    private static String unescape(String s) {
        return s.replace("<ESC>", "\u001b").replace("<CR>", "\r").replace("<LF>", "\n").replace("<NUL>", "\u0000")
                .replace("<CSI>", "\u009b").replace("<RLO>", "\u202e").replace("<SP>", " ");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            # row                        | namespace | name     | port      | host                | region      | zone       | error                 | message
            ordinary                     | billing   | payments | http      | b.gw.example        | eu-west     | eu-west-1a |                       |
            unnamed port, no locality    | billing   | payments | ""        | 10.0.0.2            | ""          | ""         |                       |
            IPv6 literal and scope       | billing   | payments | grpc-web  | fe80::1%eth0        | EU_West.2   | z.1        |                       |
            bracketed IPv6               | billing   | payments | http      | [fd00::2]           | eu          | eu-1       |                       |
            upper-case namespace         | Billing   | payments | http      | b.gw.example        | eu          | eu-1       | NAMESPACE_NOT_A_LABEL | namespace 'Billing' is not a DNS-1123 label
            namespace with ESC           | bill<ESC>[2K | payments | http   | b.gw.example        | eu          | eu-1       | NAMESPACE_NOT_A_LABEL | namespace 'bill\\x1B[2K' is not a DNS-1123 label
            empty name                   | billing   | ""       | http      | b.gw.example        | eu          | eu-1       | NAME_NOT_A_LABEL      | service name '' is not a DNS-1123 label
            name with LF                 | billing   | pay<LF>x | http      | b.gw.example        | eu          | eu-1       | NAME_NOT_A_LABEL      | service name 'pay\\x0Ax' is not
            name with a dot              | billing   | pay.ments | http     | b.gw.example        | eu          | eu-1       | NAME_NOT_A_LABEL      | service name 'pay.ments'
            port name with CR            | billing   | payments | http<CR>  | b.gw.example        | eu          | eu-1       | BAD_PORT_NAME         | port name 'http\\x0D' is not at most 63
            port name with a space       | billing   | payments | h<SP>p    | b.gw.example        | eu          | eu-1       | BAD_PORT_NAME         | port name 'h p'
            host with ESC                | billing   | payments | http      | b.gw<ESC>]8;;x      | eu          | eu-1       | BAD_INGRESS_HOST      | ingress host 'b.gw\\x1B]8;;x' is not a host name or IP address
            host with a slash            | billing   | payments | http      | b.gw/evil           | eu          | eu-1       | BAD_INGRESS_HOST      | ingress host 'b.gw/evil'
            host with NUL                | billing   | payments | http      | b.gw<NUL>           | eu          | eu-1       | BAD_INGRESS_HOST      | ingress host 'b.gw\\x00'
            region with C1 CSI           | billing   | payments | http      | b.gw.example        | eu<CSI>2J   | eu-1       | BAD_REGION            | region 'eu\\x9B2J' is not a topology label value
            region with a space          | billing   | payments | http      | b.gw.example        | eu<SP>west  | eu-1       | BAD_REGION            | region 'eu west'
            zone with bidi override      | billing   | payments | http      | b.gw.example        | eu          | eu<RLO>1   | BAD_ZONE              | zone 'eu\\u202E1' is not a topology label value
            zone of 64 characters        | billing   | payments | http      | b.gw.example        | eu          | zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz | BAD_ZONE | zone 'zzzz
            """)
    void checksEveryFreeTextFieldOfAPeersRecord(String row, String namespace, String name, String port, String host,
            String region, String zone, ExportFields.Error error, String message) {
        ExportedService e = new ExportedService(new ServiceKey("cluster-b", unescape(namespace), unescape(name)),
                List.of(new ServicePort(unescape(port), 8080, Protocol.HTTP)), List.of(),
                new IngressAddress(unescape(host), 15443), new Locality(unescape(region), unescape(zone)), 1, 1,
                Instant.now(), Duration.ofSeconds(30));
        if (error == null) {
            assertThat(ExportFields.check(e)).as(row).isEmpty();
        } else {
            assertThat(ExportFields.check(e)).as(row).hasValueSatisfying(p -> {
                assertThat(p.error()).isEqualTo(error);
                assertThat(p.message()).startsWith(message).doesNotContain("\u001b", "\n", "\r", "\u009b", "\u202e");
            });
        }
    }
}

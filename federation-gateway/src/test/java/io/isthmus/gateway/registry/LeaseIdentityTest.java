package io.isthmus.gateway.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.registry.LeaseIdentity.Source;

/** Which holder identity a replica writes into the export Lease, inside and outside Kubernetes. */
class LeaseIdentityTest {
    private static final Path DATA = Path.of("/var/lib/isthmus");
    private static final Map<String, String> POD = Map.of("POD_NAME", "isthmus-gateway-0", "HOSTNAME", "isthmus-gateway-0",
            "KUBERNETES_SERVICE_HOST", "10.96.0.1");

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("configured wins over everything", Optional.of("edge-a"), POD, "edge-a", Source.CONFIGURED),
                Arguments.of("configured is stripped", Optional.of("  edge-a "), Map.of(), "edge-a", Source.CONFIGURED),
                Arguments.of("blank configured is unset", Optional.of("  "), Map.of(), "gw1:/var/lib/isthmus",
                        Source.HOST_AND_DATA_DIR),
                Arguments.of("pod name", Optional.empty(), POD, "isthmus-gateway-0", Source.POD_NAME),
                Arguments.of("HOSTNAME in Kubernetes", Optional.empty(),
                        Map.of("HOSTNAME", "isthmus-gateway-1", "KUBERNETES_SERVICE_HOST", "10.96.0.1"),
                        "isthmus-gateway-1", Source.HOSTNAME_IN_KUBERNETES),
                // An exported HOSTNAME outside Kubernetes is shared by every replica on the host: not an identity.
                Arguments.of("HOSTNAME outside Kubernetes", Optional.empty(), Map.of("HOSTNAME", "gw1"),
                        "gw1:/var/lib/isthmus", Source.HOST_AND_DATA_DIR),
                Arguments.of("blank POD_NAME", Optional.empty(), Map.of("POD_NAME", " "), "gw1:/var/lib/isthmus",
                        Source.HOST_AND_DATA_DIR),
                Arguments.of("nothing set (systemd)", Optional.empty(), Map.of(), "gw1:/var/lib/isthmus",
                        Source.HOST_AND_DATA_DIR));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void choosesAnIdentityThatSurvivesARestart(String row, Optional<String> configured, Map<String, String> env,
            String expected, Source source) {
        LeaseIdentity id = LeaseIdentity.choose(configured, k -> Optional.ofNullable(env.get(k)), "gw1", DATA);
        assertThat(id.value()).isEqualTo(expected);
        assertThat(id.source()).isEqualTo(source);
    }

    @Test
    void outsideKubernetesTwoDataDirectoriesOnOneHostAreTwoReplicas() {
        LeaseIdentity a = LeaseIdentity.choose(Optional.empty(), k -> Optional.empty(), "gw1", Path.of("/srv/isthmus-a"));
        LeaseIdentity b = LeaseIdentity.choose(Optional.empty(), k -> Optional.empty(), "gw1", Path.of("/srv/isthmus-b"));
        LeaseIdentity aAgain = LeaseIdentity.choose(Optional.empty(), k -> Optional.empty(), "gw1",
                Path.of("/srv/./isthmus-a/"));
        assertThat(a.value()).isNotEqualTo(b.value()).isEqualTo(aAgain.value());
        // And the identity does not change with the process (it used to be pid@host).
        assertThat(a.value()).doesNotContain(String.valueOf(ProcessHandle.current().pid()));
    }

    @Test
    void refusesABlankIdentity() {
        assertThatThrownBy(() -> new LeaseIdentity(" ", Source.CONFIGURED)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must not be blank");
    }
}

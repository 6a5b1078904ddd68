package io.isthmus.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Mesh names: their labels are DNS-1123 labels (the Kubernetes rule for service and namespace names), and a host is
 * parsed only when it is exactly {@code <service>.<namespace>.<suffix>}.
 */
class MeshNameTest {
    /** The rule as Kubernetes writes it, the independent reference for the hand-written check. */
    private static final Pattern DNS_1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    @ParameterizedTest(name = "[{0}] -> {1}")
    @CsvSource(nullValues = "null", value = {
            "payments, true",
            "a, true",
            "0, true",
            "a-b, true",
            "a--b, true",
            "web-1, true",
            "1-web, true",
            // 63 characters: the longest label.
            "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0, true",
            // 64 characters.
            "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01, false",
            "'', false",
            "null, false",
            "-web, false",
            "web-, false",
            "-, false",
            "Payments, false",
            "pay_ments, false",
            "pay.ments, false",
            "pay ments, false",
            "payménts, false",
            "web/1, false",
            "web:8080, false",
    })
    void labels(String label, boolean valid) {
        assertThat(MeshName.isLabel(label)).isEqualTo(valid);
        if (label != null) {
            assertThat(DNS_1123_LABEL.matcher(label).matches()).as("the Kubernetes pattern agrees").isEqualTo(valid);
        }
    }

    @Test
    void everyShortLabelOverTheAlphabetAgreesWithTheKubernetesPattern() {
        String alphabet = "az09-A_.é";
        StringBuilder b = new StringBuilder();
        for (int length = 1; length <= 3; length++) {
            int[] digits = new int[length];
            for (boolean more = true; more; ) {
                b.setLength(0);
                for (int d : digits) {
                    b.append(alphabet.charAt(d));
                }
                String label = b.toString();
                assertThat(MeshName.isLabel(label)).as("[%s]", label)
                        .isEqualTo(DNS_1123_LABEL.matcher(label).matches());
                more = false;
                for (int i = length - 1; i >= 0 && !more; i--) {
                    digits[i] = (digits[i] + 1) % alphabet.length();
                    more = digits[i] != 0;
                }
            }
        }
    }

    @Test
    void badLabelsAreRefusedNamingTheRule() {
        assertThatThrownBy(() -> MeshName.of("Payments", "billing")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'Payments' is not a DNS-1123 label");
        assertThatThrownBy(() -> MeshName.of("payments", "billing-")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("namespace 'billing-' is not a DNS-1123 label");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "null", value = {
            "payments.billing.svc.clusterset.local, payments.billing.svc.clusterset.local",
            "Payments.Billing.svc.clusterset.local:8443, payments.billing.svc.clusterset.local",
            "payments.billing.svc.clusterset.local., payments.billing.svc.clusterset.local",
            "payments.svc.clusterset.local, null",
            "a.payments.billing.svc.clusterset.local, null",
            "pay_ments.billing.svc.clusterset.local, null",
            "-payments.billing.svc.clusterset.local, null",
            "payments.billing.example.com, null",
            "null, null",
    })
    void hosts(String host, String parsed) {
        assertThat(MeshName.parseHost(host, MeshName.DEFAULT_SUFFIX).map(MeshName::host))
                .isEqualTo(Optional.ofNullable(parsed));
    }
}

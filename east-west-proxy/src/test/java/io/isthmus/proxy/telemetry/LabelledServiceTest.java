package io.isthmus.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which mesh name a request's destination_service label may carry, and when the exchange must look the name up. */
class LabelledServiceTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(nullValues = "null", value = {
            // case, name asked, what the exchange found, what a look-up would say, the label, look-ups made
            "'no name asked', null, null, true, null, 0",
            "'no name, known says true (cannot happen; no label)', null, true, true, null, 0",
            "'found exported by the exchange', payments.billing, true, false, payments.billing, 0",
            "'found not exported by the exchange', made-up-17.billing, false, true, null, 0",
            "'refused before routing, exported', payments.billing, null, true, payments.billing, 1",
            "'refused before routing, nobody exports it', made-up-17.billing, null, false, null, 1",
            "'served here (ingress backend found)', ledger.bank, true, false, ledger.bank, 0",
            "'ingress refused before its backend, not served', made-up.bank, null, false, null, 1",
    })
    void onlyExportedOrServedNamesTakeALabel(String name, String asked, Boolean known, boolean exported, String label,
            int lookUps) {
        AtomicInteger looked = new AtomicInteger();
        Optional<String> out = ClusterDirectory.labelledService(asked, known, () -> {
            looked.incrementAndGet();
            return exported;
        });
        assertThat(out).isEqualTo(Optional.ofNullable(label));
        assertThat(looked).as("look-ups (the exchange's own finding is reused)").hasValue(lookUps);
    }
}

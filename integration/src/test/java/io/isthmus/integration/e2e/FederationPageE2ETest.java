package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.StatusJson;
import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.integration.support.HeadlessChromium;

/**
 * The federation page in a real headless Chromium, on beta's management port, while alpha's workload calls payments
 * (served by beta) and an intruder is denied: the graph shows every peer up with beta's incoming request rate from
 * alpha, the service table the routing order, the denials table the intruder with its reason. Then gamma is killed and
 * the first refresh that asks after the kill (past the probe reuse window) shows gamma down. Screenshots of both are
 * saved in {@code target/federation-page/}.
 */
class FederationPageE2ETest {
    static final long REFRESH_MS = 2000;
    /** isthmus.status.probe-min-interval: a refresh within it of the kill may still be answered from the last round. */
    static final long PROBE_REUSE_MS = 1000;
    static final Path ARTIFACTS = Path.of("target", "federation-page");

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final Map<String, SampleService> backends = new HashMap<>();

    @AfterEach
    void stopBackends() {
        backends.values().forEach(SampleService::close);
    }

    @Test
    void pageShowsTheFederationAndAKilledPeerDownByTheNextRefresh() throws Exception {
        ChromeDriver browser = HeadlessChromium.start(1280, 1700);
        AtomicBoolean running = new AtomicBoolean(true);
        try (Federation federation = EastWestE2ETest.prepare(dir, backends)) {
            federation.start(Duration.ofSeconds(120));
            ClusterSpec alpha = federation.config().cluster("alpha");
            ClusterSpec beta = federation.config().cluster("beta");
            String egress = alpha.host() + ":" + alpha.ports().egress();
            Workload checkout = Workload.issue(federation.pki(), EastWestE2ETest.CHECKOUT);
            Workload intruder = Workload.issue(federation.pki(), EastWestE2ETest.INTRUDER);
            // Served by beta itself, not by gamma: until alpha's registry holds beta's export, alpha routes to gamma,
            // and the intruder's denial below would be gamma's, never on beta's page.
            Awaitility.await("alpha calls beta's payments").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                    .until(() -> checkout.get(egress, EastWestE2ETest.PAYMENTS, "/charge"),
                            r -> r.status() == 200 && r.body().contains("\"cluster\":\"beta\""));
            Thread traffic = Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    checkout.get(egress, EastWestE2ETest.PAYMENTS, "/charge");
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            assertThat(intruder.get(egress, EastWestE2ETest.PAYMENTS, "/charge").status()).isEqualTo(403);
            try {
                browser.get(beta.managementUrl("/federation/?refresh=" + REFRESH_MS));
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(90), Duration.ofMillis(200));
                wait.withMessage(() -> "page: alpha " + state(browser, "alpha") + ", gamma " + state(browser, "gamma")
                        + ", rate from alpha " + rate(browser, "alpha") + "; denials: " + text(browser, "#denials")
                        + "; services: " + text(browser, "#services"));
                wait.until(d -> state(d, "alpha").equals("up") && state(d, "gamma").equals("up")
                        && rate(d, "alpha") > 0 && text(d, "#denials").contains("no-matching-allow")
                        && text(d, "#services").contains("beta → gamma"));
                assertThat(text(browser, "#cluster")).isEqualTo("beta (beta.acme.internal)");
                assertThat(text(browser, "#denials")).contains(EastWestE2ETest.INTRUDER).contains("GET /charge port 80");
                assertThat(text(browser, "#cas")).contains("alpha.acme.internal").contains("gamma.acme.internal");
                assertThat(read(() -> browser.findElement(By.cssSelector("line[data-edge='alpha']")).getDomAttribute("class")))
                        .isEqualTo("up");
                screenshot(browser, "healthy.png");

                federation.gateway("gamma").kill();
                long killedAt = System.currentTimeMillis();
                long[] seenDownAt = {0};
                wait.withMessage(() -> "no refresh asked after the kill; page says gamma " + state(browser, "gamma"));
                wait.until(d -> {
                    long asked = Long.parseLong(read(() -> d.findElement(By.id("live")).getDomAttribute("data-requested-at")));
                    if (asked < killedAt + PROBE_REUSE_MS) {
                        return false;
                    }
                    // The first answer asked for after the kill (and the probe reuse window) must already say down.
                    assertThat(state(d, "gamma")).as("gamma in the first refresh asked %d ms after the kill",
                            asked - killedAt).isEqualTo("down");
                    seenDownAt[0] = System.currentTimeMillis();
                    return true;
                });
                System.out.printf("federation page: gamma shown down %d ms after kill -9 (refresh every %d ms)%n",
                        seenDownAt[0] - killedAt, REFRESH_MS);
                assertThat(seenDownAt[0] - killedAt).as("ms from the kill to the page saying down")
                        .isLessThanOrEqualTo(REFRESH_MS + PROBE_REUSE_MS + 3000);
                assertThat(text(browser, "#peers tr[data-peer='gamma']")).contains("down").containsPattern("connection refused|no answer");
                assertThat(state(browser, "alpha")).isEqualTo("up");
                screenshot(browser, "peer-down.png");
            } finally {
                running.set(false);
                traffic.join();
            }
            // The page and the CLI read the same facts: the status beta serves now names gamma's ingress down.
            FederationStatus status = StatusJson.read(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(beta.managementUrl("/federation/api/status"))).build(),
                    HttpResponse.BodyHandlers.ofString()).body(), "beta");
            assertThat(status.peers()).filteredOn(p -> p.name().equals("gamma")).singleElement()
                    .satisfies(p -> assertThat(p.ingress().ok()).isFalse());
        } finally {
            browser.quit();
        }
    }

    /**
     * Reads the page, again when a refresh replaced an element between finding and reading it: the page redraws its
     * tables and graph on every refresh, so a found element can go stale at any moment.
     */
    private static <T> T read(java.util.function.Supplier<T> reading) {
        for (int attempt = 1; ; attempt++) {
            try {
                return reading.get();
            } catch (StaleElementReferenceException e) {
                if (attempt == 5) {
                    throw e;
                }
            }
        }
    }

    private static String state(org.openqa.selenium.WebDriver d, String peer) {
        return read(() -> {
            List<WebElement> nodes = d.findElements(By.cssSelector("g[data-peer='" + peer + "']"));
            return nodes.isEmpty() ? "" : nodes.get(0).getDomAttribute("data-state");
        });
    }

    private static double rate(org.openqa.selenium.WebDriver d, String peer) {
        return read(() -> rateNow(d, peer));
    }

    private static double rateNow(org.openqa.selenium.WebDriver d, String peer) {
        List<WebElement> rows = d.findElements(By.cssSelector("#peers tr[data-peer='" + peer + "'] td"));
        if (rows.size() < 7) {
            return 0;
        }
        try {
            return Double.parseDouble(rows.get(6).getText());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String text(org.openqa.selenium.WebDriver d, String css) {
        return read(() -> d.findElement(By.cssSelector(css)).getText());
    }

    private static void screenshot(ChromeDriver browser, String name) throws IOException {
        Files.createDirectories(ARTIFACTS);
        Path shot = browser.getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(shot, ARTIFACTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        System.out.println("federation page screenshot: " + ARTIFACTS.resolve(name).toAbsolutePath());
    }
}

package io.isthmus.integration.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's Chromium, headless, driven through Debian's chromedriver. Both paths are given, so Selenium Manager never
 * runs (it would download a driver, which cannot work offline). A test that needs the browser fails, naming what is
 * missing, rather than skip: the page it checks would otherwise go untested without anyone noticing.
 */
public final class HeadlessChromium {
    public static final Path BROWSER = Path.of("/usr/bin/chromium");
    public static final Path DRIVER = Path.of("/usr/bin/chromedriver");

    private HeadlessChromium() {
    }

    public static ChromeDriver start(int width, int height) {
        for (Path p : List.of(BROWSER, DRIVER)) {
            if (!Files.isExecutable(p)) {
                throw new AssertionError(p + " is missing: apt-get install chromium chromium-driver (.ci/run installs"
                        + " them); this test drives a real headless browser and does not run without one");
            }
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BROWSER.toFile());
        // --no-sandbox: tests run as root, where Chromium refuses its sandbox; no GPU, no background traffic.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=" + width + "," + height);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort().build();
        try {
            return new ChromeDriver(service, options);
        } catch (WebDriverException e) {
            throw new AssertionError("headless Chromium (" + BROWSER + " through " + DRIVER + ") could not start: "
                    + e.getMessage().lines().findFirst().orElse("") + "; check that both come from the same Chromium"
                    + " release and that the machine has /dev/shm and enough memory", e);
        }
    }
}

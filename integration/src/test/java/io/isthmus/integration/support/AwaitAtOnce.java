package io.isthmus.integration.support;

import java.time.Duration;

import org.awaitility.Awaitility;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Makes every Awaitility wait in this module's test JVMs check its condition at once, then every poll interval.
 *
 * <p>Awaitility's default poll delay for a fixed {@code pollInterval(x)} is {@code x} itself: each wait slept one
 * interval (up to 1 s here) before its first check, even for a condition already true, and the end-to-end tests run
 * a few hundred such waits (LoadBalancedFederationE2ETest alone 30 in a row, each 0.5 s). Every condition here waits
 * for a change that an earlier step caused (a call answered, an export seen, a peer stale), so checking at once only
 * ends the wait sooner; a condition that is still false is polled as before, up to the same deadline. Registered in
 * {@code META-INF/services}; runs once per test JVM, before any test.
 */
public final class AwaitAtOnce implements LauncherSessionListener {
    @Override
    public void launcherSessionOpened(LauncherSession session) {
        Awaitility.setDefaultPollDelay(Duration.ZERO);
    }
}

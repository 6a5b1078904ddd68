package io.isthmus.agent;

import java.util.logging.LogManager;

/**
 * The JDK's LogManager resets itself (closing every handler) in a shutdown hook of its own, which runs at the same
 * time as the agent's: the lines the agent logs while it stops (services unregistered, egress closed) would be
 * lost. While {@link #holdDuringShutdown} is in force, a reset is postponed until {@link #release}.
 */
public final class AgentLogManager extends LogManager {
    private static volatile boolean holding;
    private volatile boolean resetPending;

    /** Postpones resets from now on (called once the agent runs). */
    public static void holdDuringShutdown() {
        holding = true;
    }

    /** Ends the postponement and performs a reset that was asked for meanwhile. */
    public static void release() {
        holding = false;
        if (LogManager.getLogManager() instanceof AgentLogManager manager && manager.resetPending) {
            manager.resetPending = false;
            manager.reset();
        }
    }

    @Override
    public void reset() {
        if (holding) {
            resetPending = true;
            return;
        }
        super.reset();
    }
}

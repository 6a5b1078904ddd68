package io.isthmus.agent;

/**
 * The jar's entry point. Sets the logging properties before anything touches logging (the JDK reads them once, when
 * its LogManager starts, and {@link AgentCli}'s static logger would start it), then runs the CLI.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.manager") == null) {
            System.setProperty("java.util.logging.manager", AgentLogManager.class.getName());
        }
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tTZ %4$s [%3$s] %5$s%6$s%n");
        }
        AgentCli.main(args);
    }
}

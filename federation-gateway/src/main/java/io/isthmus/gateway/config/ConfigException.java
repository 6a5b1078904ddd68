package io.isthmus.gateway.config;

/** A configuration value is missing or wrong; the message names the key and what was expected. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String key, String problem) {
        super("configuration " + key + ": " + problem);
    }

    public ConfigException(String key, String problem, Throwable cause) {
        super("configuration " + key + ": " + problem, cause);
    }
}

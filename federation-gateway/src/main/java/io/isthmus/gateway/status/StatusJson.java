package io.isthmus.gateway.status;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * The one JSON form of {@link FederationStatus}, written by the gateway and read by {@code isthmus check}: ISO-8601
 * instants, absent optionals as {@code null}. Unknown fields are ignored when reading, so an older CLI reads a newer
 * gateway's report.
 */
public final class StatusJson {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .addModule(new JavaTimeModule()).addModule(new Jdk8Module())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private StatusJson() {
    }

    public static String write(FederationStatus status) {
        try {
            return MAPPER.writeValueAsString(status);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the status model cannot fail to serialize: " + e.getMessage(), e);
        }
    }

    /** @throws IllegalArgumentException naming what is wrong when {@code json} is not a status report */
    public static FederationStatus read(String json, String source) {
        try {
            return MAPPER.readValue(json, FederationStatus.class);
        } catch (JsonProcessingException | RuntimeException e) {
            throw new IllegalArgumentException(source + " is not an Isthmus status report: "
                    + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }

    public static ObjectMapper mapper() {
        return MAPPER;
    }
}

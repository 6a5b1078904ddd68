package io.isthmus.gateway.api;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/** The error body of every admin API call: a stable machine-readable code and a detail for humans. */
public record ApiError(String code, String detail) {
    public static Response response(int status, String code, String detail) {
        return Response.status(status).type(MediaType.APPLICATION_JSON).entity(new ApiError(code, detail)).build();
    }
}

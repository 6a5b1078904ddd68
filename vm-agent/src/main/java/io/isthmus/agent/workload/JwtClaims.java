package io.isthmus.agent.workload;

import java.util.List;
import java.util.Map;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

/** A JWT's claims, as Jackson read them, in the protobuf Struct that ValidateJWTSVIDResponse carries. */
final class JwtClaims {
    private JwtClaims() {
    }

    static Struct toStruct(Map<String, Object> claims) {
        Struct.Builder s = Struct.newBuilder();
        claims.forEach((k, v) -> s.putFields(k, value(v)));
        return s.build();
    }

    @SuppressWarnings("unchecked")
    private static Value value(Object v) {
        if (v == null) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        if (v instanceof String str) {
            return Value.newBuilder().setStringValue(str).build();
        }
        if (v instanceof Number n) {
            return Value.newBuilder().setNumberValue(n.doubleValue()).build();
        }
        if (v instanceof Boolean b) {
            return Value.newBuilder().setBoolValue(b).build();
        }
        if (v instanceof List<?> list) {
            ListValue.Builder l = ListValue.newBuilder();
            list.forEach(x -> l.addValues(value(x)));
            return Value.newBuilder().setListValue(l).build();
        }
        if (v instanceof Map<?, ?> map) {
            return Value.newBuilder().setStructValue(toStruct((Map<String, Object>) map)).build();
        }
        return Value.newBuilder().setStringValue(v.toString()).build();
    }
}

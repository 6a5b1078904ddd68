package io.isthmus.integration.support;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * Reads a Kubernetes object into fabric8's typed model (Deployment, Service, CustomResourceDefinition, ...) and names
 * every field the schema does not have. The typed model keeps unknown fields in {@code additionalProperties} rather
 * than failing (Jackson's FAIL_ON_UNKNOWN_PROPERTIES never fires on it), so this walks the typed tree and reports each
 * non-empty {@code additionalProperties} with its path: a misspelled field ({@code readinesProbe}) that an API server
 * would drop or refuse.
 */
public final class StrictSchema {
    private StrictSchema() {
    }

    /** Every unknown field of {@code json}, as a path like {@code spec.template.spec.containers[0].readinesProbe}. */
    public static List<String> unknownFields(String json) {
        Object typed = Serialization.unmarshal(json, HasMetadata.class);
        if (typed instanceof GenericKubernetesResource g) {
            return List.of("(kind " + g.getApiVersion() + "/" + g.getKind() + " has no typed model to check against)");
        }
        List<String> unknown = new ArrayList<>();
        walk(typed, "", unknown);
        return unknown;
    }

    private static void walk(Object node, String path, List<String> unknown) {
        if (node == null) {
            return;
        }
        if (node instanceof Collection<?> list) {
            int i = 0;
            for (Object item : list) {
                walk(item, path + "[" + i++ + "]", unknown);
            }
            return;
        }
        if (node instanceof Map<?, ?> map) {
            map.forEach((k, v) -> walk(v, path + "[" + k + "]", unknown));
            return;
        }
        if (!node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method m : node.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get")
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(node);
            } catch (IllegalAccessException | InvocationTargetException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra) {
                    extra.keySet().forEach(k -> unknown.add((path.isEmpty() ? "" : path + ".") + k));
                }
                continue;
            }
            String field = Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
            walk(value, path.isEmpty() ? field : path + "." + field, unknown);
        }
    }
}

package io.isthmus.gateway.api.access;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a resource class or method whose answer describes the federation (services, identities, addresses,
 * membership): {@link ReadAccessFilter} lets only {@link ReadAccess} grantees reach it.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
public @interface FederatedRead {
}

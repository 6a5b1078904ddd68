package io.isthmus.proxy.authz.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.spiffe.SpiffeId;

/** The namespace policy sees in a caller's SPIFFE ID ({@code namespaces}, {@code notNamespaces}). */
class SourceTest {

    static Stream<Arguments> namespaces() {
        return Stream.of(
                Arguments.of("spiffe://a.acme.internal/ns/shop/sa/checkout", "shop"),
                // A VM (`isthmus token create --namespace shop --service-account db-1`) and its workloads.
                Arguments.of("spiffe://east.example/ns/shop/sa/db-1", "shop"),
                Arguments.of("spiffe://east.example/ns/shop/sa/db-1/billing", "shop"),
                Arguments.of("spiffe://td/ns/shop/sa/vm/api", "shop"),
                Arguments.of("spiffe://a.acme.internal/ns/x/sa/y/ns/shop/sa/z", "x"),
                Arguments.of("spiffe://a.acme.internal/ns/sa/sa/ns", "sa"),
                // Not shaped /ns/<ns>/sa/<sa>: no namespace.
                Arguments.of("spiffe://a.acme.internal/ns/shop", "-"),
                Arguments.of("spiffe://a.acme.internal/ns/shop/sa", "-"),
                Arguments.of("spiffe://a.acme.internal/ns/shop/workload/checkout", "-"),
                Arguments.of("spiffe://a.acme.internal/ns/shop/SA/checkout", "-"),
                Arguments.of("spiffe://a.acme.internal/ns/shop/x/sa/checkout", "-"),
                Arguments.of("spiffe://a.acme.internal/vm/web", "-"),
                Arguments.of("spiffe://a.acme.internal/gateway", "-"),
                Arguments.of("spiffe://a.acme.internal/NS/shop/sa/checkout", "-"),
                Arguments.of("spiffe://a.acme.internal/x/ns/shop/sa/checkout", "-"),
                Arguments.of("spiffe://a.acme.internal", "-"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("namespaces")
    void namespaceOfASpiffeId(String id, String namespace) {
        assertThat(Source.namespaceOf(SpiffeId.parse(id).path()).orElse("-")).isEqualTo(namespace);
    }
}

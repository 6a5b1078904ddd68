package io.isthmus.trust.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * A Jazzer fuzz target of a parser that takes outside input. Tagged {@code fuzz}: the default surefire run leaves it
 * out and the {@code fuzz} execution runs each target class in a JVM of its own (libFuzzer runs once per process),
 * first on the committed inputs ({@code src/test/resources/<package>/<Class>Inputs/<method>}: seeds and every
 * past crash), then fuzzing for {@code fuzz.seconds} (the 10 minutes here only apply in an IDE). A target
 * lets only its parser's typed rejection pass: any other exception or error is a finding.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Tag("fuzz")
@FuzzTest(maxDuration = "10m")
public @interface FuzzTarget {
}

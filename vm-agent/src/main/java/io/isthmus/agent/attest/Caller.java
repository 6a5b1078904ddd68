package io.isthmus.agent.attest;

/**
 * The kernel's word on who connected to the Workload API socket ({@code SO_PEERCRED}): the process ID and the
 * user and group IDs at the time it connected.
 */
public record Caller(int pid, int uid, int gid) {
    public Caller {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid " + pid + " is not a process: the caller is outside this PID namespace");
        }
    }
}

package io.isthmus.gateway.authz;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.isthmus.gateway.status.DenialView;
import io.isthmus.gateway.status.StatusConfig;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DecisionLog;

/**
 * The last few denials at this gateway's ingress, for the federation page: a small bounded buffer fed with every
 * decision the {@link DecisionLog} sees (allowed ones are ignored). {@link #record} runs on the event loop and only
 * takes a short lock; the query string of a path is dropped, as in the audit log (it may carry secrets).
 * Thread-safe. Deliberately not a {@link DecisionLog} bean itself: the data plane must find exactly one.
 */
@ApplicationScoped
public class RecentDenials {
    private final Clock clock;
    private final int capacity;
    private final Deque<DenialView> newestFirst = new ArrayDeque<>();

    @Inject
    public RecentDenials(Clock clock, StatusConfig config) {
        this(clock, config.recentDenials());
    }

    RecentDenials(Clock clock, int capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("isthmus.status.recent-denials must not be negative, got " + capacity);
        }
        this.clock = clock;
        this.capacity = capacity;
    }

    public void record(AccessRequest request, Decision decision) {
        if (!(decision instanceof Decision.Denied d) || capacity == 0) {
            return;
        }
        String what = request.method().map(m -> m + " " + request.path().map(RecentDenials::withoutQuery).orElse(""))
                .orElse("tcp") + " port " + request.port();
        DenialView view = new DenialView(clock.instant(), d.reason().code(), request.source().toString(),
                request.destination().host(), what, d.policy().isEmpty() ? "" : d.policy() + " " + d.rule(), d.detail());
        synchronized (newestFirst) {
            newestFirst.addFirst(view);
            while (newestFirst.size() > capacity) {
                newestFirst.removeLast();
            }
        }
    }

    /** Newest first. */
    public List<DenialView> list() {
        synchronized (newestFirst) {
            return new ArrayList<>(newestFirst);
        }
    }

    private static String withoutQuery(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }
}

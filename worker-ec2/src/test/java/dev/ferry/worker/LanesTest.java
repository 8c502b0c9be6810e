package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;
import software.amazon.awssdk.services.sqs.model.SqsException;

/** The high-priority lane first, the normal lane after at most {@value Lanes#MAX_HIGH_IN_ROW} high jobs, and idle polls that keep both near. */
class LanesTest {

    private static final String NORMAL = "https://sqs.local/jobs";
    private static final String HIGH = "https://sqs.local/jobs-high";
    private static final Duration LEASE = Duration.ofSeconds(60);

    /** What each queue holds, by URL: message ids, taken in order. */
    private final Map<String, Deque<String>> waiting = new HashMap<>(Map.of(NORMAL, new ArrayDeque<>(),
            HIGH, new ArrayDeque<>()));
    private final List<ReceiveMessageRequest> receives = new ArrayList<>();
    private final Set<String> failing = new CopyOnWriteArraySet<>();

    private final SqsClient sqs = new SqsClient() {
        @Override
        public ReceiveMessageResponse receiveMessage(ReceiveMessageRequest request) {
            receives.add(request);
            if (failing.contains(request.queueUrl())) {
                throw SqsException.builder().message("unreachable").statusCode(500).build();
            }
            List<Message> messages = new ArrayList<>();
            Deque<String> queue = waiting.get(request.queueUrl());
            while (messages.size() < request.maxNumberOfMessages() && !queue.isEmpty()) {
                String id = queue.poll();
                messages.add(Message.builder().messageId(id).receiptHandle("rh-" + id).body("{}").build());
            }
            return ReceiveMessageResponse.builder().messages(messages).build();
        }

        @Override
        public String serviceName() {
            return "sqs";
        }

        @Override
        public void close() {
        }
    };

    private final JobQueue normal = new JobQueue(sqs, NORMAL, "dlq", 20, Clock.systemUTC());
    private final JobQueue high = new JobQueue(sqs, HIGH, "dlq", 20, Clock.systemUTC());
    private final Lanes lanes = Lanes.withPriority(normal, high);

    private void put(String url, String prefix, int count) {
        for (int i = 1; i <= count; i++) {
            waiting.get(url).add(prefix + i);
        }
    }

    private static List<String> ids(List<Delivery> deliveries) {
        return deliveries.stream().map(Delivery::messageId).toList();
    }

    /** Each receive request as "lane:max:wait". */
    private List<String> requests() {
        return receives.stream().map(r -> (r.queueUrl().equals(HIGH) ? "high" : "normal") + ":"
                + r.maxNumberOfMessages() + ":" + r.waitTimeSeconds()).toList();
    }

    @Test
    void theHighLaneIsAskedFirst_andTheNormalLaneForWhatItDidNotHave() {
        put(NORMAL, "n", 5);
        put(HIGH, "h", 1);

        List<Delivery> got = lanes.receive(3, LEASE, true);

        assertEquals(List.of("h1", "n1", "n2"), ids(got));
        assertEquals(List.of("high:3:0", "normal:2:0"), requests(), "short polls: the worker is not idle");
        assertSame(high, got.get(0).queue(), "each delivery keeps the queue it came from");
        assertSame(normal, got.get(1).queue());
    }

    @Test
    void afterFourHighJobsInARow_theNextReceiveAsksTheNormalLaneFirst() {
        put(NORMAL, "n", 10);
        put(HIGH, "h", 10);
        List<String> order = new ArrayList<>();

        for (int i = 0; i < 10; i++) {
            order.addAll(ids(lanes.receive(1, LEASE, true))); // one free slot at a time
        }

        assertEquals(List.of("h1", "h2", "h3", "h4", "n1", "h5", "h6", "h7", "h8", "n2"), order);
    }

    @Test
    void aBatch_takesNoMoreThanTheBoundFromTheHighLane_thenOneNormalJob_thenHighAgain() {
        put(NORMAL, "n", 10);
        put(HIGH, "h", 10);

        List<Delivery> got = lanes.receive(10, LEASE, true);

        // Not six normal jobs while high ones wait (a worker taking ten at once): one, for the bound's sake.
        assertEquals(List.of("h1", "h2", "h3", "h4", "n1", "h5", "h6", "h7", "h8", "h9"), ids(got));
        assertEquals(List.of("high:4:0", "normal:1:0", "high:5:0"), requests());
    }

    @Test
    void theNormalLaneDueFirstButEmpty_leavesTheRestToTheHighLane() {
        put(HIGH, "h", 10);
        assertEquals(List.of("h1", "h2", "h3", "h4"), ids(lanes.receive(4, LEASE, true)));
        receives.clear();

        List<Delivery> got = lanes.receive(3, LEASE, true);

        assertEquals(List.of("h5", "h6", "h7"), ids(got));
        assertEquals(List.of("normal:1:0", "high:3:0"), requests(), "one normal job first, then the high lane");
        assertEquals(3, lanes.highInRow(), "the normal lane had none waiting: the count started again");
    }

    @Test
    void anIdleWorker_longPollsEachLaneForAboutASecond_neverTwentySeconds() {
        List<Delivery> first = lanes.receive(2, LEASE, true);
        List<Delivery> second = lanes.receive(2, LEASE, true);

        assertEquals(List.of(), first);
        assertEquals(List.of(), second);
        assertEquals(List.of("high:2:0", "normal:2:" + Lanes.IDLE_WAIT_SECONDS,
                "high:2:" + Lanes.IDLE_WAIT_SECONDS, "normal:2:" + Lanes.IDLE_WAIT_SECONDS), requests(),
                "busy until a receive finds nothing; idle, the high lane is long-polled too (a short poll may miss a"
                        + " lone message)");

        put(HIGH, "h", 1);
        receives.clear();
        assertEquals(List.of("h1"), ids(lanes.receive(2, LEASE, true)));
        assertEquals("high:2:" + Lanes.IDLE_WAIT_SECONDS, requests().get(0));
        receives.clear();
        lanes.receive(2, LEASE, true);
        assertEquals(List.of("high:2:0", "normal:2:" + Lanes.IDLE_WAIT_SECONDS), requests(),
                "no longer idle: the high lane short-polled again");
    }

    @Test
    void aBusyWorker_asksTheEmptyHighLaneAgainOnlyAfterASecond_notOnEveryReceive() {
        long[] now = {0};
        Lanes clocked = Lanes.withPriority(lanes.all().get(0), lanes.all().get(1), () -> now[0]);
        put(NORMAL, "n", 10);

        assertEquals(List.of("n1"), ids(clocked.receive(1, LEASE, true)));
        assertEquals(List.of("n2"), ids(clocked.receive(1, LEASE, true)));
        now[0] += Lanes.HIGH_RECHECK.toNanos() / 2;
        put(HIGH, "h", 1);
        assertEquals(List.of("n3"), ids(clocked.receive(1, LEASE, true)), "within the second: not asked yet");
        now[0] += Lanes.HIGH_RECHECK.toNanos();
        assertEquals(List.of("h1"), ids(clocked.receive(1, LEASE, true)), "a second on: asked, and first");

        assertEquals(List.of("high:1:0", "normal:1:1", "normal:1:1", "normal:1:1", "high:1:0"), requests(),
                "one short poll of the empty high lane per second, not one per job");
    }

    @Test
    void lookAheadsAlone_neverWait() {
        lanes.receive(1, LEASE, true); // idle now
        receives.clear();

        lanes.receive(1, LEASE, false);

        assertEquals(List.of("high:1:0", "normal:1:0"), requests());
    }

    @Test
    void aLaneWhoseReceiveFails_doesNotLoseWhatTheOtherGave_andAFailedEmptyRoundThrows() {
        put(NORMAL, "n", 2);
        failing.add(HIGH);

        assertEquals(List.of("n1", "n2"), ids(lanes.receive(2, LEASE, true)), "a broken lane does not stop the pool");

        failing.add(NORMAL);
        assertThrows(SqsException.class, () -> lanes.receive(2, LEASE, true), "nothing received: the poller backs off");
    }

    @Test
    void withoutALane_oneQueueIsLongPolledForItsWholeWait() {
        put(NORMAL, "n", 1);
        Lanes single = Lanes.of(normal);

        assertEquals(List.of("n1"), ids(single.receive(3, LEASE, true)));
        single.receive(1, LEASE, false);

        assertEquals(List.of("normal:3:20", "normal:1:0"), requests());
    }
}

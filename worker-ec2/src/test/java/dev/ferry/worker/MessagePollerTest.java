package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityRequest;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;

/** The poller asks for look-aheads only when a busy slot's window is open, short-polls for them, and starts their jobs ahead. */
class MessagePollerTest {

    private static final GpuSlot SLOT = new GpuSlot(0, "0");
    private final List<ReceiveMessageRequest> receives = new CopyOnWriteArrayList<>();
    private final List<ChangeMessageVisibilityRequest> visibility = new CopyOnWriteArrayList<>();
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final AtomicBoolean stopping = new AtomicBoolean();
    private Thread thread;

    private final SqsClient sqs = new SqsClient() {
        @Override
        public ReceiveMessageResponse receiveMessage(ReceiveMessageRequest request) {
            receives.add(request);
            int n = sent.incrementAndGet();
            return ReceiveMessageResponse.builder().messages(Message.builder().messageId("m" + n)
                    .receiptHandle("rh" + n).body("{}").build()).build();
        }

        @Override
        public ChangeMessageVisibilityResponse changeMessageVisibility(ChangeMessageVisibilityRequest request) {
            visibility.add(request);
            return ChangeMessageVisibilityResponse.builder().build();
        }

        @Override
        public String serviceName() {
            return "sqs";
        }

        @Override
        public void close() {
        }
    };

    @AfterEach
    void stop() throws InterruptedException {
        stopping.set(true);
        if (thread != null) {
            thread.join(5_000);
        }
    }

    private static void eventually(java.util.function.BooleanSupplier condition, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(5);
        }
    }

    /** A look-ahead rule that knows jobs of type "t" to run 10 s. */
    private LookAhead lookAheadFor10sJobs() {
        RunTimes times = new RunTimes();
        times.ran("t", Duration.ofSeconds(10));
        return new LookAhead(times, Duration.ofSeconds(30), now::get);
    }

    private JobQueue queue() {
        return new JobQueue(sqs, "q", "dlq", 20, Clock.systemUTC());
    }

    @Test
    void busySlot_looksAheadOnceNearItsJobsEnd_withAShortPoll_andStartsThatJobAheadForIt() throws Exception {
        LookAhead lookAhead = lookAheadFor10sJobs();
        List<String> startedAhead = new CopyOnWriteArrayList<>();
        List<SlotHandoff> handoffs = new CopyOnWriteArrayList<>();
        MessagePoller poller = new MessagePoller(new LinkedBlockingQueue<>(), queue(), Duration.ofSeconds(60), lookAhead,
                (delivery, slot) -> true, delivery -> lookAhead.hold().map(handoff -> {
                    handoffs.add(handoff);
                    return startedAhead.add(delivery.messageId());
                }).orElse(false), stopping::get);
        lookAhead.started(SLOT, "t"); // the only slot is busy: no free slot to receive for
        thread = new Thread(poller, "test-poller");
        thread.start();

        Thread.sleep(300);
        assertEquals(0, receives.size(), "no receive while the job is far from its expected end");

        now.addAndGet(Duration.ofMillis(9_900).toNanos());
        lookAhead.changed();
        eventually(() -> startedAhead.size() == 1, "the look-ahead's job is started ahead");
        assertEquals(List.of("m1"), startedAhead);
        assertEquals(SLOT, handoffs.get(0).slot(), "for the busy slot");
        assertEquals(1, receives.size());
        assertEquals(1, receives.get(0).maxNumberOfMessages(), "one per busy slot");
        assertEquals(0, receives.get(0).waitTimeSeconds(), "a short poll: a look-ahead is only worth having now");
        Thread.sleep(300);
        assertEquals(1, receives.size(), "one look-ahead receive per job run");
        assertEquals(0, visibility.size(), "nothing given back by the poller: the job claimed ahead does that");
    }

    @Test
    void lookAheadWhoseJobEndedMeanwhile_goesBack_whenNoSlotFrees() throws Exception {
        LookAhead lookAhead = lookAheadFor10sJobs();
        MessagePoller poller = new MessagePoller(new LinkedBlockingQueue<>(), queue(), Duration.ofSeconds(60), lookAhead,
                (delivery, slot) -> true, delivery -> false, stopping::get);
        lookAhead.started(SLOT, "t");
        now.addAndGet(Duration.ofMillis(9_900).toNanos());
        thread = new Thread(poller, "test-poller");
        thread.start();

        eventually(() -> visibility.size() == 1, "the message goes back");
        assertEquals("rh1", visibility.get(0).receiptHandle());
        assertEquals(0, visibility.get(0).visibilityTimeout());
    }

    @Test
    void withALane_theHighLaneIsAskedFirst_andALookAheadGoesBackToTheLaneItCameFrom() throws Exception {
        LookAhead lookAhead = lookAheadFor10sJobs();
        JobQueue high = new JobQueue(sqs, "q-high", "dlq", 20, Clock.systemUTC());
        MessagePoller poller = new MessagePoller(new LinkedBlockingQueue<>(), Lanes.withPriority(queue(), high),
                Duration.ofSeconds(60), lookAhead, (delivery, slot) -> true, delivery -> false, stopping::get);
        lookAhead.started(SLOT, "t");
        now.addAndGet(Duration.ofMillis(9_900).toNanos());
        thread = new Thread(poller, "test-poller");
        thread.start();

        eventually(() -> visibility.size() == 1, "the message goes back");
        assertEquals("q-high", receives.get(0).queueUrl(), "the high lane first");
        assertEquals(0, receives.get(0).waitTimeSeconds(), "a look-ahead never waits, in either lane");
        assertEquals("q-high", visibility.get(0).queueUrl(), "its receipt handle means something only there");
        assertEquals("rh1", visibility.get(0).receiptHandle());
    }
}

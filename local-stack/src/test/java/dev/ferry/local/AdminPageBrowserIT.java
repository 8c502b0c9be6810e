package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin page in a real headless Chromium: sign in with the token, see the failed job, click
 * "Redrive DLQ", watch the move task's progress and the job reach SUCCEEDED; open a job by its id
 * in the search box and see its detail view (input, result, files, attempts with their logs); look
 * up a job's webhook deliveries and "Resend" its latest event; with no Content Security Policy
 * violation in the browser's console. Screenshots go to
 * {@code local-stack/target/screenshots/}.
 *
 * <p>Needs Debian's {@code chromium} and {@code chromium-driver} ({@code .ci/run} installs them).
 * Without them the test is skipped, and says so, except under CI where it fails.
 */
class AdminPageBrowserIT {

    private static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("FERRY_CHROMIUM", "/usr/bin/chromium"));
    private static final Path CHROMEDRIVER =
            Path.of(System.getenv().getOrDefault("FERRY_CHROMEDRIVER", "/usr/bin/chromedriver"));
    private static final Path SCREENSHOTS = Path.of("target", "screenshots");
    private static final Duration FINISH = Duration.ofSeconds(60);

    private static LocalStack stack;
    private static WebDriver browser;
    private static Path profile;

    @BeforeAll
    static void start() throws IOException {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI needs " + CHROMIUM + " and " + CHROMEDRIVER
                    + " for the admin page's browser test: apt-get install chromium chromium-driver");
        }
        Assumptions.assumeTrue(present, "skipped: no " + CHROMIUM + " / " + CHROMEDRIVER
                + " (apt-get install chromium chromium-driver)");
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1")).build());
        profile = Files.createTempDirectory("ferry-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--window-size=1360,1100", "--user-data-dir=" + profile);
        // The console, where Chromium reports what the page's Content-Security-Policy blocked.
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (stack != null) {
            stack.close();
        }
    }

    private static void screenshot(String name) throws IOException {
        File shot = ((ChromeDriver) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(shot.toPath(), SCREENSHOTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    /** Fails with every console message about the Content-Security-Policy since the last call. */
    private static void assertNoContentSecurityPolicyViolation() {
        List<String> violations = browser.manage().logs().get(LogType.BROWSER).getAll().stream()
                .map(LogEntry::getMessage)
                .filter(message -> message.contains("Content Security Policy") || message.contains("Content-Security-Policy"))
                .toList();
        assertEquals(List.of(), violations, "the browser blocked part of the admin page");
    }

    @Test
    void operator_signsIn_seesTheFailedJob_redrivesTheDlq_andWatchesItSucceed() throws IOException {
        Api api = new Api(stack.apiEndpoint());
        String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":" + stack.maxReceiveCount()
                + ",\"output\":\"rendered.png\"}}").jobId();
        api.awaitStatus(jobId, "FAILED", FINISH);
        WebDriverWait wait = new WebDriverWait(browser, FINISH, Duration.ofMillis(200));
        // The redrive panel is drawn anew every 2 s: an element found just before a redraw goes stale.
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);

        signIn(wait);
        assertNoContentSecurityPolicyViolation();

        By failedRow = By.cssSelector("tr[data-job='" + jobId + "']");
        wait.until(ExpectedConditions.presenceOfElementLocated(failedRow));
        assertTrue(browser.findElement(failedRow).getText().contains("failing on purpose"),
                browser.findElement(failedRow).getText());
        wait.until(d -> Integer.parseInt(d.findElement(By.id("dlq-visible")).getText()) >= 1);
        screenshot("admin-failed.png");

        wait.until(ExpectedConditions.elementToBeClickable(By.id("redrive"))).click();

        wait.until(d -> List.of("RUNNING", "COMPLETED").contains(d.findElement(By.id("redrive-state")).getText()));
        By recentStatus = By.cssSelector("tr[data-recent='" + jobId + "'] .pill");
        wait.until(ExpectedConditions.textToBe(recentStatus, "SUCCEEDED"));
        wait.until(ExpectedConditions.textToBe(By.id("redrive-state"), "COMPLETED"));
        assertTrue(browser.findElements(failedRow).isEmpty(), "the job left the failed list");
        assertEquals("SUCCEEDED", api.get(jobId).body().get("status").asText());
        screenshot("admin-redriven.png");
        assertNoContentSecurityPolicyViolation();
    }

    @Test
    void operator_seesTheFleet_itsWorkersSlotsAndJobs_aDrainingWorker_andWhyJobsWait() throws Exception {
        Api api = new Api(stack.apiEndpoint());
        String slow = "{\"type\":\"sample\",\"input\":{\"sleepMs\":10000}}";
        // local-1's two slots take two long jobs; a second worker then takes the third, and a fourth waits.
        List<String> onFirst = List.of(api.submit(slow).jobId(), api.submit(slow).jobId());
        for (String jobId : onFirst) {
            api.awaitStatus(jobId, "RUNNING", FINISH);
        }
        dev.ferry.worker.Worker second = stack.startWorker(Map.of(dev.ferry.worker.WorkerConfig.SLOTS, "1"));
        String onSecond = api.submit(slow).jobId();
        api.awaitStatus(onSecond, "RUNNING", FINISH);
        Thread drain = new Thread(() -> second.drain(FINISH, "operator drain (browser test)"));
        drain.start();
        String waiting = api.submit(slow).jobId();
        try {
            WebDriverWait wait = new WebDriverWait(browser, FINISH, Duration.ofMillis(200));
            signIn(wait);
            By draining = By.cssSelector("#fleet tr[data-worker='" + second.workerId() + "']");
            String drainingRow = wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(d -> {
                String text = d.findElements(draining).isEmpty() ? "" : d.findElement(draining).getText();
                return text.contains("draining") ? text : null;
            });
            assertTrue(drainingRow.contains("operator drain (browser test)") && drainingRow.contains(onSecond)
                    && drainingRow.contains("BUSY"), drainingRow);
            String firstRow = wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                    .until(d -> d.findElement(By.cssSelector("#fleet tr[data-worker='local-1']")).getText());
            assertTrue(firstRow.contains("running") && firstRow.contains("2 busy, 0 idle")
                    && onFirst.stream().allMatch(firstRow::contains), firstRow);
            assertTrue(firstRow.contains("handler SAMPLE READY, setup"), "the warm handler and its setup time: "
                    + firstRow);
            String diagnosis = wait.until(d -> {
                String text = d.findElement(By.id("fleet-diagnosis")).getText();
                return text.contains("no capacity") ? text : null;
            });
            assertTrue(diagnosis.contains("all 3 slot(s) busy"), diagnosis);
            // A line per pool: the GPU pool's over its workers and its group; the Lambda pool's, its function.
            String gpu = browser.findElement(By.cssSelector("#fleet-diagnosis div[data-pool='Gpu']")).getText();
            assertTrue(gpu.contains("all 3 slot(s) busy") && gpu.endsWith("no Auto Scaling group"), gpu);
            String light = browser.findElement(By.cssSelector("#fleet-diagnosis div[data-pool='Light']")).getText();
            assertTrue(light.contains("no jobs wait") && light.contains("Lambda function "), light);
            ((JavascriptExecutor) browser).executeScript("arguments[0].scrollIntoView()",
                    browser.findElement(By.id("fleet-section")));
            screenshot("admin-fleet.png");
            assertNoContentSecurityPolicyViolation();
        } finally {
            drain.join(FINISH.toMillis());
            ((JavascriptExecutor) browser).executeScript("sessionStorage.clear()");
        }
        api.awaitStatus(waiting, "SUCCEEDED", FINISH);
    }

    /** Opens the admin page signed out, whatever an earlier test left in this tab, and signs in. */
    private static void signIn(WebDriverWait wait) {
        browser.get(stack.apiEndpoint() + "/admin");
        ((JavascriptExecutor) browser).executeScript("sessionStorage.clear()");
        browser.navigate().refresh();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token"))).sendKeys(stack.adminToken());
        browser.findElement(By.id("login-submit")).click();
    }

    @Test
    void operator_searchesAJobById_andSeesItsInputResultFilesAndAttempts() throws IOException {
        Api api = new Api(stack.apiEndpoint());
        String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"seen in detail\","
                + "\"image\":{\"width\":16,\"height\":16}}}").jobId();
        api.awaitStatus(jobId, "SUCCEEDED", FINISH);
        WebDriverWait wait = new WebDriverWait(browser, FINISH, Duration.ofMillis(200));
        signIn(wait);
        browser.findElement(By.id("auto")).click(); // no refresh under the test's feet: each step below reloads what it reads

        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("search"))).sendKeys("not-a-job-id");
        browser.findElement(By.id("search-go")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("notice"), "is not a job id"));
        browser.findElement(By.id("search")).clear();
        browser.findElement(By.id("search")).sendKeys("01JD3N3Y3ZX2W0K7Q8M9P4R5S6\n");
        wait.until(d -> d.findElement(By.id("notice")).getText().toLowerCase(java.util.Locale.ROOT).contains("no job"));
        assertTrue(browser.findElement(By.id("detail")).getAttribute("hidden") != null, "no detail for an unknown job");

        browser.findElement(By.id("search")).clear();
        browser.findElement(By.id("search")).sendKeys(jobId.toLowerCase(java.util.Locale.ROOT) + "\n");

        wait.until(ExpectedConditions.textToBe(By.id("detail-state"), "SUCCEEDED"));
        // The search and the address's #job= may each draw the detail: an element found just before the
        // second drawing goes stale, so each is read through the wait, which finds it again.
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        assertEquals(jobId, wait.until(d -> d.findElement(By.id("detail-id")).getText()));
        String facts = wait.until(d -> d.findElement(By.cssSelector("#detail-body dl.facts")).getText());
        assertTrue(facts.contains("Attempts") && facts.contains("Created") && !facts.contains("[object"), facts);
        assertTrue(wait.until(d -> d.findElement(By.id("detail-input")).getText()).contains("seen in detail"));
        assertTrue(wait.until(d -> d.findElement(By.id("detail-result")).getText()).contains("seen in detail"));
        String image = wait.until(d -> d.findElement(By.cssSelector("#detail-files a")).getAttribute("href"));
        assertTrue(api.download(image).length > 0, "the file's link works: " + image);
        String log = wait.until(d -> d.findElement(By.cssSelector("#detail-history tr[data-attempt='1'] a.log"))
                .getAttribute("href"));
        assertTrue(api.download(log).length > 0, "the attempt's log link works: " + log);
        assertTrue(browser.findElement(By.id("detail-webhooks")).isDisplayed());
        assertTrue(browser.getCurrentUrl().endsWith("#job=" + jobId), browser.getCurrentUrl());
        screenshot("admin-detail.png");

        browser.findElement(By.id("detail-close")).click();
        wait.until(ExpectedConditions.invisibilityOfElementLocated(By.id("detail")));
        browser.findElement(By.cssSelector("tr[data-recent='" + jobId + "'] button.link")).click();
        wait.until(ExpectedConditions.textToBe(By.id("detail-id"), jobId));
        assertNoContentSecurityPolicyViolation();
    }

    @Test
    void operator_looksUpAJobsWebhookDeliveries_andResendsItsLatestEvent() throws IOException {
        Backends.assumeDynamoDbStreams(stack);
        Api api = new Api(stack.apiEndpoint());
        WebDriverWait wait = new WebDriverWait(browser, FINISH, Duration.ofMillis(200));
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"x\"},\"webhookUrl\":\""
                    + receiver.url() + "\"}").jobId();
            org.awaitility.Awaitility.await().atMost(FINISH).until(() -> api.get(jobId).body().path("webhook")
                    .path("deliveries").size() == 1);
            signIn(wait);

            browser.findElement(By.id("webhook-job")).sendKeys(jobId);
            browser.findElement(By.cssSelector("#webhook-form button")).click();
            By rows = By.cssSelector("#webhook tr[data-delivery]");
            wait.until(ExpectedConditions.numberOfElementsToBe(rows, 1));
            // The table is drawn anew by each answer: read it in a wait that outlasts a redraw.
            String row = wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                    .until(d -> d.findElement(rows).getText());
            assertTrue(row.contains(jobId + "-completed-") && row.contains("200") && row.contains("delivered"), row);
            assertTrue(browser.findElement(By.id("webhook")).getText().contains(receiver.url()));

            wait.until(ExpectedConditions.elementToBeClickable(By.id("webhook-resend"))).click();

            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("notice"), "resent"));
            org.awaitility.Awaitility.await().atMost(FINISH).until(() -> receiver.of("completed").size() == 2);
            // The attempt is recorded just after the receiver answers: ask again until it shows.
            new WebDriverWait(browser, FINISH, Duration.ofSeconds(1))
                    .ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(d -> {
                d.findElement(By.cssSelector("#webhook-form button")).click();
                return d.findElements(rows).size() == 2;
            });
            String newest = wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                    .until(d -> d.findElements(rows).get(0).getText());
            assertTrue(newest.contains("-resend-"), "the newest attempt first: " + newest);
            ((JavascriptExecutor) browser).executeScript("arguments[0].scrollIntoView()",
                    browser.findElement(By.id("webhook")));
            screenshot("admin-webhook.png");
            assertNoContentSecurityPolicyViolation();
        } finally {
            ((JavascriptExecutor) browser).executeScript("sessionStorage.clear()");
        }
    }

    @Test
    void operator_seesHistoryCharts_drawnFromRealJobs_perWindowAndType() throws IOException {
        Api api = new Api(stack.apiEndpoint());
        List<String> jobIds = new java.util.ArrayList<>();
        for (int sleepMs : new int[] {100, 250, 400}) {
            jobIds.add(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":" + sleepMs + "}}").jobId());
        }
        jobIds.forEach(jobId -> api.awaitStatus(jobId, "SUCCEEDED", FINISH));
        WebDriverWait wait = new WebDriverWait(browser, FINISH, Duration.ofMillis(200));
        signIn(wait);
        browser.findElement(By.id("auto")).click(); // no refresh under the test's feet

        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("history-window"))).selectByValue("1h");
        wait.until(d -> d.findElement(By.id("history")).getAttribute("data-loaded") != null
                && d.findElement(By.id("history")).getAttribute("data-loaded").startsWith("1h||"));
        for (String chart : List.of("chart-counts", "chart-wait", "chart-run")) {
            org.openqa.selenium.WebElement canvas = browser.findElement(By.cssSelector("#" + chart + " canvas"));
            assertTrue(canvas.getSize().getWidth() > 100 && canvas.getSize().getHeight() > 50,
                    chart + " is drawn: " + canvas.getSize());
            String legend = browser.findElement(By.cssSelector("#" + chart + " .u-legend")).getText();
            for (String series : chart.equals("chart-counts") ? List.of("submitted", "succeeded", "failed", "cancelled")
                    : List.of("p50", "p90", "p99")) {
                assertTrue(legend.contains(series), chart + "'s legend names " + series + ": " + legend);
            }
        }
        String counts = browser.findElement(By.id("chart-counts-summary")).getText();
        assertTrue(counts.matches("\\d+ submitted, \\d+ succeeded, \\d+ failed, \\d+ cancelled\\."), counts);
        int succeeded = Integer.parseInt(counts.replaceAll(".* (\\d+) succeeded.*", "$1"));
        assertTrue(succeeded >= 3, "at least this test's jobs: " + counts);
        assertTrue(browser.findElement(By.id("chart-run-summary")).getText().startsWith("Highest p99"),
                browser.findElement(By.id("chart-run-summary")).getText());
        ((JavascriptExecutor) browser).executeScript("arguments[0].scrollIntoView()", browser.findElement(By.id("history")));
        screenshot("admin-history.png");

        // One type: the selector offers the types seen; a window without its jobs draws empty, and says so.
        wait.until(d -> !d.findElements(By.cssSelector("#history-type option[value='sample']")).isEmpty());
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("history-type"))).selectByValue("sample");
        wait.until(d -> d.findElement(By.id("history")).getAttribute("data-loaded").startsWith("1h|sample|"));
        assertTrue(browser.findElements(By.cssSelector("#chart-counts canvas")).size() == 1, "the old chart replaced");
        assertNoContentSecurityPolicyViolation();
    }
}

package dev.ferry.local;

import com.amazonaws.services.dynamodbv2.local.main.CommandLineInput;
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DynamoDB in this JVM: DynamoDB Local, in memory, on a free port.
 *
 * <p>DynamoDB Local stores tables in SQLite through sqlite4java, whose native library the module's
 * build copies into the classes under {@code sqlite4java/}. It is extracted to a temporary
 * directory once per JVM (a native library loads once per JVM anyway) and named by the system
 * property {@code sqlite4java.library.path}. Bundled: Linux x86-64 and macOS x86-64.
 *
 * <p>DynamoDB Local listens on every interface (it has no option to bind one), cannot pick a free
 * port itself, and, unlike DynamoDB, deletes items whose TTL attribute lies in the past within
 * seconds.
 */
public final class EmbeddedDynamoDb implements AutoCloseable {

    /** Tries at finding a free port before giving up: another process may take it in between. */
    static final int PORT_ATTEMPTS = 5;

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDynamoDb.class);
    private static final String LIBRARY_PATH_PROPERTY = "sqlite4java.library.path";

    private final DynamoDBProxyServer server;
    private final URI endpoint;

    private EmbeddedDynamoDb(DynamoDBProxyServer server, int port) {
        this.server = server;
        this.endpoint = URI.create("http://localhost:" + port);
    }

    /**
     * Starts DynamoDB Local, in memory, on a free port.
     *
     * @throws IllegalStateException when this platform has no bundled sqlite4java library, or the
     *     server does not start
     */
    public static EmbeddedDynamoDb start() {
        prepareNativeLibrary();
        BindException lastBindFailure = null;
        for (int attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
            int port = freePort();
            try {
                return startOn(port);
            } catch (BindException e) {
                LOG.debug("port {} was taken before DynamoDB Local could bind it; trying another", port);
                lastBindFailure = e;
            }
        }
        throw new IllegalStateException("cannot start DynamoDB Local: no free port after " + PORT_ATTEMPTS
                + " attempts", lastBindFailure);
    }

    /**
     * Starts DynamoDB Local, in memory, on the given port.
     *
     * @throws PortInUseException when the port is taken
     * @throws IllegalStateException when this platform has no bundled sqlite4java library, or the
     *     server does not start
     */
    public static EmbeddedDynamoDb start(int port) {
        prepareNativeLibrary();
        try {
            return startOn(port);
        } catch (BindException e) {
            throw new PortInUseException("DynamoDB Local", port, e);
        }
    }

    private static EmbeddedDynamoDb startOn(int port) throws BindException {
        DynamoDBProxyServer server;
        try {
            // ServerRunner.createServerFromCommandLineArgs does the same, but also prints its
            // configuration to stdout. -disableTelemetry: DynamoDB Local otherwise reports usage.
            CommandLineInput input = new CommandLineInput(
                    new String[] {"-inMemory", "-disableTelemetry", "-port", Integer.toString(port)});
            if (!input.init()) {
                throw new IllegalStateException("DynamoDB Local rejected its arguments (port " + port + ")");
            }
            server = ServerRunner.createServer(input);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create DynamoDB Local on port " + port + ": " + e, e);
        }
        try {
            // start() would print a bind failure to stderr and return as if it had started.
            server.safeStart();
        } catch (Exception e) {
            stopQuietly(server);
            BindException bind = bindCause(e);
            if (bind != null) {
                throw bind;
            }
            throw new IllegalStateException("cannot start DynamoDB Local on port " + port + ": " + e, e);
        }
        EmbeddedDynamoDb dynamoDb = new EmbeddedDynamoDb(server, port);
        LOG.debug("DynamoDB Local listening on {}", dynamoDb.endpoint);
        return dynamoDb;
    }

    /** The DynamoDB endpoint, {@code http://localhost:<port>}: {@code AWS_ENDPOINT_URL_DYNAMODB}. */
    public URI endpoint() {
        return endpoint;
    }

    /** Stops the server; the in-memory tables are gone. */
    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("DynamoDB Local on " + endpoint + " did not stop cleanly: " + e, e);
        }
        LOG.debug("DynamoDB Local on {} stopped", endpoint);
    }

    /** The bundled native library for this JVM's platform, as a resource path. */
    static String nativeLibraryResource(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        boolean x64 = osArch.equals("amd64") || osArch.equals("x86_64");
        if (os.startsWith("linux") && x64) {
            return "sqlite4java/libsqlite4java-linux-amd64.so";
        }
        if ((os.startsWith("mac") || os.startsWith("darwin")) && x64) {
            return "sqlite4java/libsqlite4java-osx.dylib";
        }
        throw new IllegalStateException("DynamoDB Local needs sqlite4java's native library, and the local stack"
                + " bundles it for Linux x86-64 and macOS x86-64 only; this JVM runs on " + osName + " " + osArch
                + " (on Apple silicon, run the local stack on an x86-64 JDK under Rosetta)");
    }

    private static synchronized void prepareNativeLibrary() {
        if (System.getProperty(LIBRARY_PATH_PROPERTY) != null) {
            return;
        }
        String resource = nativeLibraryResource(System.getProperty("os.name"), System.getProperty("os.arch"));
        try (InputStream library = EmbeddedDynamoDb.class.getClassLoader().getResourceAsStream(resource)) {
            if (library == null) {
                throw new IllegalStateException("the classpath has no " + resource + "; the local-stack build copies"
                        + " it into its classes (maven-dependency-plugin, execution sqlite4java-natives): rebuild it");
            }
            Path directory = Files.createTempDirectory("ferry-sqlite4java-");
            Path file = directory.resolve(resource.substring(resource.indexOf('/') + 1));
            Files.copy(library, file, StandardCopyOption.REPLACE_EXISTING);
            directory.toFile().deleteOnExit();
            file.toFile().deleteOnExit();
            System.setProperty(LIBRARY_PATH_PROPERTY, directory.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + resource + " for DynamoDB Local", e);
        }
    }

    private static int freePort() {
        // DynamoDB Local binds every interface, so look for a port free on every interface.
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port for DynamoDB Local", e);
        }
    }

    private static BindException bindCause(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof BindException bind) {
                return bind;
            }
        }
        return null;
    }

    private static void stopQuietly(DynamoDBProxyServer server) {
        try {
            server.stop();
        } catch (Exception e) {
            LOG.debug("stopping a DynamoDB Local that did not start failed too", e);
        }
    }
}

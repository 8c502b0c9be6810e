package dev.ferry.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on loopback between workers and an emulator, that can cut them off: while cut, it
 * resets every open connection (requests in flight lose their answer, whether or not the emulator
 * acted on them) and resets each new one as soon as it is accepted. The emulator behind it keeps
 * its data; {@link #restore()} lets connections through again.
 */
public final class FaultProxy implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FaultProxy.class);
    private static final int CONNECT_TIMEOUT_MILLIS = 2_000;

    private final String name;
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final ExecutorService threads;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicLong cutMillis = new AtomicLong();
    private volatile boolean cut;
    private volatile long cutSince;
    private volatile boolean closed;

    private FaultProxy(String name, InetSocketAddress target, ServerSocket server) {
        this.name = name;
        this.target = target;
        this.server = server;
        this.threads = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "fault-proxy-" + name);
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Starts a proxy on a free loopback port to {@code target} (an {@code http://host:port} URL).
     *
     * @param name for logs and threads, e.g. {@code sqs}
     */
    public static FaultProxy start(String name, URI target) {
        Objects.requireNonNull(target, "target");
        try {
            ServerSocket server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
            FaultProxy proxy = new FaultProxy(name, new InetSocketAddress(target.getHost(), target.getPort()), server);
            proxy.threads.execute(proxy::acceptLoop);
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the " + name + " proxy", e);
        }
    }

    /** {@code http://127.0.0.1:<port>}: what the workers' endpoint variable points at. */
    public URI endpoint() {
        return URI.create("http://" + server.getInetAddress().getHostAddress() + ":" + server.getLocalPort());
    }

    /** Cuts everything off: open connections are reset, new ones are reset on accept. */
    public void cut() {
        if (!cut) {
            cutSince = System.nanoTime();
        }
        cut = true;
        int reset = 0;
        for (Socket socket : open) {
            reset(socket);
            reset++;
        }
        LOG.info("{} proxy: cut ({} open connection(s) reset)", name, reset);
    }

    /** Lets connections through again. */
    public void restore() {
        if (cut) {
            cutMillis.addAndGet((System.nanoTime() - cutSince) / 1_000_000);
        }
        cut = false;
        LOG.info("{} proxy: restored", name);
    }

    public boolean isCut() {
        return cut;
    }

    /** Connections passed through. */
    public int connections() {
        return connections.get();
    }

    /** Connections reset on accept while cut. */
    public int refused() {
        return refused.get();
    }

    /** How long it has been cut in all. */
    public long cutMillis() {
        return cutMillis.get() + (cut ? (System.nanoTime() - cutSince) / 1_000_000 : 0);
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("{} proxy: accept failed: {}", name, e.toString());
                }
                return;
            }
            if (cut) {
                refused.incrementAndGet();
                reset(client);
                continue;
            }
            threads.execute(() -> connect(client));
        }
    }

    private void connect(Socket client) {
        Socket upstream = new Socket();
        try {
            upstream.connect(target, CONNECT_TIMEOUT_MILLIS);
            upstream.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
        } catch (IOException e) {
            reset(client);
            close(upstream);
            return;
        }
        open.add(client);
        open.add(upstream);
        connections.incrementAndGet();
        if (cut) { // cut while connecting
            reset(client);
            reset(upstream);
            return;
        }
        threads.execute(() -> pump(client, upstream));
        pump(upstream, client);
    }

    /** Copies {@code from} to {@code to} until either ends; then both are closed. */
    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buffer)) != -1; ) {
                if (cut) {
                    break;
                }
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // reset or closed: both sides are closed below
        } finally {
            if (cut) {
                reset(from);
                reset(to);
            } else {
                close(from);
                close(to);
            }
        }
    }

    /** Closes with a TCP reset, as a dropped connection looks to the other side. */
    private void reset(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
        } catch (SocketException e) {
            // already closed
        }
        close(socket);
    }

    private void close(Socket socket) {
        open.remove(socket);
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // nothing to do
        }
        open.forEach(this::close);
        threads.shutdownNow();
    }
}

package dev.ferry.local;

/** A server of the local stack cannot listen on the port it was given: something else uses it. */
public final class PortInUseException extends IllegalStateException {

    private final int port;

    /**
     * @param server what could not start, e.g. "the local API"
     * @param port the port it was given
     * @param cause the bind failure
     */
    public PortInUseException(String server, int port, Throwable cause) {
        super(server + ": port " + port + " on localhost is already in use", cause);
        this.port = port;
    }

    /** The port that is in use. */
    public int port() {
        return port;
    }
}

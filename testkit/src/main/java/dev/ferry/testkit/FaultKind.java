package dev.ferry.testkit;

/** The faults {@link HttpFaultProxy} injects; {@link Fault} says what each does on the wire. */
public enum FaultKind {
    /** Forwarded and applied; the whole answer read, then the client's connection reset. */
    LOSE_RESPONSE,
    /** Forwarded and applied; the answer held past the client's per-attempt timeout. */
    SLOW,
    /** Not forwarded; answered as the service answers when it throttles. */
    THROTTLE,
    /** A 500 or 503 in the service's protocol, before forwarding (not applied) or after (applied). */
    SERVER_ERROR,
    /** Not forwarded; answered with a given status and error code. */
    REFUSE
}

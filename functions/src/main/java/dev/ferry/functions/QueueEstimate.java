package dev.ferry.functions;

/**
 * Where a queued job stands: an estimate, never a promise.
 *
 * @param position QUEUED jobs created before it (of every type), at most the count's cap
 * @param positionCapped true when more than {@code position} are ahead of it
 * @param etaSeconds when it is expected to have finished, from now; null when that cannot be
 *     computed (no recent run of its type, no slot known to be working, or a position past the cap)
 */
record QueueEstimate(long position, boolean positionCapped, Long etaSeconds) {
}

package dev.ferry.core;

import java.io.Serializable;
import java.math.BigInteger;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Makes job ids: 26 characters of Crockford base32 (the ULID layout), 48 bits of milliseconds then
 * 80 random bits, so ids sort by creation time.
 *
 * <p>The random bits are read from the operating system on every call
 * ({@code NativePRNGNonBlocking} mixes fresh {@code /dev/urandom} bytes into each output). That is
 * what keeps ids unique after a Lambda SnapStart restore: a snapshot copies the heap, so a
 * generator seeded during init ({@code new Random()}, a seeded {@code SHA1PRNG}) would hand every
 * restored copy the same sequence.
 */
public final class JobIds implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final char[] CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();

    /** Fills a byte array with entropy. */
    @FunctionalInterface
    public interface Entropy extends Serializable {
        void fill(byte[] bytes);
    }

    private final Entropy entropy;
    private final Clock clock;

    public JobIds() {
        this(JobIds::fromOperatingSystem, Clock.systemUTC());
    }

    public JobIds(Entropy entropy, Clock clock) {
        this.entropy = entropy;
        this.clock = clock;
    }

    /** A new id: creation time, then fresh randomness. */
    public String newId() {
        long millis = clock.millis();
        byte[] bytes = new byte[16];
        for (int i = 5; i >= 0; i--) {
            bytes[i] = (byte) millis;
            millis >>>= 8;
        }
        byte[] random = new byte[10];
        entropy.fill(random);
        System.arraycopy(random, 0, bytes, 6, 10);
        return encode(bytes);
    }

    /**
     * The id for a request that carries an {@code Idempotency-Key}: derived from the key (within
     * the caller's scope, e.g. its API key), so that every retry lands on the same record and the
     * conditional create decides which request made it.
     */
    public static String forIdempotencyKey(String scope, String idempotencyKey) {
        String digest = Json.sha256Hex(scope + "\u0000" + idempotencyKey);
        return encode(HexFormat.of().parseHex(digest.substring(0, 32)));
    }

    /** 128 bits as 26 Crockford base32 characters (the first carries the top 3 bits). */
    static String encode(byte[] sixteenBytes) {
        BigInteger value = new BigInteger(1, sixteenBytes);
        char[] out = new char[26];
        for (int i = 25; i >= 0; i--) {
            out[i] = CROCKFORD[value.intValue() & 31];
            value = value.shiftRight(5);
        }
        return new String(out);
    }

    /** True if the text has the shape of a job id; says nothing of whether the job exists. */
    public static boolean looksLikeId(String text) {
        if (text == null || text.length() != 26) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            if (Arrays.binarySearch(CROCKFORD, text.charAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }

    private static void fromOperatingSystem(byte[] bytes) {
        OsRandom.INSTANCE.nextBytes(bytes);
    }

    /** Holder: a non-blocking OS-backed generator, or the platform default where there is none. */
    private static final class OsRandom {
        static final SecureRandom INSTANCE = create();

        private static SecureRandom create() {
            try {
                return SecureRandom.getInstance("NativePRNGNonBlocking");
            } catch (NoSuchAlgorithmException e) {
                return new SecureRandom();
            }
        }
    }
}

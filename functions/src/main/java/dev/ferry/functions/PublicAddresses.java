package dev.ferry.functions;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;

/**
 * Which addresses a webhook may reach: public ones only. Everything IANA sets aside for special
 * use is refused, by name: loopback (the Lambda runtime's own API listens there), link-local
 * (169.254.169.254, the instance metadata service, above all), private networks, carrier-grade
 * NAT, unique-local IPv6 (fd00:ec2::254, the metadata service's IPv6 address, is one), multicast,
 * documentation and benchmarking ranges, and IPv6 forms that carry an IPv4 address (mapped,
 * NAT64, 6to4), which are judged by the address they carry.
 */
final class PublicAddresses {

    /** One refused range. */
    private record Range(byte[] prefix, int bits, String name) {
        boolean contains(byte[] address) {
            if (address.length != prefix.length) {
                return false;
            }
            int whole = bits / 8;
            for (int i = 0; i < whole; i++) {
                if (address[i] != prefix[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            if (rest == 0) {
                return true;
            }
            int mask = (0xff << (8 - rest)) & 0xff;
            return (address[whole] & mask) == (prefix[whole] & mask);
        }
    }

    private static final List<Range> REFUSED = List.of(
            range("0.0.0.0", 8, "a \"this network\" address"),
            range("10.0.0.0", 8, "a private address"),
            range("100.64.0.0", 10, "a carrier-grade NAT address"),
            range("127.0.0.0", 8, "a loopback address"),
            range("169.254.0.0", 16, "a link-local address (the cloud metadata service lives there)"),
            range("172.16.0.0", 12, "a private address"),
            range("192.0.0.0", 24, "an IETF protocol address"),
            range("192.0.2.0", 24, "a documentation address"),
            range("192.88.99.0", 24, "a 6to4 relay address"),
            range("192.168.0.0", 16, "a private address"),
            range("198.18.0.0", 15, "a benchmarking address"),
            range("198.51.100.0", 24, "a documentation address"),
            range("203.0.113.0", 24, "a documentation address"),
            range("224.0.0.0", 4, "a multicast address"),
            range("240.0.0.0", 4, "a reserved address"),
            range("::", 128, "the unspecified address"),
            range("::1", 128, "a loopback address"),
            range("100::", 64, "a discard-only address"),
            range("2001::", 23, "an IETF protocol address"),
            range("2001:db8::", 32, "a documentation address"),
            range("fc00::", 7, "a unique-local address (fd00:ec2::254 is the cloud metadata service)"),
            range("fe80::", 10, "a link-local address"),
            range("fec0::", 10, "a site-local address"),
            range("ff00::", 8, "a multicast address"));

    private PublicAddresses() {
    }

    private static Range range(String address, int bits, String name) {
        try {
            return new Range(InetAddress.getByName(address).getAddress(), bits, name);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("not an address literal: " + address, e);
        }
    }

    /**
     * Why a webhook may not reach this address ("a loopback address", ...); empty when it is a
     * public one.
     */
    static Optional<String> refusal(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (address instanceof Inet6Address) {
            Optional<byte[]> carried = carriedIpv4(bytes);
            if (carried.isPresent()) {
                return refusalOf(carried.get()).map(why -> why + ", carried in an IPv6 address");
            }
        }
        return refusalOf(bytes);
    }

    private static Optional<String> refusalOf(byte[] bytes) {
        for (Range range : REFUSED) {
            if (range.contains(bytes)) {
                return Optional.of(range.name());
            }
        }
        return Optional.empty();
    }

    /**
     * The IPv4 address an IPv6 one stands for: IPv4-mapped ({@code ::ffff:a.b.c.d}), IPv4-compatible
     * ({@code ::a.b.c.d}), NAT64 ({@code 64:ff9b::a.b.c.d}) or 6to4 ({@code 2002:aabb:ccdd::}).
     */
    private static Optional<byte[]> carriedIpv4(byte[] v6) {
        boolean zeros80 = allZero(v6, 0, 10);
        if (zeros80 && (v6[10] & 0xff) == 0xff && (v6[11] & 0xff) == 0xff) {
            return Optional.of(slice(v6, 12));
        }
        if (zeros80 && v6[10] == 0 && v6[11] == 0 && !allZero(v6, 12, 16) && !isLoopback(v6)) {
            return Optional.of(slice(v6, 12));
        }
        if ((v6[0] & 0xff) == 0x00 && (v6[1] & 0xff) == 0x64 && (v6[2] & 0xff) == 0xff && (v6[3] & 0xff) == 0x9b
                && allZero(v6, 4, 12)) {
            return Optional.of(slice(v6, 12));
        }
        if ((v6[0] & 0xff) == 0x20 && (v6[1] & 0xff) == 0x02) {
            return Optional.of(new byte[] {v6[2], v6[3], v6[4], v6[5]});
        }
        return Optional.empty();
    }

    private static boolean isLoopback(byte[] v6) {
        return allZero(v6, 0, 15) && v6[15] == 1;
    }

    private static boolean allZero(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static byte[] slice(byte[] v6, int from) {
        return new byte[] {v6[from], v6[from + 1], v6[from + 2], v6[from + 3]};
    }
}

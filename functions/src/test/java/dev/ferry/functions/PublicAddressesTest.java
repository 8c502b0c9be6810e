package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Each address class a webhook may not reach, at its edges; and public addresses, which it may. */
class PublicAddressesTest {

    private static Optional<String> refusal(String literal) throws UnknownHostException {
        return PublicAddresses.refusal(InetAddress.getByName(literal));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "169.254.169.254           | link-local address (the cloud metadata service",
            "169.254.0.0               | link-local address",
            "169.254.255.255           | link-local address",
            "127.0.0.1                 | loopback address",
            "127.255.255.254           | loopback address",
            "10.0.0.1                  | private address",
            "10.255.255.255            | private address",
            "172.16.0.1                | private address",
            "172.31.255.255            | private address",
            "192.168.1.1               | private address",
            "100.64.0.1                | carrier-grade NAT address",
            "100.127.255.255           | carrier-grade NAT address",
            "0.0.0.0                   | \"this network\" address",
            "0.1.2.3                   | \"this network\" address",
            "192.0.0.170               | IETF protocol address",
            "192.0.2.10                | documentation address",
            "198.51.100.7              | documentation address",
            "203.0.113.99              | documentation address",
            "198.18.0.1                | benchmarking address",
            "198.19.255.255            | benchmarking address",
            "224.0.0.251               | multicast address",
            "239.255.255.250           | multicast address",
            "240.0.0.1                 | reserved address",
            "255.255.255.255           | reserved address",
            "192.88.99.1               | 6to4 relay address",
            "::                        | unspecified address",
            "::1                       | loopback address",
            "fe80::1                   | link-local address",
            "febf:ffff::1              | link-local address",
            "fc00::1                   | unique-local address",
            "fd00:ec2::254             | unique-local address (fd00:ec2::254 is the cloud metadata service)",
            "fec0::1                   | site-local address",
            "ff02::1                   | multicast address",
            "2001:db8::1               | documentation address",
            "100::1                    | discard-only address",
            "2001::1                   | IETF protocol address",
            "::ffff:169.254.169.254    | link-local address (the cloud metadata service lives there)",
            "::ffff:127.0.0.1          | loopback address",
            "::ffff:10.0.0.1           | private address",
            "64:ff9b::a9fe:a9fe        | link-local address",
            "2002:a9fe:a9fe::1         | link-local address",
            "::7f00:1                  | loopback address",
    })
    void aSpecialPurposeAddress_isRefused_sayingWhy(String address, String why) throws UnknownHostException {
        Optional<String> refusal = refusal(address);

        assertTrue(refusal.isPresent(), address + " must be refused");
        assertTrue(refusal.get().contains(why), address + ": " + refusal.get());
    }

    @ParameterizedTest
    @ValueSource(strings = {"93.184.215.14", "1.1.1.1", "8.8.8.8", "172.15.255.255", "172.32.0.1", "100.63.255.255",
            "100.128.0.1", "169.253.255.255", "169.255.0.1", "11.0.0.1", "192.169.0.1", "223.255.255.255",
            "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
            "2002:808:808::1"})
    void aPublicAddress_isAllowed(String address) throws UnknownHostException {
        assertEquals(Optional.empty(), refusal(address), address);
    }
}

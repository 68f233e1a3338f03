"""A tour of the Rust engines from Python: an echo server in the background, a timed client,
a load test and a scan that finds the server, all in one process.

    python examples/engines_tour.py
"""

import socket

import udpeco

# Final exercise 1's server: a random port in 20000-20100, served by a Rust thread. The load
# test below sends from one address far faster than a person types: no per-source rate limit.
with udpeco.EchoServer(
    random_port=(20000, 20100), host="127.0.0.1", quiet=True, rate_limit=0
) as srv:
    (port,) = srv.ports
    print(f"echo server on 127.0.0.1:{port}")

    # The timed client (cliente_eco with a timeout): one request, one reply.
    with udpeco.Client("127.0.0.1", port, timeout=1.0) as client:
        print("Server reply :", client.request(b"hola").decode())

    # A short closed-loop load test: 64 datagrams in flight for half a second.
    r = udpeco.bench("127.0.0.1", port, duration=0.5, window=64, size=64)
    print(f"bench: {r['rate']:,.0f} echoes/s, lost {r['lost']}, p99 {r['p99_us']:.0f} us")

    # The scanner finds the server's port among the 101 candidates.
    found = [x.port for x in udpeco.scan("127.0.0.1", "20000-20100") if x.state == "open"]
    print("scan found:", found)
    assert port in found

    print("server counters:", srv.stats)

# No answer from a closed port: ConnectionRefusedError at once; from a silent one: timeout.
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(("127.0.0.1", 0))
try:
    udpeco.Client("127.0.0.1", silent.getsockname()[1], timeout=0.2).request(b"hola")
except socket.timeout as e:
    print("silent server:", e)
silent.close()

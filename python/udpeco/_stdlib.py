"""The names ``udpeco`` takes from the stdlib's ``socket`` module (its exception classes, its
constants and a few functions), so that ``import udpeco as socket`` keeps working.

Imported by ``udpeco`` on first use of one of these names (PEP 562): a program that only runs an
engine, and the ``udpeco`` command, do not pay for the stdlib's ``socket`` module at start-up.
"""

import socket as _stdlib_socket

from udpeco import _udpeco

#: The stdlib's exception classes themselves, so ``except socket.error`` catches udpeco's.
error = _stdlib_socket.error
timeout = _stdlib_socket.timeout
gaierror = _stdlib_socket.gaierror
herror = _stdlib_socket.herror

# The constants are the stdlib's own enum members (same values as udpeco._udpeco's ints), so
# that ``udpeco.AF_INET`` prints and compares exactly like ``socket.AF_INET``.
AF_INET = _stdlib_socket.AF_INET
AF_INET6 = _stdlib_socket.AF_INET6
SOCK_DGRAM = _stdlib_socket.SOCK_DGRAM
SOCK_NONBLOCK = _stdlib_socket.SOCK_NONBLOCK
SOCK_CLOEXEC = _stdlib_socket.SOCK_CLOEXEC
# More constants a UDP script may use, also the stdlib's own.
AF_UNSPEC = _stdlib_socket.AF_UNSPEC
INADDR_ANY = _stdlib_socket.INADDR_ANY
INADDR_BROADCAST = _stdlib_socket.INADDR_BROADCAST
INADDR_LOOPBACK = _stdlib_socket.INADDR_LOOPBACK

# sendmsg/recvmsg (ancillary data) and batch I/O constants: the stdlib's own objects where the
# stdlib has them (MSG_* are its MsgFlag members), else the platform's values from the core.
MSG_CTRUNC = _stdlib_socket.MSG_CTRUNC
MSG_ERRQUEUE = _stdlib_socket.MSG_ERRQUEUE
SOL_IP = _stdlib_socket.SOL_IP
SOL_UDP = _stdlib_socket.SOL_UDP
IP_RECVTOS = _stdlib_socket.IP_RECVTOS
IPV6_PKTINFO = _stdlib_socket.IPV6_PKTINFO
IPV6_RECVPKTINFO = _stdlib_socket.IPV6_RECVPKTINFO
IPV6_TCLASS = _stdlib_socket.IPV6_TCLASS
IPV6_RECVTCLASS = _stdlib_socket.IPV6_RECVTCLASS
IPV6_HOPLIMIT = _stdlib_socket.IPV6_HOPLIMIT
IPV6_RECVHOPLIMIT = _stdlib_socket.IPV6_RECVHOPLIMIT
CMSG_LEN = _stdlib_socket.CMSG_LEN
CMSG_SPACE = _stdlib_socket.CMSG_SPACE
# Not in every Python's socket module (3.11 lacks them all): the stdlib's when it has them.
IP_PKTINFO: int = getattr(_stdlib_socket, "IP_PKTINFO", _udpeco.IP_PKTINFO)
IP_RECVTTL: int = getattr(_stdlib_socket, "IP_RECVTTL", _udpeco.IP_RECVTTL)
IP_RECVERR: int = getattr(_stdlib_socket, "IP_RECVERR", _udpeco.IP_RECVERR)
IPV6_RECVERR: int = getattr(_stdlib_socket, "IPV6_RECVERR", _udpeco.IPV6_RECVERR)
SO_TIMESTAMP: int = getattr(_stdlib_socket, "SO_TIMESTAMP", _udpeco.SO_TIMESTAMP)
SO_TIMESTAMPNS: int = getattr(_stdlib_socket, "SO_TIMESTAMPNS", _udpeco.SO_TIMESTAMPNS)
SCM_TIMESTAMP: int = getattr(_stdlib_socket, "SCM_TIMESTAMP", _udpeco.SCM_TIMESTAMP)
SCM_TIMESTAMPNS: int = getattr(_stdlib_socket, "SCM_TIMESTAMPNS", _udpeco.SCM_TIMESTAMPNS)
UDP_SEGMENT: int = getattr(_stdlib_socket, "UDP_SEGMENT", _udpeco.UDP_SEGMENT)
UDP_GRO: int = getattr(_stdlib_socket, "UDP_GRO", _udpeco.UDP_GRO)

#: Same as ``socket.getdefaulttimeout``/``setdefaulttimeout``: udpeco sockets honour it.
getdefaulttimeout = _stdlib_socket.getdefaulttimeout
setdefaulttimeout = _stdlib_socket.setdefaulttimeout
gethostname = _stdlib_socket.gethostname
gethostbyname = _stdlib_socket.gethostbyname
getaddrinfo = _stdlib_socket.getaddrinfo

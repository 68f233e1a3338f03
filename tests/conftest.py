"""Settings for the whole suite."""

import signal

# The Ctrl+C tests send SIGINT to this process and to the programs it starts. A script's
# background job (`bash scripts/test.sh &`) starts with SIGINT ignored; Python then installs no
# handler of its own, and every child inherits the ignoring: those tests would fail, and one
# would wait forever. Give the suite the handler an interactive run has (its children then start
# with SIGINT at its default, as from a terminal).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

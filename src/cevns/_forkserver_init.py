"""Imported first by the workers' forkserver when :func:`cevns.forkserver.start_early` starts it,
and by no other process: Ctrl-C is ignored in the server and in the workers forked from it, and
glibc's ``malloc`` is set up for NumPy work (:func:`cevns.cache.tune_worker_malloc`, inherited by
every worker forked from the server).

A terminal's Ctrl-C reaches the whole foreground process group. The command's driver turns it
into a one-line message and stops the workers; the server, importing the worker modules for about
a second, would otherwise die with a ``KeyboardInterrupt`` traceback of its own. The server is
started with ``SIGINT`` blocked (so that a Ctrl-C cannot land before this line); here it is set to
be ignored, then unblocked.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
if hasattr(signal, "pthread_sigmask"):
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

from cevns.cache import tune_worker_malloc  # noqa: E402 - after Ctrl-C is ignored

tune_worker_malloc()

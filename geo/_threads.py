"""One lock around every parallel numba kernel launch.

numba's fallback threading layer (workqueue) aborts when two threads launch
parallel kernels at once, and the web server answers requests in threads. Each
launch already uses every core, so taking turns costs no throughput.
"""

from __future__ import annotations

import threading

PARALLEL_LOCK = threading.Lock()

"""Progress bars for long work (seeding, imports, benchmarks): tqdm on stderr, with no monitor thread."""
from __future__ import annotations

import sys

from tqdm import tqdm


class Progress(tqdm):
    """tqdm without its monitor thread.

    tqdm starts a thread that outlives every bar (it only corrects refresh intervals of stalled
    bars). A process with such a thread cannot safely fork, so a bulk import after a seed or an
    earlier import would start its workers the slow way (`data_sources.bulk_import._start_method`).
    """

    monitor_interval = 0


def progress(**kw) -> Progress:
    """A progress bar on stderr that redraws at most twice a second (tqdm's arguments)."""
    return Progress(**{"file": sys.stderr, "dynamic_ncols": True, "mininterval": 0.5, **kw})

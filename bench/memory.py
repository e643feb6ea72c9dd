"""Peak resident memory of this process, for the benchmarks."""

import resource


def peak_rss_mb() -> float:
    """VmHWM from /proc, not ru_maxrss: Linux carries ru_maxrss over an exec, so a bench or a
    phase started by a bigger process would report its parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

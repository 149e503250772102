"""Each torch process takes its share of the cores: a worker cores ÷ the local workers, the web and the
bot one thread, NARCIS_TORCH_THREADS over both; a container's CPU quota caps the cores."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from inference.models.threads import ProcessKind, threads_for, usable_cores

WORKER, WEB, BOT = ProcessKind.WORKER, ProcessKind.WEB, ProcessKind.BOT


@pytest.mark.parametrize(
    ("kind", "cores", "env", "threads"),
    [
        (WORKER, 8, {}, 8),  # the machine's one worker
        (WORKER, 8, {"NARCIS_LOCAL_WORKERS": "2"}, 4),
        (WORKER, 2, {"NARCIS_LOCAL_WORKERS": "3"}, 1),  # never 0
        (WORKER, 7, {"NARCIS_LOCAL_WORKERS": "2"}, 3),
        (WEB, 16, {}, 1),
        (BOT, 16, {"NARCIS_LOCAL_WORKERS": "2"}, 1),
        (WEB, 16, {"NARCIS_TORCH_THREADS": "4"}, 4),  # explicit wins, for any process
        (WORKER, 16, {"NARCIS_TORCH_THREADS": "3", "NARCIS_LOCAL_WORKERS": "8"}, 3),
        (WORKER, 4, {"NARCIS_TORCH_THREADS": " ", "NARCIS_LOCAL_WORKERS": ""}, 4),  # blank is unset
    ],
)
def test_each_process_takes_its_share(kind, cores, env, threads):
    assert threads_for(kind, cores=cores, env=env) == threads


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
@pytest.mark.parametrize("name", ["NARCIS_TORCH_THREADS", "NARCIS_LOCAL_WORKERS"])
def test_a_setting_that_is_not_a_positive_whole_number_is_refused_by_name(name, value):
    with pytest.raises(ValueError, match=f"^{name} must be a whole number of at least 1, not '{value}'"):
        threads_for(WORKER, cores=4, env={name: value})


@pytest.mark.parametrize(
    ("cpu_max", "cap"),
    [("max 100000\n", None), ("100000 100000\n", 1), ("150000 100000\n", 2), ("50000 100000\n", 1)],
)
def test_a_containers_cpu_quota_caps_the_cores(tmp_path, cpu_max, cap):
    cores = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert usable_cores(cpu_max=tmp_path / "cpu.max") == (cores if cap is None else min(cores, cap))
    assert usable_cores(cpu_max=tmp_path / "absent") == cores  # no cgroup v2 file: the affinity


@pytest.mark.skipif(usable_cores() < 2, reason="one core: torch's own default is already one thread")
@pytest.mark.parametrize("torch_first", [False, True], ids=["before-torch-starts", "after"])
def test_the_setter_sizes_torch_in_a_fresh_process(torch_first):
    """A fresh process (torch's thread count is per process), through the real setter: before torch is
    imported (the variables it reads at start) and after (its own setter). Left alone, torch would take
    a thread per core."""
    probe = (
        ("import torch\n" if torch_first else "")
        + "from inference.models.threads import ProcessKind, size_torch_threads\n"
        "sized = size_torch_threads(ProcessKind.WEB)\n"
        "import torch\n"
        "print(sized, torch.get_num_threads())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NARCIS_TORCH_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]  # the web's one thread

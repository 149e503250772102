import json
import re

import pytest

from inference import bench


def test_bench_runs_both_pipelines_and_reports_ratios(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = "--steps 2 --size 64 --batches 1 4 --repeats 5 --portrait".split() + ["--json", str(out)]
    code = bench.main(args)
    assert code == 0
    printed = capsys.readouterr().out
    assert "| equal work | 1 |" in printed and "| adaptive guidance | 4 |" in printed
    assert "batch-4 throughput vs 4 sequential runs:" in printed
    assert "| portrait, batch | stage 1 | detailing | faces | crop + encode | prompt | denoise" in printed
    # stage 2's breakdown: with a 2-step detailing every step runs (the mask releases pixels at step 0)
    assert re.search(
        r"^\| 4 \| (\d\.\d{4} \| ){5}\d\.\d{4} \(2 of 2\) \| \d\.\d{4} \| \d\.\d{4} \|$", printed, re.M
    )
    results = json.loads(out.read_text())
    assert [(r["label"], r["batch"]) for r in results] == [
        ("equal work", 1),
        ("adaptive guidance", 1),
        ("equal work", 4),
        ("adaptive guidance", 4),
    ]
    assert all(r["ours_s"] > 0 and r["theirs_s"] > 0 and r["ratio"] > 0 for r in results)


def test_measure_alternates_and_warms_up_both():
    order = []
    ours_runs, theirs_runs = bench.measure(
        lambda: order.append("o"), lambda: order.append("t"), repeats=5, device=bench.torch.device("cpu")
    )
    assert order == ["o", "t", "o", "t", "t", "o", "o", "t", "t", "o", "o", "t"]
    assert len(ours_runs) == len(theirs_runs) == 5


@pytest.mark.compiles
def test_the_fast_comparison_prints_eager_fast_and_diffusers_with_the_drift(tmp_path, capsys):
    """`--fast` on the CPU compiles the tiny UNet (64 px, the graphs the fast-path tests cache)."""
    out = tmp_path / "bench.json"
    args = "--steps 2 --size 64 --batches 1 --repeats 5 --portrait --fast --fast-only".split()
    assert bench.main([*args, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| equal work |" not in printed and "| portrait, batch |" not in printed  # --fast-only
    assert "Fast path: compile,mode=default; compile + warm-up" in printed
    assert "| batch | eager s/image | fast s/image | diffusers s/image | fast/diffusers |" in printed
    assert "| portrait on the fast path, batch | stage 1 | detailing | faces |" in printed
    [fast] = [row for row in json.loads(out.read_text()) if row["label"] == "fast path"]
    assert fast["batch"] == 1 and fast["fast_s"] > 0 and fast["diffusers_s"] > 0
    assert fast["max_latent_diff"] < 1e-3 and fast["psnr_db"] > 35  # the bar for fp16 on a GPU

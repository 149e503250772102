import json

from inference import bench


def test_bench_runs_both_pipelines_and_reports_ratios(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = "--steps 2 --size 64 --batches 1 4 --repeats 5 --portrait".split() + ["--json", str(out)]
    code = bench.main(args)
    assert code == 0
    printed = capsys.readouterr().out
    assert "| equal work | 1 |" in printed and "| adaptive guidance | 4 |" in printed
    assert "batch-4 throughput vs 4 sequential runs:" in printed
    assert "| portrait, batch | stage 1 s/image | detailing s/image | total s/image |" in printed
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

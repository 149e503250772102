"""The load campaign's comparisons (new against old, each server against daphne) and its markdown tables,
ready for docs/benchmarks.md."""

from __future__ import annotations

ENDPOINT_NAMES = {
    "minimal": "minimal ASGI app (the server alone)",
    "health": "`GET /health`",
    "job_queued": "`GET /api/generations/<id>` (queued)",
    "job_running": "`GET /api/generations/<id>` (running)",
    "me": "`GET /api/me`",
    "wall": "`GET /`",
    "submit": "`POST /api/generations`",
}


def _label(version: str, server: str, processes: int) -> str:
    return f"{version} {server} x{processes}"


def _over(target: dict, other: dict | None) -> dict[str, float]:
    if other is None:
        return {}
    mine, theirs = target.get("endpoints", {}), other.get("endpoints", {})
    return {
        endpoint: round(figures["req_s"] / theirs[endpoint]["req_s"], 2)
        for endpoint, figures in mine.items()
        if theirs.get(endpoint, {}).get("req_s")
    }


def ratios(targets: dict[str, dict], baseline_server: str | None = None) -> dict:
    """`ratio`: new over old req/s, per server (over the old version on `baseline_server` when given:
    the before/after of a change of server); `vs_daphne`: each server over daphne with as many
    processes, within one version (the minimal app's too)."""
    ratio, vs_daphne = {}, {}
    for label, target in targets.items():
        server, processes = target["server"], target["processes"]
        if target["version"] == "new":
            old = targets.get(_label("old", baseline_server or server, processes))
            if old is not None:
                ratio[f"{server} x{processes}"] = _over(target, old)
        if server != "daphne":
            daphne = targets.get(_label(target["version"], "daphne", processes))
            if daphne is not None:
                vs_daphne[label] = _over(target, daphne)
    return {"ratio": ratio, "vs_daphne": vs_daphne}


def _number(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if isinstance(value, int) or value >= 100 else f"{value:g}"


def _http_table(report: dict) -> list[str]:
    targets, comparisons = report["targets"], report.get("ratios", {})
    baseline = report.get("baseline")
    head = ["endpoint", "server", "req/s", "p50 ms", "p99 ms", "non-2xx", "vs daphne"]
    if baseline:
        on = f" on {report['baseline_server']}" if report.get("baseline_server") else ""
        head += [f"old ({baseline}{on}) req/s", "old p50 ms", "old p99 ms", "old non-2xx", "ratio new/old"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for endpoint, name in ENDPOINT_NAMES.items():
        for label, target in targets.items():
            figures = target.get("endpoints", {}).get(endpoint)
            if figures is None or target["version"] == "old":
                continue
            server = f"{target['server']} x{target['processes']}"
            vs = comparisons.get("vs_daphne", {}).get(label, {}).get(endpoint)
            row = [name, server, *_figures(figures), _number(vs)]
            if baseline:
                old_server = report.get("baseline_server") or target["server"]
                old = targets.get(_label("old", old_server, target["processes"]), {})
                old_figures = old.get("endpoints", {}).get(endpoint)
                ratio = comparisons.get("ratio", {}).get(server, {}).get(endpoint)
                row += [*(_figures(old_figures) if old_figures else ["–"] * 4), f"**{_number(ratio)}**"]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def _figures(figures: dict) -> list[str]:
    return [_number(figures.get(key)) for key in ("req_s", "p50_ms", "p99_ms", "non_2xx")]


def _sockets_table(report: dict) -> list[str]:
    head = [
        "server",
        "version",
        "sockets",
        "connect s",
        "publish s",
        "delivered",
        "saw the ending",
        "retried",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for target in report["targets"].values():
        sockets = target.get("websockets")
        if sockets is None:
            continue
        server = f"{target['server']} x{target['processes']}"
        if "expected" not in sockets:  # it broke: say how far it got and why
            errors = sorted(set(sockets.get("first_errors", []))) or ["none failed, the rest still opening"]
            reason = sockets.get("error", "")[-200:] or f"{sockets.get('connected')} connected in 300 s"
            row = [server, target["version"], f"{sockets['sockets']:,}", "–", "–", f"**{reason}**", "–"]
            lines.append("| " + " | ".join([*row, "; ".join(errors)]) + " |")  # in place of the retries
            continue
        delivered = f"{sockets['delivered']:,} of {sockets['expected']:,} ({sockets['delivered_pct']}%)"
        row = [
            server,
            target["version"],
            f"{sockets['sockets']:,}",
            str(sockets["connect_s"]),
            str(sockets["publish_s"]),
        ]
        row += [delivered, f"{sockets['ended_with_terminal_event']:,}", str(sockets["handshakes_retried"])]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def markdown(report: dict) -> str:
    parts = []
    if any("endpoints" in target for target in report["targets"].values()):
        title = f"wrk -t2 -c{report['connections']} -d{report['duration_s']}s per endpoint and server; "
        title += f"new: {report['revision']}, old: {report['baseline'] or 'not measured'}"
        parts.append("\n".join([title, "", *_http_table(report)]))
    if any("websockets" in target for target in report["targets"].values()):
        parts.append("\n".join(_sockets_table(report)))
    return "\n\n".join(parts) + "\n"

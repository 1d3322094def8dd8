"""No secret of issue 23 leaks from a replay: not into the store, a report of any format, the terminal,
``--json``, the dry run, the gate or a message, by name or by value (tests/secretcase.py lists them)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from paritycheck.errors import ExitStatus
from paritycheck.store import Store
from tests.clirun import invoke
from tests.harutil import replay_args, write_har
from tests.secretcase import SECRETS, echo_app, files_text, har_entries, leaks
from tests.servers import serve


def test_no_secret_leaks_from_a_replay_its_reports_or_its_messages(tmp_path: Path) -> None:
    har = write_har(tmp_path / "secrets.har", har_entries())
    outputs: dict[str, str] = {}
    with serve(echo_app("legacy")) as legacy, serve(echo_app("candidate")) as candidate:
        args = replay_args(har, legacy, candidate, "--allow-writes", "--db", "r.db")
        for name, more in (("dry run", ("--dry-run",)), ("dry run --json", ("--dry-run", "--json"))):
            result = invoke(*args, *more, cwd=tmp_path)
            assert result.exit_code == ExitStatus.OK, result.output
            outputs[name] = result.output
        replayed = invoke(*args, cwd=tmp_path)
        as_json = invoke(*args, "--json", "--no-report", cwd=tmp_path)
        with_password = legacy.replace("://", f"://user:{SECRETS['backend password']}@")
        refused = invoke(*replay_args(har, with_password, candidate, "--db", "b.db"), cwd=tmp_path)
    assert replayed.exit_code == as_json.exit_code == ExitStatus.DIFFERENCES, replayed.output
    assert refused.exit_code != ExitStatus.OK and "Traceback" not in refused.output
    outputs |= {"replay": replayed.output, "replay --json": as_json.output, "bad backend": refused.output}
    report = invoke(
        "report", "--db", "r.db", "--run", "1", "--html", "r.html", "--markdown", "r.md",
        "--junit", "r.xml", "--json", "r.json", cwd=tmp_path,
    )  # fmt: skip
    assert report.exit_code == ExitStatus.OK, report.output
    gate = invoke("gate", "--db", "r.db", cwd=tmp_path)
    outputs |= {"report": report.output, "gate": gate.output}

    texts = {**files_text(tmp_path, skip=[har.name]), **outputs}
    assert {"r.html", "r.md", "r.xml", "r.json", "reports/index.html", "r.db (values)"} <= set(texts)
    assert leaks(texts) == {}
    # Every exchange was stored and reported, the JWT in a path named no endpoint, and equal secrets
    # kept equal marks: the two echoes of one API key (legacy's and candidate's) show one hash.
    summary = json.loads(as_json.stdout)
    assert summary["total"] == len(har_entries()) and summary["failed"] == 0
    assert any(e["endpoint"] == "GET /api/share/{id}/view" for e in summary["endpoints"])
    with Store.open(tmp_path / "r.db", create=False) as store:
        note = next(
            d
            for x in store.exchanges(1)
            if x.endpoint == "GET /api/me"
            for d in x.differences
            if d.path == "$.note"
        )
    marks = [re.findall(r"sha256 ([0-9a-f]{8})", value) for value in (note.legacy, note.candidate)]
    assert marks[0] and marks[0] == marks[1], (note.legacy, note.candidate)
    assert note.legacy.startswith("legacy says") and note.candidate.startswith("candidate says")

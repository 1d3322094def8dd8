"""JUnit XML: the findings' testsuite, then a testsuite per run, a testcase per endpoint, failures and
errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from paritycheck.models import Difference, Status
from paritycheck.report import junit, model
from paritycheck.store import Store
from tests.report.reportdata import outcome, write_run


def test_one_testcase_per_endpoint(demo_store: Store) -> None:
    report = model.build(demo_store)
    root = ET.fromstring(junit.render_junit(report))
    assert root.tag == "testsuites"
    findings, suite = root.findall("testsuite")
    assert findings.get("name") == f"paritycheck run {report.run.id} findings"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {e.endpoint for e in report.endpoints}
    assert suite.get("tests") == str(len(cases))
    failure = cases["GET /orders/{id}"].find("failure")
    assert (
        failure is not None
        and "$.price" in (failure.text or "")
        and "40 of 40" in (failure.get("message") or "")
    )
    error = cases["GET /health"].find("error")
    assert error is not None and "connection refused" in (error.text or "")
    assert cases["POST /orders"].find("skipped") is not None
    ok = cases["GET /users/{id}"]
    assert ok.find("failure") is None and ok.find("error") is None
    assert suite.get("failures") == str(sum(1 for c in cases.values() if c.find("failure") is not None))
    assert suite.get("errors") == "1"


def test_findings_come_first_one_failing_testcase_each(demo_store: Store) -> None:
    report = model.build(demo_store)
    root = ET.fromstring(junit.render_junit(report))
    findings = root.findall("testsuite")[0]
    cases = findings.findall("testcase")
    assert len(cases) == len(report.findings) > 0 and findings.get("failures") == str(len(cases))
    for case, f in zip(cases, report.findings, strict=True):
        failure = case.find("failure")
        assert failure is not None and failure.get("type") == f.grade and failure.get("message") == f.title
        assert f"--finding '{f.signature}'" in (failure.text or "") or f.signature in (failure.text or "")
    total = sum(int(s.get("tests") or 0) for s in root.findall("testsuite"))
    assert root.get("tests") == str(total)


def test_control_characters_still_parse(demo_store: Store) -> None:
    value = 'bell\x07 nul\x00 <tag> & "quote" ]]>'
    run_id = write_run(
        demo_store,
        [outcome(0, "GET /b\x01", Status.MISMATCHED, differences=(Difference("changed", "$.v", value, 1),))],
    )
    root = ET.fromstring(junit.render_junit(model.build(demo_store, run_id)))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and '<tag> & "quote" ]]>' in (failure.text or "")

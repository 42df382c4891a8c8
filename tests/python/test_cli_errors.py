"""Bad input to the reading and API commands gets one clear line and exit code 1, never a traceback.

Each case below printed a Python traceback, or quietly did something else than asked, before it
was fixed; the commands run as a user runs them (a subprocess), on no warehouse at all or an
empty file where none is needed.
"""

from __future__ import annotations

import socket

import pytest

from anpr_warehouse.entitlements import load_vendors
from anpr_warehouse.errors import UserError

from .cli_support import anpr


def one_line_error(proc, *expected: str) -> str:
    """The stderr of a failed command: exit 1, a single `anpr <command>: ...` line holding `expected`, no traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anpr "), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [["keys", "create", "--vendor", "analyst"], ["keys", "list"], ["keys", "revoke", "abc"], ["access-log"]],
)
def test_key_and_log_commands_refuse_a_missing_warehouse_and_create_nothing(tmp_path, command):
    """A mistyped --warehouse used to get a key file (and its folder) for a warehouse no server opens."""
    warehouse = tmp_path / "typo" / "anpr.duckdb"
    one_line_error(anpr(*command, "--warehouse", str(warehouse), timeout=120), f"no warehouse at {warehouse}")
    assert not warehouse.parent.exists()


@pytest.mark.parametrize("last", ["0", "-5"])
def test_access_log_refuses_a_count_below_one(tmp_path, last):
    """`--last -5` used to slice the log from the wrong end (or crash in deque)."""
    warehouse = tmp_path / "anpr.duckdb"
    warehouse.touch()
    (tmp_path / "api-access.jsonl").write_text(
        "".join(f'{{"time": "t{n}", "endpoint": "/v1/x", "status": 200, "ms": 1}}\n' for n in range(8)), encoding="utf-8"
    )
    one_line_error(anpr("access-log", "--last", last, "--warehouse", str(warehouse), timeout=120), f"--last {last}")


def test_openapi_to_a_folder_is_one_line(tmp_path):
    one_line_error(anpr("openapi", "--out", str(tmp_path), timeout=300), "cannot write the OpenAPI document", str(tmp_path))


@pytest.mark.parametrize(
    "text",
    ["just a line of text\n", "vendors:\n  a: [GM0344]\n", "vendors: [a, b]\n", "- vendors\n"],
)
def test_a_vendors_file_of_the_wrong_shape_is_named(tmp_path, text):
    """A vendors file that is YAML but not a mapping of vendors used to raise AttributeError in every command."""
    path = tmp_path / "vendors.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match="is not a vendors file"):
        load_vendors(path)
    warehouse = tmp_path / "anpr.duckdb"
    warehouse.touch()
    proc = anpr("keys", "create", "--vendor", "a", "--vendors", str(path), "--warehouse", str(warehouse), timeout=120)
    one_line_error(proc, "is not a vendors file", str(path))
    assert not (tmp_path / "api-keys.json").exists()


def test_a_vendor_without_settings_still_reads(tmp_path):
    """`a:` with nothing under it is a vendor entitled to nothing (not an error, not a crash)."""
    path = tmp_path / "vendors.yml"
    path.write_text("vendors:\n  a:\n", encoding="utf-8")
    assert load_vendors(path)["a"].municipalities == ()


@pytest.mark.parametrize("key,value", [("municipalities", "GM0344"), ("formats", "csv"), ("municipalities", "[344]")])
def test_a_vendor_list_written_as_one_value_is_refused(tmp_path, key, value):
    """`municipalities: GM0344` used to be read as six one-letter codes: the vendor silently got nothing."""
    path = tmp_path / "vendors.yml"
    path.write_text(f"vendors:\n  a:\n    {key}: {value}\n", encoding="utf-8")
    with pytest.raises(UserError, match=f"vendor a: {key} must be a list of codes"):
        load_vendors(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "options, expected",
    [
        (["--group-by", "nonsense"], ["'nonsense' is not something these metrics can be grouped or filtered by", "zone"]),
        (
            ["--where", "{{ Entity('municipality') = 'GM0344'"],
            ["cannot read the filter \"{{ Entity('municipality') = 'GM0344'\"", "TemplateSyntaxError"],
        ),
        (["--where", "{{ Entity('nonsense') }} = 'GM0344'"], ["Entity('nonsense')", "Entity('municipality')"]),
    ],
)
def test_a_query_metricflow_cannot_resolve_says_what_and_where(tiny_warehouse, options, expected):
    """MetricFlow's many-line report used to come out as its first line only: "Got error(s) during query resolution."
    A filter's own text is shown, not the placeholders the layer plans in place of its values."""
    proc = anpr("metrics", "query", "--metrics", "passages", *options, "--warehouse", str(tiny_warehouse), timeout=600)
    line = one_line_error(proc, "metric query failed", *expected)
    assert "Got error(s)" not in line and "__anpr_p" not in line


@pytest.mark.slow
@pytest.mark.parametrize("code, hint", [("gm0344", "did you mean GM0344?"), ("GM9999", "e.g. GM0344")])
def test_a_report_for_an_unknown_municipality_is_refused(tiny_warehouse, tmp_path, code, hint):
    """A mistyped code used to get an empty "no deliveries yet" site and exit 0."""
    out = tmp_path / "report"
    proc = anpr("report", "--municipality", code, "--out", str(out), "--warehouse", str(tiny_warehouse), timeout=600)
    one_line_error(proc, f"unknown municipality {code!r}", hint)
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["export", "report"])
def test_an_output_folder_that_is_a_file_is_refused_before_any_work(tiny_warehouse, tmp_path, command):
    """`--out` naming a file (or a folder under one) used to end, after the work, in NotADirectoryError's traceback."""
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder", encoding="utf-8")
    vendors = tmp_path / "vendors.yml"
    vendors.write_text("vendors:\n  v:\n    municipalities: [GM0344]\n", encoding="utf-8")
    options = (
        ["--vendor", "v", "--vendors", str(vendors), "--out", str(in_the_way / "exports")]
        if command == "export"
        else ["--municipality", "GM0344", "--out", str(in_the_way)]
    )
    proc = anpr(command, *options, "--warehouse", str(tiny_warehouse), timeout=600)
    one_line_error(proc, f"{in_the_way} is a file, not a folder")
    assert in_the_way.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize(
    "options, expected",
    [(["--port", "99999"], "--port 99999: a TCP port is 1 to 65535"), (["--rate", "0"], "the rate must be above 0")],
)
def test_serve_refuses_numbers_it_cannot_use_before_starting(tmp_path, options, expected):
    """--port 99999 used to end in uvicorn's OverflowError traceback; --rate 0 started a server that refused everyone."""
    one_line_error(anpr("serve", *options, "--warehouse", str(tmp_path / "anpr.duckdb"), timeout=120), expected)


@pytest.mark.slow
def test_serve_on_a_port_in_use_is_one_line_and_not_busy(tiny_warehouse):
    """uvicorn's failed bind used to exit 3 (the code for "warehouse busy") after announcing the address as served."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = anpr("serve", "--port", str(port), "--warehouse", str(tiny_warehouse), timeout=300)
    one_line_error(proc, f"cannot listen on http://127.0.0.1:{port}")
    assert "listening on" not in proc.stdout

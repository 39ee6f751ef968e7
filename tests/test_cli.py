"""`coc-intake extract`, `schema` and `status` as a user runs them: a real process, real files."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import random
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests import docgen, faxgen, mailgen
from tests.synth import labelled_lines, make_request
from tests.test_ocr import _png_declaring
from tests.test_sheet import encrypted_ooxml


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "intake.cli", *args], capture_output=True, check=False, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    rng = random.Random(12)
    good = make_request(rng, kind="employee", country="DE")
    out = {
        "good.txt": "\n".join(labelled_lines(good, rng)).encode(),
        "form.pdf": docgen.acroform_pdf(make_request(rng), "model"),
        "fax.tif": faxgen.tiff_bytes(faxgen.fax_request(make_request(rng), rng, "fine")),
        "empty.pdf": b"",
        "broken.pdf": docgen.truncated_pdf(),
        "locked.pdf": docgen.encrypted_pdf(),
        "fake.pdf": b"this is not a pdf at all\n",
        "unknown.bin": bytes(range(256)) * 4,
        "bomb.png": _png_declaring(100_000, 100_000),
        "locked.xlsx": encrypted_ooxml(),
        "hello.eml": mailgen.thunderbird(sender="ann@example.com", to="coc@example.gov", subject="Friday",
                                         text="Hi, are we still on for lunch on Friday?\n\nAnn\n"),
    }
    paths = {}
    for name, data in out.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    paths["_ssn"] = Path(good["worker"]["ssn"])  # the truth, to check masking
    return paths


def test_json_output_has_every_canonical_field_and_the_full_ssn(files: dict[str, Path]) -> None:
    proc = _run("extract", "--json", str(files["good.txt"]), str(files["form.pdf"]))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(x["file"]).name for x in lines] == ["good.txt", "form.pdf"]
    first = lines[0]["requests"][0]
    assert first["status"] == "valid" and first["problems"] == []
    assert first["request"]["worker"]["ssn"] == str(files["_ssn"])  # staff's own tool: full SSN here only
    assert str(files["_ssn"]) not in proc.stderr
    assert first["request"]["employer"]["irs_3121l_date"] is None  # absent fields are null
    assert set(first["request"]["assignment"]) >= {"country", "start_date", "end_date", "work_address"}
    assert first["provenance"]["worker.ssn"]["method"] == "text"
    assert lines[1]["requests"][0]["provenance"]["worker.ssn"]["method"] == "form"
    assert lines[1]["requests"][0]["confidence"]["worker.ssn"] == 1.0


def test_summary_masks_the_ssn(files: dict[str, Path]) -> None:
    proc = _run("extract", str(files["good.txt"]))
    assert proc.returncode == 0
    ssn = str(files["_ssn"])
    assert ssn not in proc.stdout + proc.stderr and f"***-**-{ssn[-4:]}" in proc.stdout


def test_a_fax_is_read_with_ocr_provenance(files: dict[str, Path]) -> None:
    proc = _run("extract", "--json", str(files["fax.tif"]))
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    (req,) = line["requests"]
    assert req["provenance"]["worker.ssn"]["method"] == "ocr"
    assert req["provenance"]["worker.ssn"]["page"] == 1 and "box" in req["provenance"]["worker.ssn"]
    assert proc.returncode == (0 if req["status"] == "valid" else 1)


@pytest.mark.parametrize("name,code", [("empty.pdf", "empty"), ("broken.pdf", "unreadable"),
                                       ("locked.pdf", "encrypted"), ("fake.pdf", "not_pdf"),
                                       ("unknown.bin", "unsupported_type"), ("bomb.png", "too_large"),
                                       ("locked.xlsx", "encrypted"), ("hello.eml", "no_request")])
def test_bad_files_get_a_clear_problem_and_no_traceback(files: dict[str, Path], name: str, code: str) -> None:
    proc = _run("extract", "--json", str(files[name]))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert line["requests"] == []
    assert code in [p["code"] for p in line["problems"]], line["problems"]
    assert all(name in p["message"] or p["part"] == name for p in line["problems"])


def test_exit_code_is_1_when_any_file_needs_review(files: dict[str, Path]) -> None:
    proc = _run("extract", "--json", str(files["good.txt"]), str(files["empty.pdf"]), str(files["form.pdf"]))
    assert proc.returncode == 1
    assert [json.loads(x)["requests"] != [] for x in proc.stdout.splitlines()] == [True, False, True]
    assert proc.stderr == ""  # stderr is no terminal here: no progress bar


def _run_on_a_terminal(*args: str, columns: int = 100) -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal (stdout piped); return code, stdout, stderr.

    `columns=0` leaves the terminal's size unset, as a fresh pty and some serial consoles report it.
    """
    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "intake.cli", *args], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    return proc.wait(timeout=300), out, seen.decode(errors="replace")


def test_progress_bar_on_stderr_when_it_is_a_terminal(files: dict[str, Path]) -> None:
    names = [str(files[n]) for n in ("good.txt", "form.pdf", "good.txt")]
    code, out, err = _run_on_a_terminal("extract", *names)
    assert code == 0
    assert "3/3" in err and "100%" in err and "file" in err, err
    assert out.count("request(s)") == 3 and "3/3" not in out  # the summaries stay clean on stdout
    assert str(files["_ssn"]) not in out + err
    code, out, err = _run_on_a_terminal("extract", "--no-progress", *names)
    assert code == 0 and "3/3" not in err and out.count("request(s)") == 3
    code, out, err = _run_on_a_terminal("extract", names[0])  # one file: nothing to show progress of
    assert code == 0 and "1/1" not in err
    code, out, err = _run_on_a_terminal("extract", *names, columns=0)  # no width known: a bar all the same
    assert code == 0 and "3/3" in err and "100%" in err, err


def test_limits_come_from_the_configuration(files: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "small.toml"
    config.write_text("[limits]\nmax_bytes = 2000\n")
    proc = _run("--config", str(config), "extract", "--json", str(files["form.pdf"]))
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert proc.returncode == 1 and [p["code"] for p in line["problems"]] == ["too_large"]
    assert "form.pdf" in line["problems"][0]["message"] and "2,000" in line["problems"][0]["message"]
    assert _run("extract", "--json", str(files["form.pdf"])).returncode == 0  # the packaged default
    config.write_text("[limits]\nmax_pixels = 1000000\n")  # reaches the image parser too
    proc = _run("--config", str(config), "extract", "--json", str(files["fax.tif"]))
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert "too_large" in [p["code"] for p in line["problems"]] and proc.returncode == 1


def test_a_file_that_cannot_be_read_is_a_problem_and_the_others_are_still_read(files: dict[str, Path]) -> None:
    # /proc/self/mem is a regular file whose first bytes no process can read (EIO): a real read error.
    proc = _run("extract", "--json", "/proc/self/mem", str(files["good.txt"]))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    bad, good = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [p["code"] for p in bad["problems"]] == ["unreadable"]
    assert "mem could not be read" in bad["problems"][0]["message"]
    assert good["requests"][0]["status"] == "valid"


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            return False
        pid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if pid == ancestor:
            return True
    return False


def _most_tesseracts_under(proc: subprocess.Popen[bytes]) -> int:
    """Poll /proc while `proc` runs: the most Tesseract processes below it at one time."""
    most = 0
    while proc.poll() is None:
        running = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    continue
                if comm == "tesseract" and _descends_from(int(entry), proc.pid):
                    running += 1
        most = max(most, running)
        time.sleep(0.01)
    return most


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: one Tesseract at a time anyway")
def test_one_page_faxes_are_read_one_per_core(files: dict[str, Path], tmp_path: Path) -> None:
    copies = []
    for n in range(3):
        copies.append(tmp_path / f"fax-{n}.tif")
        copies[-1].write_bytes(files["fax.tif"].read_bytes())
    proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "extract", "--json", *map(str, copies)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert _most_tesseracts_under(proc) == 2  # two cores, two files side by side
    assert proc.stdout is not None
    lines = [json.loads(x) for x in proc.stdout.read().splitlines()]
    assert [Path(x["file"]).name for x in lines] == ["fax-0.tif", "fax-1.tif", "fax-2.tif"]  # input order
    assert len({json.dumps([r["request"] for r in x["requests"]]) for x in lines}) == 1  # read the same way


def test_a_file_that_stops_its_reader_is_a_problem_naming_it(files: dict[str, Path], tmp_path: Path) -> None:
    """Each file is read in a process of its own, under the `[pipeline]` time and memory limits."""
    config = tmp_path / "tight.toml"
    for section, code, start in (("memory_mb = 64", "too_large", "fax.tif needs more memory"),
                                 ("submission_timeout_seconds = 0.2", "unreadable", "fax.tif could not be read: ")):
        config.write_text(f"[pipeline]\n{section}\n")
        proc = _run("--config", str(config), "extract", "--json", str(files["fax.tif"]), str(files["good.txt"]))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        fax, _ = [json.loads(x) for x in proc.stdout.splitlines()]  # a line for each file, whatever happened
        assert fax["requests"] == [] and [p["code"] for p in fax["problems"]] == [code], fax["problems"]
        assert fax["problems"][0]["message"].startswith(start)


def test_usage_errors_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    assert _run("extract", str(tmp_path / "nope.pdf")).returncode == 2
    assert _run("extract").returncode == 2
    assert _run("no-such-command").returncode == 2


def test_status_on_a_new_database(tmp_path: Path) -> None:
    assert _run("db", "upgrade", cwd=tmp_path).returncode == 0
    proc = _run("status", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "submissions" in proc.stdout and "nothing is waiting" in proc.stdout
    assert (tmp_path / "var" / "coc-intake.db").exists()


def test_the_progress_bar_of_batch_commands_shows_on_a_terminal_that_reports_no_size() -> None:
    """`extract` and `reprocess` share one bar; on a fresh pty (0x0) a plain tqdm bar prints nothing."""
    master, slave = pty.openpty()
    assert os.get_terminal_size(slave) == (0, 0)
    code = ("from intake.progress import bar\n"
            "progress = bar(total=3, unit='submission')\nprogress.update(3)\nprogress.close()\n")
    subprocess.run([sys.executable, "-c", code], stderr=slave, stdout=subprocess.DEVNULL, check=True, timeout=60)
    os.close(slave)
    shown = os.read(master, 4096).decode()
    os.close(master)
    assert "3/3" in shown and "submission" in shown

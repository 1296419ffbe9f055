"""The README's tour, run as written (see tour.py): the block parses, names only shipped files, and
every line runs and shows the person what the README says."""

from __future__ import annotations

from tour import REPO, check, tour_lines


def test_the_tour_block_is_parseable():
    lines = tour_lines()
    assert lines[0].startswith("source .venv/bin/activate")
    assert any(line.startswith("qms init ~/qms-ws --org") for line in lines)
    # every file the tour names is shipped
    for name in ("procedure.yaml", "procedure-A1.yaml", "report.yaml", "signed.pdf", "phone-log.xlsx"):
        assert any(name in line for line in lines), name
        assert (REPO / "examples" / "tour" / name).is_file(), name


def test_the_readme_tour_runs_as_written(readme_tour):
    check(*readme_tour)

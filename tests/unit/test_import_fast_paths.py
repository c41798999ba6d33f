"""A 100,000-row import reads whole columns at once; a row reader reads one cell at a time. The column
paths must never accept what the reader refuses, nor give another value: random cells, typed as
operators type them and worse, are read both ways (the reader decides every row it is shown)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date
from decimal import ROUND_05UP, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from flask import Flask
from stdnum.cn import ric

from hall_common import rowcheck, sheet_files, sheets
from hall_common.roster_imports import _json_texts
from hall_common.rowcheck import FORMULA, RowReader
from services.member import registration
from services.member.policy import Policy, all_within, refusals

from .conftest import make_app
from .member_support import resident_id

D = Decimal
NOISE = list("0123456789xX -+.,/\t\n\x00\x01ａ１２\u3000\u200b\ud800职ßı١²") + ["x" * 20]


def noise(rnd: random.Random, longest: int = 20) -> str:
    return "".join(rnd.choice(NOISE) for _ in range(rnd.randint(0, longest)))


def columns_of(rnd: random.Random, clean: Any, odd: Callable[[], Any]) -> list[Any]:
    """Mostly the clean value (the column paths' own case), now and then an odd one."""
    return [clean if rnd.random() < 0.8 else odd() for _ in range(rnd.choice([1, 3, 12]))]


def agrees(fast: list[Any], values: list[Any], read: Callable[[RowReader], Any]) -> None:
    for value, got in zip(values, fast, strict=True):
        reader = RowReader(2, {} if value is None else {"k": value}, {})
        expected = read(reader)
        assert got is None or (reader.ok and got == expected and str(got) == str(expected)), (value, got, expected)


@pytest.mark.parametrize("seed", range(4))
def test_each_column_path_accepts_only_what_the_reader_accepts_and_reads_it_alike(seed: int) -> None:
    rnd = random.Random(seed)
    good_id = resident_id(7)
    for _ in range(300):
        names = columns_of(rnd, "张三", lambda: rnd.choice([" 张三 ", "", "x" * 51, FORMULA, None, 3, noise(rnd, 60)]))
        agrees(rowcheck.text_column(names, 50), names, lambda r: r.text("k", 50))
        ids = columns_of(rnd, good_id, lambda: rnd.choice([
            good_id.lower(), f" {good_id}", good_id[:17] + "0", "110105199002300018", "١" + good_id[1:], noise(rnd)]))
        agrees(rowcheck.resident_id_column(ids), ids, lambda r: r.id_number("k", "居民身份证"))
        agrees([rowcheck.code_id(v) for v in ids], ids, lambda r: r.id_number("k", "护照"))
        phones = columns_of(rnd, "13912345678", lambda: rnd.choice([
            "", " ", None, 5, "0351-1234567", "+8613912345678", "13912345678\n13912345678", "\t139123456",
            noise(rnd)]))
        agrees(rowcheck.phone_column(phones), phones, lambda r: r.phone("k"))
        money = columns_of(rnd, "5000", lambda: rnd.choice([
            "4,000.50", " 12.5 ", "12.555", "0", "100000000", "١٢", "12\n,", "1e3", None, 7, noise(rnd, 8)]))
        agrees(rowcheck.money_column(money, D("0.01"), D("99999999.99")), money,
               lambda r: r.money("k", D("0.01"), D("99999999.99")))
        months = columns_of(rnd, "202612", lambda: rnd.choice(["202613", "2026-12", " 202612", "199012", None, 202612]))
        agrees(rowcheck.month_column(months, "199101", "202712"), months, lambda r: r.month("k", "199101", "202712"))
        choices = columns_of(rnd, "护照", lambda: rnd.choice(["", None, " 护照", "x", 12, FORMULA, "居民身份证"]))
        agrees(rowcheck.choice_column(choices, ("居民身份证", "护照"), "居民身份证"), choices,
               lambda r: r.choice("k", ("居民身份证", "护照"), default="居民身份证"))
    # The clean columns are read by the column paths, not left to the reader.
    assert rowcheck.resident_id_column([good_id] * 3) == [good_id] * 3
    assert rowcheck.phone_column(["13912345678", ""]) == ["13912345678", ""]
    assert rowcheck.text_column(["张三"], 50) == ["张三"]


@pytest.mark.parametrize("seed", range(3))
def test_all_within_finds_exactly_the_rows_refusals_would_refuse(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(200):
        policy = Policy(date(2020, 1, 1), D(rnd.choice(["1000.00", "0.01"])), D(rnd.choice(["50000.00", "30000"])),
                        D(rnd.choice(["10.00", "100"])), D(rnd.choice(["20000.00", "5000", "7000.50"])),
                        D("0.05"), D("0.12"), D("0.05"), D("0.12"), D(rnd.choice(["0.01", "1"])),
                        rnd.choice([ROUND_HALF_UP, ROUND_05UP, ROUND_DOWN, ROUND_HALF_EVEN]), D("0.015"), D("0.015"))
        bases = [D(f"{rnd.randint(0, 10 ** rnd.randint(1, 9))}.{rnd.randint(0, 99):02d}") for _ in range(30)]
        employer = D(rnd.choice(["0.05", "0.12", "0.1200", "0.04", "0.13", "0.0833"]))
        personal = employer if rnd.random() < 0.6 else D(rnd.choice(["0.05", "0.07", "0.13"]))
        assert all_within(policy, bases, employer, personal) == [
            not refusals(policy, "某人", base, employer, personal) for base in bases]


@pytest.fixture
def app() -> Flask:
    return make_app("member")


@pytest.mark.parametrize("seed", range(3))
def test_a_registration_check_gives_each_row_the_readers_verdict(app: Flask, seed: int) -> None:
    rnd = random.Random(seed)
    keys = ("name", "id_type", "id_number", "base", "first_month", "mobile", "ratio")
    clean = ("张三", "", resident_id(3), "5000", "202612", "", None)
    odd = (["", " 李四 ", "x" * 51], ["护照", " 护照", "身份证"], [resident_id(3).lower(), "AB12", "12345"],
           ["0", "4,000.50", "99999999.99", "100"], ["202613", "199012", "2099-01"], ["139", "0351-1234567"],
           ["12", "5", "13", ""])
    lines: list[tuple[int, dict[str, str]]] = []
    for number in range(2, 400):
        values = {k: (rnd.choice(o) if rnd.random() < 0.1 else c) for k, c, o in zip(keys, clean, odd, strict=True)}
        values["id_number"] = values["id_number"] if rnd.random() < 0.1 else resident_id(number)
        lines.append((number, {k: str(v) for k, v in values.items() if v is not None}))
    latest = f"{date.today().year + 1}12"
    with app.app_context():
        for rows in (lines, lines[:50], lines[:1]):
            checked = registration.check("100100001", "10", rows, {})
            expected_good: list[tuple[int, str, dict[str, Any]]] = []
            expected_errors: list[Any] = []
            for number, cells in rows:
                data, errors = registration._read_row(number, cells, "10", latest)
                if errors:
                    expected_errors.extend(errors)
                else:
                    expected_good.append((number, data["id_number"], data))
            assert checked.errors == expected_errors
            assert [(n, c, json.dumps(d, ensure_ascii=False)) for n, c, d in checked.good] == [
                (n, c, json.dumps(d, ensure_ascii=False)) for n, c, d in expected_good]


def test_cells_normalised_a_column_at_a_time_read_as_one_at_a_time() -> None:
    rnd = random.Random(5)
    alphabet = list("ab 1.职工\u3000\t\nＡ１ｘx,-") + ["e\u0301", "\u1100\u1161", "ﬁ"]
    for _ in range(3000):
        values: list[Any] = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 5)))
                             for _ in range(rnd.randint(1, 6))]
        if rnd.random() < 0.2:
            values[0] = rnd.choice([3, 2.5, True, date(2026, 12, 1)])
        for kind, normalise in sheets._NORMALISERS.items():
            assert sheets._normalise_column(kind, list(values)) == [normalise(v) for v in values], (kind, values)


def test_rows_encoded_in_one_call_are_each_rows_own_text() -> None:
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    rnd = random.Random(6)
    pieces = list('ab{},"\\\x00\n职:[]') + ["},{", '"},{"']
    for _ in range(3000):
        items = [{f"k{j}": rnd.choice(["".join(rnd.choice(pieces) for _ in range(4)), 3, None, [1, "}"], {"x": 1}])
                  for j in range(rnd.randint(0, 3))} for _ in range(rnd.randint(0, 5))]
        assert _json_texts(encode, items) == [encode(item) for item in items]


def test_the_quick_look_for_formulas_finds_what_a_scan_finds() -> None:
    rnd = random.Random(7)
    for _ in range(20000):
        xml = bytes(rnd.choice(b"<:fab x") for _ in range(rnd.randint(0, 12)))
        assert sheet_files._may_hold_formulas(xml) == (b"<f" in xml or b":f" in xml), xml
    assert sheet_files._may_hold_formulas(b"f" * 20_000 + b"<f") and not sheet_files._may_hold_formulas(b"f" * 20_000)


def test_the_check_characters_are_python_stdnums() -> None:
    rnd = random.Random(8)
    for _ in range(20000):
        body = "".join(rnd.choice("0123456789") for _ in range(17))
        assert rowcheck._CHECK_CHARACTERS[int(body, 13) % 11] == ric.calc_check_digit(body + "0")

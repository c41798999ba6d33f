"""What an owner declares for each roster business (hall_common.roster): its form, its import
template, its row check, the re-check at commit, its apply step, its words."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .business import Column
from .sheets import RowError, SheetColumn

CHUNK = 2000  # values per IN list: well under SQLite's bound on parameters (32,766)


@dataclass(frozen=True)
class FormField:
    """One input of the single-entry form. kind: text, id, date, month, money, ratio, choice, member
    (the type-ahead member picker; its value is the member number)."""

    key: str
    label: str
    kind: str = "text"
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    required: bool = True
    default: str = ""
    max_length: int = 50


@dataclass(frozen=True)
class ImportOption:
    """A choice made once for a whole file before uploading it (registration: 选择缴存比例)."""

    key: str
    label: str
    choices: tuple[tuple[str, str], ...]
    default: str


@dataclass
class Checked:
    """A check's verdict on some rows: the good ones as stored (row number, claim, data), the errors."""

    good: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# (employer_no, option, [(row number, {key: text})], memo) -> Checked. Rows typed on the form come with
# row 0. An import checks its rows in chunks (for its progress) with one memo dict across them, where a
# check may keep what it looked up once (the employer's open ID numbers, say).
RowCheck = Callable[[str, str, Sequence[tuple[int, Mapping[str, str]]], dict[str, Any]], Checked]


@dataclass(frozen=True)
class RosterType:
    type: str
    fields: tuple[FormField, ...]  # the single-entry form
    columns: tuple[SheetColumn, ...]  # the import template
    display: tuple[Column, ...]  # the roster table and the approver's view: keys of the stored data
    check: RowCheck
    # At commit, the subjects may have moved since the rows were added: (employer_no, rows) -> errors.
    recheck: Callable[[str, Sequence[Any]], list[RowError]]
    # On approval, inside the consumer's transaction, once: (batch, rows). It applies what it can, marks a
    # row whose subject moved meanwhile (row.result) and emits the owner's domain event.
    apply: Callable[[Any, Sequence[Any]], None]
    claim_label: str  # the subject's name in "…已在清册中"
    claim_field: str  # the form field the claim comes from, for a single entry's refusal
    entry_message: str = "清册录入成功"  # may name the row's shown values: "录入成功，补缴金额{amount}元"
    entry_label: str = "录入清册"  # the single-entry form's button (补缴: 录入)
    commit_label: str = "提交"
    commit_message: str = "办理成功"
    commit_scope: str = "all"  # all: every draft row; selected: the rows the operator ticked
    summary_unit: str = "人"
    import_option: ImportOption | None = None
    instructions: tuple[str, ...] = ()
    rows_caption: str = "清册"
    # What a row shows beyond what it stores (a monthly amount from its base and ratio): computed when
    # shown, so a 100,000-row import stores only what was entered.
    derive: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    # An import template per option (基数调整: one per 变更类别); an option not named uses ``columns``.
    option_columns: Mapping[str, tuple[SheetColumn, ...]] = field(default_factory=dict)
    # The refusal of a subject already in a live row, (claim, the row's data) -> text; None: "…已在清册中".
    claimed_text: Callable[[str, Mapping[str, Any]], str] | None = None
    # The process variables computed from the business's rows (基数调整: the largest raise, which decides
    # whether the chief approves too), merged into the summary at submit and at resubmit.
    variables: Callable[[Sequence[Any]], Mapping[str, str | int | bool | None]] | None = None

    def shown(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        return {**data, **self.derive(data)} if self.derive else data

    def entered(self, data: Mapping[str, Any]) -> str:
        """录入's answer for a row just recorded, with the values it names."""
        return self.entry_message.format_map(dict(self.shown(data)))

    def columns_for(self, option: str) -> tuple[SheetColumn, ...]:
        return self.option_columns.get(option, self.columns)

    def claimed(self, claim: str, data: Mapping[str, Any]) -> str:
        return self.claimed_text(claim, data) if self.claimed_text else f"{self.claim_label}已在清册中"


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]

"""The compact duplicate index of ``run``: it behaves as the dict it replaces, at any size.

``run`` keeps its (user, skill) index in ``CompactMap`` (flat arrays, about 40 bytes a key)
so that millions of rows fit a small VM; offline ``validate`` keeps a dict. Whatever the
map, a file must come out with the same duplicates, conflicts and kept rows. The map holds
its first keys in a dict and moves them into its tables past ``small_keys``: the tests run it
compact from the start (0), across that move (a few hundred), and as a dict throughout.
"""

from __future__ import annotations

import gc
import pickle
import random
import weakref
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import importer.pipeline.graph_stage
import importer.pipeline.validate
from importer.config import load_settings
from importer.pipeline import run_import, validate_files
from importer.records import Action
from importer.sandbox import RunningSandbox
from importer.validate import Validator
from importer.validate.compact import SMALL_KEYS, CompactMap, NameTable, RepeatLog
from importer.validate.duplicates import DuplicateState
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN
from tests.importing import results, settings_for, skills_of, write_csv

TOP = 2**64 - 1

#: Compact from the start, turning compact along the way, a dict throughout.
SMALL = pytest.mark.parametrize("small_keys", [0, 300, SMALL_KEYS])


def _same(compact: CompactMap, expected: dict[int, int]) -> None:
    assert len(compact) == len(expected)
    assert compact.keys() == expected.keys()
    for key, value in expected.items():
        assert key in compact
        assert compact[key] == value


@SMALL
def test_it_agrees_with_a_dict_on_random_keys_through_growth(small_keys: int) -> None:
    rng = random.Random(15)
    keys = [0, TOP, 1, 2, 3, 2**63, *(rng.getrandbits(64) for _ in range(30_000))]
    # Clustered keys too: consecutive numbers and numbers differing in their top bits only.
    keys += list(range(4, 3_000)) + [n << 56 for n in range(1, 256)]
    compact, expected = CompactMap(small_keys), dict[int, int]()
    for n, key in enumerate(keys):
        value = rng.getrandbits(112) if n % 3 else n
        assert compact.setdefault(key, value) == expected.setdefault(key, value)
    # A second value for a known key changes nothing and gives back the first.
    for key in keys[:5_000]:
        assert compact.setdefault(key, 7) == expected[key]
    _same(compact, expected)
    assert set(compact) == expected.keys()
    missing = [k for k in (rng.getrandbits(64) for _ in range(2_000)) if k not in expected]
    for key in missing:
        assert key not in compact
        with pytest.raises(KeyError):
            compact[key]


@SMALL
def test_key_zero_and_the_largest_values_are_kept_apart_from_empty_slots(small_keys: int) -> None:
    compact = CompactMap(small_keys)
    assert 0 not in compact
    with pytest.raises(KeyError):
        compact[0]
    assert compact.setdefault(0, 2**128 - 1) == 2**128 - 1
    assert compact.setdefault(TOP, 0) == 0
    assert compact.setdefault(0, 5) == 2**128 - 1
    _same(compact, {0: 2**128 - 1, TOP: 0})
    for wrong in (-1, 2**64, "0", None):
        assert wrong not in compact
    with pytest.raises(OverflowError):
        compact.setdefault(5, 2**128)
    with pytest.raises(OverflowError):
        compact.setdefault(2**64, 1)
    assert len(compact) == 2


@given(
    st.lists(
        st.tuples(st.one_of(st.integers(0, 300), st.integers(0, TOP)), st.integers(0, 2**128 - 1)),
        max_size=400,
    )
)
def test_setdefault_is_a_dicts_for_any_keys(pairs: list[tuple[int, int]]) -> None:
    for small_keys in (0, 40):
        compact, expected = CompactMap(small_keys), dict[int, int]()
        for key, value in pairs:
            assert compact.setdefault(key, value) == expected.setdefault(key, value)
        _same(compact, expected)


@SMALL
def test_assignment_and_get_agree_with_a_dict(small_keys: int) -> None:
    rng = random.Random(8)
    compact, expected = CompactMap(small_keys), dict[int, int]()
    keys = [0, TOP, *(rng.getrandbits(64) for _ in range(5_000))]
    for _ in range(3):
        for key in keys:
            value = rng.getrandbits(128)
            compact[key] = value
            expected[key] = value
    _same(compact, expected)
    for key in [*keys[:100], 12345, 2**64, -1]:
        assert compact.get(key, -7) == expected.get(key, -7)
    with pytest.raises(OverflowError):
        compact[keys[5]] = 2**128
    assert compact[keys[5]] == expected[keys[5]]


@pytest.mark.parametrize("compact", [True, False])
def test_the_repeat_log_gives_each_keys_entries_back_in_order(compact: bool) -> None:
    rng = random.Random(9)
    log, expected = RepeatLog(compact=compact), dict[int, list[tuple[int, int]]]()
    keys = [0, TOP, *(rng.getrandbits(64) for _ in range(300))]
    for n in range(6_000):
        key = rng.choice(keys)
        entry = (rng.getrandbits(112), rng.choice([-1, n]))
        log.append(key, *entry)
        expected.setdefault(key, []).append(entry)
    assert log.logged_keys() == expected.keys()
    for key in keys:
        assert log.entries(key) == expected.get(key, [])
    assert log.entries(12345) == []
    with pytest.raises(OverflowError):
        log.append(keys[0], 2**128, -1)
    assert log.entries(keys[0]) == expected.get(keys[0], [])


@pytest.mark.parametrize("compact", [True, False])
def test_the_name_table_gives_back_each_keys_names(compact: bool) -> None:
    table = NameTable(compact=compact)
    pairs = {
        0: ("zoë@contoso.com", "C#"),
        TOP: ("", ""),
        7: ("o'neil@contoso.com", "日本語 \udc80"),  # a lone surrogate survives too
    }
    for n in range(1_000):
        pairs[n + 100] = (f"user{n}@contoso.com", "Skill " * (n % 7))
    for key, (user, name) in pairs.items():
        table.put(key, "old", "names")
        table.put(key, user, name)
    assert set(table) == pairs.keys()
    for key, names in pairs.items():
        assert key in table
        assert table[key] == names
    assert 12 not in table


@SMALL
def test_pickling_round_trips_and_stays_usable(small_keys: int) -> None:
    rng = random.Random(3)
    compact, expected = CompactMap(small_keys), dict[int, int]()
    for _ in range(20_000):
        key, value = rng.getrandbits(64), rng.getrandbits(112)
        compact.setdefault(key, value)
        expected.setdefault(key, value)
    compact.setdefault(0, 9)
    expected[0] = 9
    state = DuplicateState(compact, {1: [2]}, {}, {1: ("ann", "Go")})

    copy = pickle.loads(pickle.dumps(state))  # noqa: S301 - our own bytes

    _same(copy.first, expected)
    assert copy.repeats == {1: [2]}
    if small_keys < len(expected):
        # Arrays pickle as their bytes: about 24 bytes a slot, nowhere near a dict's pickle.
        assert len(pickle.dumps(compact)) < 40 * len(expected) + 100_000
    # The copy grows on its own, past its size when pickled.
    for n in range(10_000):
        key, value = rng.getrandbits(64), n
        assert copy.first.setdefault(key, value) == expected.setdefault(key, value)
    _same(copy.first, expected)
    assert len(compact) == 20_001


USERS = (BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN)
#: Each skill three times per user, in other spellings, spread over the file (sorted by skill):
#: Go's levels conflict (the highest is the second), SQL's conflict with a tie at the top,
#: Rust's agree.
SPELLINGS = [
    ("Go", "limitedWorking"),
    ("GO", "expert"),
    (" go ", "generalProfessional"),
    ("SQL", "advancedProfessional"),
    ("sql", "elementary"),
    ("Sql ", "advancedProfessional"),
    ("Rust", "expert"),
    ("RUST", "expert"),
    ("rust", "expert"),
]
ROWS = [(user, skill, level, "Work") for skill, level in SPELLINGS for user in USERS]


@pytest.mark.parametrize("policy", ["error", "first", "last", "highest"])
async def test_run_over_several_chunks_keeps_the_rows_validate_keeps(
    running_sandbox: RunningSandbox, tmp_path: Path, policy: str
) -> None:
    path = write_csv(tmp_path / "skills.csv", ROWS)
    (tmp_path / "config.yaml").write_text(f"input:\n  duplicates: {policy}\n", "utf-8")
    settings = settings_for(running_sandbox, tmp_path, rows_per_chunk=5, max_invalid_ratio=1.0)
    offline = load_settings(
        None,
        {"input": {"duplicates": policy}, "report": {"dir": str(tmp_path / "offline")}},
        environ={},
    )
    # validate (a dict index) is the reference that run (the compact index) must match.
    checked = {line["row"]: line for line in results(validate_files([path], offline))}

    result = await run_import([path], settings)

    lines = results(result)
    assert len(lines) == len(ROWS)
    for line in lines:
        reference = checked[line["row"]]
        if reference["action"] == Action.VALID.value:
            assert line["action"] == Action.CREATED.value, line
        else:
            assert (line["action"], line["error"]) == (reference["action"], reference["error"])
    kept: dict[tuple[str, str], str] = {}
    for row, line in checked.items():
        if line["action"] == Action.VALID.value:
            user, skill, level, _ = ROWS[int(row) - 2]
            assert (user, skill.strip().casefold()) not in kept
            kept[user, skill.strip().casefold()] = level
    expected_skills = {"rust"} if policy == "error" else {"go", "sql", "rust"}
    assert {skill for _, skill in kept} == expected_skills
    for user in USERS:
        held = {
            s["displayName"].casefold(): s["proficiency"]
            for s in await skills_of(running_sandbox, user)
        }
        assert held == {skill: level for (who, skill), level in kept.items() if who == user}
    if policy == "highest":
        assert {kept[BOB_UPN, "go"], kept[BOB_UPN, "sql"]} == {"expert", "advancedProfessional"}


async def test_the_validator_and_its_index_are_gone_before_anything_is_sent(
    running_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[weakref.ref[Validator]] = []
    alive_when_sending: list[bool] = []

    class Watched(Validator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

    dispatch = importer.pipeline.graph_stage.dispatch

    async def watched_dispatch(*args: Any, **kwargs: Any) -> Any:
        alive_when_sending.extend(ref() is not None for ref in made)
        return await dispatch(*args, **kwargs)

    monkeypatch.setattr(importer.pipeline.validate, "Validator", Watched)
    monkeypatch.setattr(importer.pipeline.graph_stage, "dispatch", watched_dispatch)
    path = write_csv(tmp_path / "skills.csv", ROWS)
    # Without the cycle collector, only plain references free it: no cycle keeps it either.
    gc.disable()
    try:
        result = await run_import(
            [path], settings_for(running_sandbox, tmp_path, max_invalid_ratio=1.0)
        )
    finally:
        gc.enable()

    assert result.counts[Action.CREATED.value] > 0
    assert alive_when_sending == [False]

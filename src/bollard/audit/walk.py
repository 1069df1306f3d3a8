"""Checking the chain and its checkpoints. Pure: rows and checkpoints in, a report out.

`ChainWalk` takes the stored rows in seq order (any number of batches) and
remembers what is wrong; it also takes a whole `Page` the store summarised (SQLite's
fast path), but only when every record in it is intact and linked.
`check_checkpoints` compares the signed checkpoints (from the database and from the
file outside it) with what the walk saw.
Each problem names its kind, so a report says which tampering it found:

    edited        a record's content no longer matches its hash
    forged        a record without a valid MAC (written by someone without the key)
    deleted       records missing (a gap, or later records renumbered down)
    inserted      records added in the middle (later records renumbered up)
    reordered     records moved to other positions
    broken_link   a record does not follow the one before it
    checkpoint_forged / checkpoint_missing / checkpoint_mismatch
    truncated     records a checkpoint or the head covers are gone
    rolled_back   the checkpoint file knows checkpoints the database lacks
    unanchored_tail (warning)  records after the last checkpoint: the known limit
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bollard.audit.chain import COLUMNS, GENESIS, fast_hash
from bollard.audit.checkpoint import Checkpoint, is_authentic, key_id

_SEQ, _KIND, _DATA, _PREV, _HASH = (
    COLUMNS.index(c) for c in ("seq", "kind", "data", "prev_hash", "hash")
)
_SEARCH_WINDOW = 16
# Joins the values of a `Page` (a control character: JSON escapes it inside strings).
PAGE_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or, when not fatal, worth knowing)."""

    kind: str
    message: str
    seq: int | None = None
    fatal: bool = True


@dataclass(slots=True)
class Report:
    """What a verification found."""

    records: int = 0
    first_seq: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    anchored_through: int = 0
    problems: list[Problem] = field(default_factory=list)
    macs_checked: bool = False  # False: verified with the public key alone
    macs_valid: int = 0
    before_macs: int = 0  # records written before record MACs existed

    def coverage(self) -> list[str]:
        """Which records a signature vouches for, and which only their MACs do."""
        if self.records == 0:
            return ["the log is empty"]
        first, last, anchored = self.first_seq, self.last_seq, self.anchored_through
        lines = []
        if anchored >= first:
            lines.append(f"records {first}..{anchored} are covered by a signed checkpoint")
        if last > max(anchored, first - 1):
            since = max(anchored + 1, first)
            vouched = (
                "each carries a valid MAC (made only with the key)"
                if self.macs_checked
                else "their MACs were not checked (that needs the private key)"
            )
            lines.append(
                f"records {since}..{last} are NOT covered by a signed checkpoint yet; {vouched}"
            )
        if self.before_macs:
            lines.append(f"{self.before_macs} record(s) were written before records had MACs")
        return lines

    @property
    def ok(self) -> bool:
        """Nothing wrong but, at most, an unanchored tail."""
        return not any(p.fatal for p in self.problems)

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}


@dataclass(frozen=True, slots=True)
class Page:
    """A run of consecutive stored records (in seq order) as the store summarises them.

    `seqs` is their `count` seqs (integers) joined by ","; `prevs` and `hashes` their
    `count` prev_hash and hash values (strings, none left out) joined by
    PAGE_SEPARATOR; `digests` the SHA-256 hex digest of each record's message, the
    bytes `chain_hash` hashes (one per record; fewer when the store could not build
    every message, and such a page is never accepted).
    """

    count: int
    seqs: str
    prevs: str
    hashes: str
    digests: Sequence[str]


class ChainWalk:
    """Walks rows in seq order, recomputing every hash and link."""

    def __init__(self, wanted: Iterable[int] = ()) -> None:
        self.report = Report()
        self.hash_at: dict[int, str] = {}  # the stored hash at each checkpoint's count
        self._wanted = set(wanted)
        self._wanted_sorted = sorted(self._wanted)
        self._prev: str | None = None
        self._expected = 0
        self._suspects: list[Sequence[Any]] = []
        self._last_suspect = -2
        self._admin_prunes: list[int] = []

    def feed(self, rows: Iterable[Sequence[Any]]) -> None:
        """Check a batch of rows (tuples in COLUMNS order)."""
        report, wanted, hash_at = self.report, self._wanted, self.hash_at
        for row in rows:
            seq, prev, stored = row[_SEQ], row[_PREV], row[_HASH]
            if self._prev is None:
                self._start(seq, prev)
            gap = seq != self._expected
            if gap:
                report.problems.append(
                    Problem("deleted", f"records {self._expected}..{seq - 1} are missing", seq)
                )
            if fast_hash(prev, row) != stored:
                self._suspects.append(row)
                self._last_suspect = seq
            elif prev != self._prev and not gap and self._last_suspect != seq - 1:
                report.problems.append(
                    Problem(
                        "broken_link",
                        f"record {seq} does not follow record {seq - 1}: one of them was "
                        "replaced by a record made to look right",
                        seq,
                    )
                )
            if seq in wanted:
                hash_at[seq] = stored
            if row[_KIND] == "admin":
                self.note_admin(row[_DATA])
            self._prev, self._expected = stored, seq + 1
            report.records += 1
            report.last_seq = seq

    def feed_page(self, page: Page) -> bool:
        """Take a page of records if every one is intact and follows the one before.

        True: the page is counted exactly as `feed` would count its rows (it finds
        nothing wrong in them). False: something in it is not as it should be (or a
        message could not be built); nothing is recorded, and the caller feeds the
        page's rows to `feed`, which says what. Admin records in an accepted page
        go to `note_admin` (a page does not carry their data).
        """
        count, digests, prev = page.count, page.digests, self._prev
        if count == 0 or len(digests) != count:  # a record without a message
            return False
        # Not before the walk has started, nor after a stored hash that would split.
        if type(prev) is not str or PAGE_SEPARATOR in prev:
            return False
        first = self._expected
        # Every record, in order, at the seq after the one before: no gap, no move.
        if page.seqs != ",".join(map(str, range(first, first + count))):
            return False
        # Every record's hash is its content's. The digests hold no separator, so the
        # joined strings are equal only if the stored values hold none either: then
        # they are equal one by one.
        if PAGE_SEPARATOR.join(digests) != page.hashes:
            return False
        # Every record's prev_hash is the hash of the record before it.
        if PAGE_SEPARATOR.join([prev, *digests[:-1]]) != page.prevs:
            return False
        last = first + count - 1
        wanted = self._wanted_sorted
        for seq in wanted[bisect_left(wanted, first) : bisect_right(wanted, last)]:
            self.hash_at[seq] = digests[seq - first]
        self._prev, self._expected = digests[-1], last + 1
        self.report.records += count
        self.report.last_seq = last
        return True

    def note_admin(self, data: Any) -> None:
        """An admin record's data: a prune says which records it removed."""
        if '"op":"prune"' in data:
            self._admin_prunes.append(int(json.loads(data).get("through_seq", 0)))

    def _start(self, seq: int, prev: str) -> None:
        self.report.first_seq = seq
        self._expected = seq
        self._prev = prev
        if seq == 1 and prev != GENESIS:
            self.report.problems.append(
                Problem("edited", "record 1 does not start from the genesis hash", 1)
            )
        if seq > 1:
            self.hash_at[seq - 1] = prev

    @property
    def pruned_through(self) -> int:
        """The highest seq a `bollard audit prune` record says it removed."""
        return max(self._admin_prunes, default=0)

    def finish(self) -> Report:
        """Classify the rows whose hash did not match, and return the report."""
        self.report.problems.extend(classify(self._suspects))
        return self.report


def classify(suspects: Sequence[Sequence[Any]]) -> list[Problem]:
    """Edited, moved (inserted, deleted and renumbered, reordered): why hashes failed."""
    positions = [row[_SEQ] for row in suspects]
    moved: dict[int, int] = {}
    problems = []
    for row in suspects:
        seq = row[_SEQ]
        origin = _original_seq(row, positions if len(positions) < 2000 else [])
        if origin is None:
            problems.append(
                Problem(
                    "edited", f"record {seq} was edited: its content does not match its hash", seq
                )
            )
        else:
            moved[seq] = origin
    if moved and set(moved.values()) == set(moved):
        listed = ", ".join(f"{o}→{s}" for s, o in sorted(moved.items())[:10])
        problems.append(Problem("reordered", f"records were moved: {listed}", min(moved)))
    elif moved:
        problems.extend(_renumbered(moved))
    return problems


def _original_seq(row: Sequence[Any], positions: Sequence[int]) -> int | None:
    seq = row[_SEQ]
    window = range(seq - _SEARCH_WINDOW, seq + _SEARCH_WINDOW + 1)
    for candidate in dict.fromkeys([*positions, *window]):
        if candidate > 0 and candidate != seq:
            shifted = [*row]
            shifted[_SEQ] = candidate
            if fast_hash(row[_PREV], shifted) == row[_HASH]:
                return int(candidate)
    return None


def _renumbered(moved: Mapping[int, int]) -> list[Problem]:
    problems = []
    last_shift = 0
    for seq, origin in sorted(moved.items()):
        shift = seq - origin
        if shift == last_shift:
            continue
        last_shift = shift
        if shift > 0:
            message = (
                f"{shift} record(s) inserted at {seq - shift}: record {seq} was record {origin}"
            )
            problems.append(Problem("inserted", message, seq - shift))
        else:
            message = (
                f"{-shift} record(s) deleted before record {seq} and the later records "
                f"renumbered: record {seq} was record {origin}"
            )
            problems.append(Problem("deleted", message, seq))
    return problems


@dataclass(frozen=True, slots=True)
class Sources:
    """The checkpoints to compare with the walk, and what else is known about the log."""

    in_db: Sequence[Checkpoint]
    in_file: Sequence[Checkpoint] | None = None  # None: no file to compare (an export)
    file_problems: Sequence[str] = ()
    head: tuple[int, str] | None = None  # audit_head's (seq, hash)
    excerpt: bool = False  # an export of a range: only its anchoring checkpoints are present


def check_checkpoints(walk: ChainWalk, sources: Sources, key: Ed25519PublicKey) -> Report:
    """Add to the walk's report everything the checkpoints say is wrong; then classify."""
    report = walk.finish()
    problems = report.problems
    authentic = [c for c in sources.in_db if _authentic(c, key, "database", problems)]
    report.checkpoints = len(sources.in_db)
    if not sources.excerpt:
        _check_sequence(sources, problems)
    for cp in authentic:
        _check_against_records(cp, walk, report)
    if sources.in_file is not None:
        _check_file(sources, key, report)
    _check_head(sources.head, walk, report)
    _check_start(walk, report, {c.count for c in authentic}, sources.excerpt)
    matching = [
        c.count
        for c in authentic
        if walk.hash_at.get(c.count) == c.head_hash or c.count < report.first_seq - 1
    ]
    report.anchored_through = max(matching, default=0)
    newest = max((c.count for c in authentic), default=0)
    if report.last_seq > newest:
        problems.append(
            Problem(
                "unanchored_tail",
                f"records {max(newest + 1, report.first_seq)}..{report.last_seq} come after "
                "the last checkpoint: they chain correctly, but nothing signed vouches for "
                "them yet (the known limit)",
                newest + 1,
                fatal=False,
            )
        )
    return report


def _authentic(cp: Checkpoint, key: Ed25519PublicKey, where: str, out: list[Problem]) -> bool:
    if is_authentic(cp, key):
        return True
    why = (
        "its signature is not valid"
        if cp.key_id == key_id(key)
        else f"it names key {cp.key_id}, not the trusted key {key_id(key)}"
    )
    out.append(
        Problem(
            "checkpoint_forged", f"checkpoint #{cp.seq} in the {where} is forged: {why}", cp.seq
        )
    )
    return False


def _check_sequence(sources: Sources, problems: list[Problem]) -> None:
    seqs = [c.seq for c in sources.in_db]
    in_file = {c.seq for c in sources.in_file or ()}
    expected = 1
    for seq in seqs:
        for missing in range(expected, seq):
            where = " (the checkpoint file still has it)" if missing in in_file else ""
            problems.append(
                Problem(
                    "checkpoint_missing",
                    f"checkpoint #{missing} was deleted from the database{where}",
                    missing,
                )
            )
        expected = seq + 1


def _check_against_records(cp: Checkpoint, walk: ChainWalk, report: Report) -> None:
    if report.records and cp.count > report.last_seq:
        report.problems.append(
            Problem(
                "truncated",
                f"checkpoint #{cp.seq} covers records up to {cp.count}, but the log ends at "
                f"{report.last_seq}: records were removed from the end",
                cp.count,
            )
        )
    elif cp.count in walk.hash_at and walk.hash_at[cp.count] != cp.head_hash:
        report.problems.append(
            Problem(
                "checkpoint_mismatch",
                f"checkpoint #{cp.seq} says record {cp.count} has hash {cp.head_hash[:12]}…, "
                f"the log has {walk.hash_at[cp.count][:12]}…: records up to {cp.count} "
                "were rewritten",
                cp.count,
            )
        )


def _check_file(sources: Sources, key: Ed25519PublicKey, report: Report) -> None:
    problems = report.problems
    for text in sources.file_problems:
        torn = "incomplete" in text
        problems.append(Problem("checkpoint_file", f"checkpoint file: {text}", fatal=not torn))
    in_db = {c.seq: c for c in sources.in_db}
    newest_in_db = max(in_db, default=0)
    in_file = sources.in_file or ()
    for cp in in_file:
        if not _authentic(cp, key, "checkpoint file", problems):
            continue
        mine = in_db.get(cp.seq)
        if mine is None and cp.seq > newest_in_db:
            problems.append(
                Problem(
                    "rolled_back",
                    f"the checkpoint file has checkpoint #{cp.seq} (record {cp.count}) but the "
                    f"database stops at checkpoint #{newest_in_db}: the database was rolled "
                    "back to an older copy",
                    cp.count,
                )
            )
        elif mine is not None and mine != cp:
            problems.append(
                Problem(
                    "rolled_back",
                    f"checkpoint #{cp.seq} differs between the database and the checkpoint "
                    "file: the database was replaced or rolled back and written again",
                    cp.count,
                )
            )
    file_seqs = {c.seq for c in in_file}
    newest_in_file = max(file_seqs, default=0)
    for seq in sorted(set(in_db) - file_seqs):
        late = seq > newest_in_file
        problems.append(
            Problem(
                "checkpoint_missing",
                f"checkpoint #{seq} is not in the checkpoint file"
                + (" yet (written just before a crash; the next start copies it)" if late else ""),
                seq,
                fatal=not late,
            )
        )


def _check_head(head: tuple[int, str] | None, walk: ChainWalk, report: Report) -> None:
    if head is None or head[0] == 0:
        return
    seq, hash_ = head
    if seq == report.last_seq and hash_ != walk.hash_at.get(seq):
        report.problems.append(
            Problem(
                "broken_link",
                f"the chain's head says record {seq} has hash {hash_[:12]}…, the log has "
                "another: the last record or the head was rewritten",
                seq,
            )
        )
    if seq > report.last_seq:
        report.problems.append(
            Problem(
                "truncated",
                f"the chain's head says {seq} records, the log ends at {report.last_seq}: "
                "records were removed from the end",
                report.last_seq + 1,
            )
        )


def _check_start(walk: ChainWalk, report: Report, counts: set[int], excerpt: bool) -> None:
    first = report.first_seq
    if first <= 1:
        return
    if first - 1 not in counts:
        report.problems.append(
            Problem(
                "deleted",
                f"the log starts at record {first} and no checkpoint anchors record {first - 1}",
                1,
            )
        )
    if not excerpt and walk.pruned_through < first - 1:
        report.problems.append(
            Problem(
                "deleted",
                f"records 1..{first - 1} are missing and no `bollard audit prune` record "
                "accounts for them",
                1,
            )
        )

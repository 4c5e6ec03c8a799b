"""What a check says: one result per check that ran, in order, and the report of the whole run.

Both are plain data that travel as JSON from the process that ran the learner's code back to the
window or the terminal (:mod:`.runner`), so everything in them is text, numbers and lists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# The stages, in the order a check runs them (an exercise uses the ones that apply to it).
STAGES = ("load", "shapes", "tiny case", "gradient check", "engine comparison", "behaviour")


@dataclass
class CheckResult:
    """One check: its stage and name, whether it passed, and for a failure what to look at."""

    stage: str
    name: str
    passed: bool
    message: str = ""  # what went wrong, in one or two sentences (a typical mistake is named here)
    input: str = ""  # the input that was used, as text
    expected: str = ""  # the right answer, as text
    got: str = ""  # the learner's answer, as text
    hint: str = ""
    mistake: str = ""  # the key of a recognised typical mistake, or ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckReport:
    """The outcome of checking one file against one exercise."""

    exercise: str
    passed: bool
    results: list[CheckResult] = field(default_factory=list)
    error: str = ""  # the check could not run to the end: timeout, memory, crash, cancelled
    timed_out: bool = False
    seconds: float = 0.0
    output: str = ""  # what the learner's code printed (cut to a few thousand characters)

    @property
    def first_failure(self) -> CheckResult | None:
        return next((r for r in self.results if not r.passed), None)

    @property
    def headline(self) -> str:
        """One line: passed, or the first thing to fix."""
        if self.passed:
            return f"Passed: all {len(self.results)} checks of {self.exercise!r} agree."
        if self.error:
            return self.error
        failure = self.first_failure
        if failure is None:
            return f"{self.exercise!r} did not pass."
        return f"{failure.stage} › {failure.name}: {failure.message}"

    def text(self) -> str:
        """The report as plain text (the CLI prints this)."""
        lines = []
        for r in self.results:
            mark = "ok  " if r.passed else "FAIL"
            lines.append(f"[{mark}] {r.stage} › {r.name}")
            if not r.passed:
                if r.message:
                    lines.append(f"       {r.message}")
                if r.input:
                    lines.append(f"       input:    {_indent(r.input)}")
                if r.expected or r.got:
                    lines.append(f"       expected: {_indent(r.expected)}")
                    lines.append(f"       got:      {_indent(r.got)}")
                if r.hint:
                    lines.append(f"       hint: {r.hint}")
        if self.error:
            lines.append(self.error)
        if self.output.strip():
            lines.append("Your code printed:")
            lines.extend("  " + line for line in self.output.rstrip().splitlines()[:20])
        lines.append(self.headline if self.passed else "Not passed yet: fix the first failing check above.")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "exercise": self.exercise,
            "passed": self.passed,
            "results": [r.to_dict() for r in self.results],
            "error": self.error,
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 3),
            "output": self.output,
            "headline": self.headline,
        }

    @classmethod
    def from_dict(cls, d: dict) -> CheckReport:
        fields = set(CheckResult.__dataclass_fields__)
        return cls(
            exercise=str(d.get("exercise", "")),
            passed=bool(d.get("passed")),
            results=[CheckResult(**{k: v for k, v in r.items() if k in fields}) for r in d.get("results", [])],
            error=str(d.get("error", "")),
            timed_out=bool(d.get("timed_out")),
            seconds=float(d.get("seconds", 0.0)),
            output=str(d.get("output", "")),
        )


def _indent(text: str) -> str:
    return text.replace("\n", "\n                 ")

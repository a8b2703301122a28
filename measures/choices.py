"""Named values for measures, and the one table of allowed stage moves beside them. Each set
of values is its own ``TextChoices``: alike in shape, different in meaning."""

from __future__ import annotations

from django.db import models


class Stage(models.TextChoices):
    """Where a measure is in its factual lifecycle."""

    ANNOUNCED = "announced", "Announced"
    IN_DEVELOPMENT = "in_development", "In development"
    CONSULTATION = "consultation", "Consultation"
    LEGISLATING = "legislating", "Legislating"
    ENACTED = "enacted", "Enacted (Royal Assent)"
    IN_FORCE = "in_force", "In force (commenced)"
    IMPLEMENTING = "implementing", "Implementing"
    COMPLETED = "completed", "Completed"
    STALLED = "stalled", "Stalled"
    SUSPENDED = "suspended", "Suspended"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SUPERSEDED = "superseded", "Superseded"


# From a stage (None: no stage recorded yet) to the stages it may move to. A move outside
# this table is refused. Withdrawn and superseded are final; completed can only be superseded.
_RESUMABLE = frozenset(
    {
        Stage.IN_DEVELOPMENT,
        Stage.CONSULTATION,
        Stage.LEGISLATING,
        Stage.ENACTED,
        Stage.IN_FORCE,
        Stage.IMPLEMENTING,
        Stage.WITHDRAWN,
        Stage.SUPERSEDED,
    }
)
ALLOWED_STAGE_MOVES: dict[Stage | None, frozenset[Stage]] = {
    None: frozenset(Stage),
    Stage.ANNOUNCED: frozenset(
        {
            Stage.IN_DEVELOPMENT,
            Stage.CONSULTATION,
            Stage.LEGISLATING,
            Stage.IMPLEMENTING,
            Stage.STALLED,
            Stage.WITHDRAWN,
            Stage.SUPERSEDED,
        }
    ),
    Stage.IN_DEVELOPMENT: frozenset(
        {
            Stage.CONSULTATION,
            Stage.LEGISLATING,
            Stage.IMPLEMENTING,
            Stage.STALLED,
            Stage.SUSPENDED,
            Stage.WITHDRAWN,
            Stage.SUPERSEDED,
        }
    ),
    Stage.CONSULTATION: frozenset(
        {
            Stage.IN_DEVELOPMENT,
            Stage.LEGISLATING,
            Stage.IMPLEMENTING,
            Stage.STALLED,
            Stage.SUSPENDED,
            Stage.WITHDRAWN,
            Stage.SUPERSEDED,
        }
    ),
    Stage.LEGISLATING: frozenset(
        {Stage.ENACTED, Stage.STALLED, Stage.SUSPENDED, Stage.WITHDRAWN, Stage.SUPERSEDED}
    ),
    Stage.ENACTED: frozenset({Stage.IN_FORCE, Stage.STALLED, Stage.WITHDRAWN, Stage.SUPERSEDED}),
    Stage.IN_FORCE: frozenset(
        {Stage.IMPLEMENTING, Stage.COMPLETED, Stage.SUSPENDED, Stage.SUPERSEDED}
    ),
    Stage.IMPLEMENTING: frozenset(
        {Stage.COMPLETED, Stage.STALLED, Stage.SUSPENDED, Stage.WITHDRAWN, Stage.SUPERSEDED}
    ),
    Stage.COMPLETED: frozenset({Stage.SUPERSEDED}),
    Stage.STALLED: _RESUMABLE | {Stage.SUSPENDED},
    Stage.SUSPENDED: _RESUMABLE | {Stage.STALLED},
    Stage.WITHDRAWN: frozenset(),
    Stage.SUPERSEDED: frozenset(),
}

# Stages after which nothing more is expected: such a measure is never overdue.
FINISHED_STAGES = frozenset({Stage.COMPLETED, Stage.WITHDRAWN, Stage.SUPERSEDED})


def stage_move_allowed(from_stage: str | None, to_stage: str) -> bool:
    source = Stage(from_stage) if from_stage is not None else None
    return to_stage in ALLOWED_STAGE_MOVES[source]


class Verdict(models.TextChoices):
    """The editorial judgement on whether the commitment was kept."""

    NOT_YET_RATED = "not_yet_rated", "Not yet rated"
    IN_THE_WORKS = "in_the_works", "In the works"
    STALLED = "stalled", "Stalled"
    KEPT = "kept", "Kept"
    PARTIALLY_KEPT = "partially_kept", "Partially kept"
    BROKEN = "broken", "Broken"
    UNRATABLE = "unratable", "Unratable"


class Confidence(models.TextChoices):
    """The forward-looking delivery-confidence rating, on the five-point scale."""

    GREEN = "green", "Green"
    AMBER_GREEN = "amber_green", "Amber/green"
    AMBER = "amber", "Amber"
    AMBER_RED = "amber_red", "Amber/red"
    RED = "red", "Red"
    NOT_YET_RATED = "not_yet_rated", "Not yet rated"
    UNRATABLE = "unratable", "Unratable"


class Axis(models.TextChoices):
    """The three independent things a status event can change."""

    STAGE = "stage", "Stage"
    VERDICT = "verdict", "Verdict"
    CONFIDENCE = "confidence", "Confidence"


AXIS_VALUES: dict[str, type[models.TextChoices]] = {
    Axis.STAGE: Stage,
    Axis.VERDICT: Verdict,
    Axis.CONFIDENCE: Confidence,
}


class Instrument(models.TextChoices):
    """How government means to deliver a measure."""

    LEGISLATION = "legislation", "Legislation"
    CONSULTATION = "consultation", "Consultation"
    GUIDANCE = "guidance", "Guidance"
    FUNDING = "funding", "Funding"
    ENGAGEMENT = "engagement", "Engagement"
    OPERATIONAL = "operational", "Operational"


class FundingPhase(models.TextChoices):
    """How far a sum of money has travelled from a promise to a payment."""

    ANNOUNCED = "announced", "Announced"
    ALLOCATED = "allocated", "Allocated"
    COMMITTED = "committed", "Committed"
    DISBURSED = "disbursed", "Disbursed"
    SPENT = "spent", "Spent"


class FundingNovelty(models.TextChoices):
    """Whether a sum is new money or money announced before."""

    ADDITIONAL = "additional", "Additional"
    RE_ANNOUNCED = "re_announced", "Re-announced"
    UNKNOWN = "unknown", "Not known"

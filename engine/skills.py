"""Skills with proficiency (issue 17): agents carry skill levels 1–10 (Salesforce Omni-Channel's
scale); a group or an assign action requires skills at a minimum level, and `relax` steps lower or
drop those minimums as the conversation's wait grows (Omni-Channel's drop-skill timeout, Genesys
best-available skills).

A group's requirement is what its conversations need, whoever takes them: its own members, or the
agents an overflow step reaches. Stateless, like overflow: the caller sends each agent's skills and
when each conversation was queued; a conversation's minimums follow from its wait alone, at the cost
of one pass over the steps.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MIN_LEVEL, MAX_LEVEL = 1, 10
MAX_SKILLS = 64  # skills per agent in a request, and per requirement
RELAX_KEYS = ("after_seconds", "drop")  # every other key of a relax step names a skill


@dataclass(frozen=True)
class RelaxStep:
    after_seconds: float
    lowered: tuple[tuple[str, int], ...] = ()  # skill → its new, lower minimum
    drop: tuple[str, ...] = ()                 # skills no longer required


@dataclass(frozen=True)
class SkillRequirement:
    require: tuple[tuple[str, int], ...]  # skill → minimum level, as written
    relax: tuple[RelaxStep, ...] = ()     # in the order their waits pass (the loader checks it)

    @property
    def skills(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.require)

    def minimums(self, waited_seconds: float) -> dict[str, int]:
        """The minimum level of each skill still required after waiting `waited_seconds`."""
        levels = dict(self.require)
        for step in self.relax:
            if waited_seconds < step.after_seconds:
                break
            levels.update(step.lowered)
            for name in step.drop:
                del levels[name]
        return levels


def in_force(*requirements: SkillRequirement | None) -> tuple[SkillRequirement, ...]:
    """The requirements that apply, of a conversation's group and of the rule's action (None: none)."""
    return tuple(requirement for requirement in requirements if requirement is not None)


def minimums(requirements: Iterable[SkillRequirement], waited_seconds: float) -> dict[str, int]:
    """What a conversation needs under several requirements (its group's and its rule's): each skill
    at the highest of their minimums."""
    levels: dict[str, int] = {}
    for requirement in requirements:
        for name, level in requirement.minimums(waited_seconds).items():
            levels[name] = max(level, levels.get(name, 0))
    return levels


def skill_names(requirements: Iterable[SkillRequirement]) -> tuple[str, ...]:
    """The skills the requirements name, relaxed or not: what `most_proficient` ranks by."""
    return tuple(dict.fromkeys(name for requirement in requirements for name in requirement.skills))


def qualifies(skills: Mapping[str, int], levels: Mapping[str, int]) -> bool:
    # A loop, not all() over a generator: it runs for every agent of a pool, against one or two skills.
    for name, level in levels.items():
        if skills.get(name, 0) < level:
            return False
    return True


def proficiency(skills: Mapping[str, int], names: tuple[str, ...]) -> int:
    return sum(skills.get(name, 0) for name in names)


def describe(levels: Mapping[str, int]) -> str:
    """`refund ≥ 5, billing ≥ 3`, for reasons and fall-through traces."""
    return ", ".join(f"{name} ≥ {level}" for name, level in levels.items())

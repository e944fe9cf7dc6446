"""The six steps are listed once (steps.py): the workflow package's docstring, the engine's
sections and the modules that do each step follow that list."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import harvester.workflow
from harvester.workflow.steps import Step

ENGINE = Path(harvester.workflow.__file__).parent / "engine.py"


def test_the_package_docstring_names_the_six_steps_in_their_order() -> None:
    doc = harvester.workflow.__doc__ or ""
    listed = doc.split(":", 1)[1].split("(", 1)[0]
    assert [word.strip(" .") for word in listed.split(",")] == [str(step) for step in Step]


def test_the_engines_sections_follow_the_steps_in_order() -> None:
    sections = re.findall(r"^    # -- ([a-z ]+):", ENGINE.read_text(), re.MULTILINE)
    named = [Step(word) for section in sections for word in section.split(" and ")]
    assert named == [Step.LINK, Step.HISTORY, Step.FETCH, Step.KEY]


def test_each_step_has_a_module_named_after_it_and_a_line_saying_what_it_does() -> None:
    for step in Step:
        assert step.does
        for name in step.modules:
            module = importlib.import_module(f"harvester.workflow.{name}")
            assert module.__doc__, name
        assert step.modules[0].startswith(str(step)), step

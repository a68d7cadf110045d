"""The search's budget and options (swao.method.settings): checked once, when made, with errors
that name the field and what it allows; a configuration builds both, and every method of a
Table 2 comparison gets the same budget."""
import dataclasses

import pytest

from swao.method.representation import DEPTHS
from swao.method.settings import PAPER, SearchBudget, SearchOptions
from swao.training.config import get_config


@pytest.mark.parametrize("changes, message", [
    (dict(steps=-1), "steps must be an int >= 0, got -1"),
    (dict(steps=2.5), "steps must be an int >= 0, got 2.5"),
    (dict(restarts=0), "restarts must be an int >= 1, got 0"),
    (dict(restarts=True), "restarts must be an int >= 1, got True"),
    (dict(seed=-3), "seed must be an int >= 0, got -3"),
    (dict(eval_every=0), "eval_every must be an int >= 1, got 0"),
    (dict(depths=()), "depths must name one or more of"),
    (dict(depths=2), "depths must name one or more of"),
    (dict(depths=(2, 5)), "depth must be one of"),
])
def test_a_bad_budget_is_refused_naming_the_field(changes, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SearchBudget(**{"steps": 10, **changes})


@pytest.mark.parametrize("changes, message", [
    (dict(start="zeros"), "start must be one of ('uniform', 'encoded'), got 'zeros'"),
    (dict(masks="hard"), "masks must be one of ('none', 'straight_through'), got 'hard'"),
    (dict(penalty="some"), "penalty must be one of ('all', 'active'), got 'some'"),
    (dict(keep_layers=1), "keep_layers must be True or False, got 1"),
])
def test_bad_options_are_refused_naming_the_option(changes, message):
    with pytest.raises(ValueError) as err:
        SearchOptions(**changes)
    assert str(err.value) == message


def test_a_budget_is_frozen_and_a_changed_copy_is_checked_again():
    b = SearchBudget(10, depths=[1, 3])
    assert b.depths == (1, 3) and hash(b) == hash(SearchBudget(10, depths=(1, 3)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.steps = 20
    assert b.replace(seed=4) == SearchBudget(10, depths=(1, 3), seed=4)
    with pytest.raises(ValueError, match="restarts must be"):
        b.replace(restarts=0)


def test_a_configuration_builds_the_search_it_declares():
    paper, small = get_config("paper"), get_config("small")
    assert paper.search_budget() == SearchBudget(30_000, paper.restarts, DEPTHS, 0, None)
    assert paper.search_options() == PAPER == SearchOptions("uniform", "none", "all", False)
    assert small.search_budget(seed=7, eval_every=5) == SearchBudget(small.search_steps, small.restarts, DEPTHS, 7, 5)
    assert small.search_options() == SearchOptions(small.search_start, small.search_masks, small.search_penalty,
                                                   small.search_keep_layers) != PAPER


def test_the_search_and_the_baselines_refuse_a_bare_step_count():
    from swao.method.search import search
    from swao.ours.baselines import direct_sparse

    with pytest.raises(TypeError, match="budget must be a SearchBudget"):
        search(lambda z, j: z, [{"x_train": None}], "sigmoid", 10)
    with pytest.raises(TypeError, match="budget must be a SearchBudget, got int"):
        direct_sparse([], "sigmoid", 10)

"""The few-seconds cache of answers a logged-in member's tribe page asks for on every view:
kept for its time, forgotten at once when this process commits a change shown on pages, and
never kept when such a change happened while it was being computed."""

from __future__ import annotations

from fedi.db_changes import Changes
from fedi.http.web.short_cache import ShortCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_answers_are_kept_for_their_time_falsy_ones_too() -> None:
    clock = Clock()
    cache: ShortCache[str, int] = ShortCache(ttl=10, clock=clock)
    assert cache.get("count") is None
    cache.put("count", 0, cache.generation)
    assert cache.get("count") == (0,)  # "no initiatives" is an answer, not a miss
    clock.now += 9.9
    assert cache.get("count") == (0,)
    clock.now += 0.2
    assert cache.get("count") is None


def test_a_change_shown_on_pages_forgets_everything_at_once() -> None:
    cache: ShortCache[str, int] = ShortCache(ttl=10, clock=Clock())
    cache.put("a", 1, cache.generation)
    cache.put("b", 2, cache.generation)
    cache.on_changes(Changes(actor_ids={7}))  # a profile change: not what these answers hold
    assert cache.get("a") == (1,)
    cache.on_changes(Changes(content=True))
    assert cache.get("a") is None and cache.get("b") is None


def test_an_answer_computed_across_a_change_is_not_kept() -> None:
    cache: ShortCache[str, int] = ShortCache(ttl=10, clock=Clock())
    started = cache.generation  # the page reads the generation, then queries...
    cache.on_changes(Changes(content=True))  # ...while another request commits
    cache.put("count", 3, started)
    assert cache.get("count") is None


def test_the_cache_stays_bounded() -> None:
    cache: ShortCache[int, int] = ShortCache(ttl=10, max_entries=3, clock=Clock())
    for key in range(3):
        cache.put(key, key, cache.generation)
    cache.put(3, 3, cache.generation)
    assert len(cache.entries) <= 3 and cache.get(3) == (3,)

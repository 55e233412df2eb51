"""Funnels end to end: defined through the Sites API (`PUT /api/v1/sites/funnels`), counted by
`GET /api/v1/stats/funnel` over visits recorded through the ingestion pipeline.

funnels.example (UTC) has nine goals: pageviews of /landing, /features, /pricing,
/onboarding, /checkout and /about, and the custom events Signup, Invite and Purchase. Two
funnels:

- "Pricing to checkout", 3 steps: Visit /pricing -> Signup -> Visit /checkout
- "Whole journey", 8 steps: Visit /landing -> Visit /features -> Visit /pricing -> Signup ->
  Visit /onboarding -> Invite -> Visit /checkout -> Purchase

Twelve visitors on 2026-05-12, each doing these things one minute apart, and the last step
each reaches in order (a step counts only after the step before it):

| visitor | what they do                                                    | 8-step | 3-step |
|---------|-----------------------------------------------------------------|--------|--------|
| V1      | the whole journey, in order                                     | 8      | 3      |
| V2      | /landing                                                        | 1      | 0      |
| V3      | /landing, /features                                             | 2      | 0      |
| V4      | ... /pricing                                                    | 3      | 1      |
| V5      | ... Signup                                                      | 4      | 2      |
| V6      | ... /onboarding                                                 | 5      | 2      |
| V7      | ... Invite                                                      | 6      | 2      |
| V8      | ... /checkout                                                   | 7      | 3      |
| V9      | Signup, then /pricing, then /checkout (signed up too early)     | 0      | 1      |
| V10     | every step of the journey, but /pricing before /features        | 2      | 3      |
| V11     | /about only                                                     | 0      | 0      |
| V12     | /checkout, Signup, /pricing: the 3 steps backwards              | 0      | 1      |

On 2026-05-11 V13 does /pricing, Signup, /checkout (3-step: 3); on 2026-05-13 V14 does
/landing, /features, /pricing, Signup (8-step: 4, 3-step: 2). A range of one day leaves them out.

On 2026-05-20 four visitors do every step of the 3-step funnel, none in its order: V15 Signup,
/pricing, /checkout (1); V16 /checkout, Signup, /pricing (1); V17 /pricing, /checkout, Signup
(2: /checkout came before Signup); V18 the whole journey backwards (3-step: 1, 8-step: 1).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.stats.conftest import CHROME_MAC, SiteSetup, hit

DOMAIN = "funnels.example"
DAY = "2026-05-12"
START = datetime(2026, 5, 12, 9, 0)
OUT_OF_ORDER = datetime(2026, 5, 20, 9, 0)

PAGES = ["/landing", "/features", "/pricing", "/onboarding", "/checkout", "/about"]
EVENTS = ["Signup", "Invite", "Purchase"]
SITE = SiteSetup(
    DOMAIN,
    goals=[{"page_path": path} for path in PAGES] + [{"event_name": name} for name in EVENTS],
)

JOURNEY = [
    "/landing",
    "/features",
    "/pricing",
    "Signup",
    "/onboarding",
    "Invite",
    "/checkout",
    "Purchase",
]
THREE_STEPS = ["Visit /pricing", "Signup", "Visit /checkout"]
EIGHT_STEPS = [step if not step.startswith("/") else f"Visit {step}" for step in JOURNEY]

VISITS: list[tuple[datetime, list[str]]] = [
    (START, JOURNEY),  # V1
    *((START, JOURNEY[:reached]) for reached in range(1, 8)),  # V2-V8: each stops one step later
    (START, ["Signup", "/pricing", "/checkout"]),  # V9
    (START, ["/landing", "/pricing", "/features", *JOURNEY[3:]]),  # V10
    (START, ["/about"]),  # V11
    (START, ["/checkout", "Signup", "/pricing"]),  # V12
    (START - timedelta(days=1), ["/pricing", "Signup", "/checkout"]),  # V13
    (START + timedelta(days=1), JOURNEY[:4]),  # V14
    (OUT_OF_ORDER, ["Signup", "/pricing", "/checkout"]),  # V15
    (OUT_OF_ORDER, ["/checkout", "Signup", "/pricing"]),  # V16
    (OUT_OF_ORDER, ["/pricing", "/checkout", "Signup"]),  # V17
    (OUT_OF_ORDER, JOURNEY[::-1]),  # V18
]
# A custom event is sent from the page the visitor is on; which page does not matter to a goal.
EVENT_PAGE = {"Signup": "/pricing", "Invite": "/onboarding", "Purchase": "/checkout"}


def funnel_hits():
    hits = []
    for number, (start, actions) in enumerate(VISITS, start=1):
        ip = f"85.214.132.{number}"
        for minute, action in enumerate(actions):
            at = start + timedelta(minutes=number * 10 + minute)
            if action.startswith("/"):
                hits.append(hit("pageview", action, at, CHROME_MAC, ip, domain=DOMAIN))
            else:
                hits.append(hit(action, EVENT_PAGE[action], at, CHROME_MAC, ip, domain=DOMAIN))
    return hits


def sites_api(world, method, path, key=None, **kwargs):
    return world.client.request(
        method, path, headers={"Authorization": f"Bearer {key or world.key}"}, **kwargs
    )


def goal_ids(world, domain=DOMAIN) -> dict[str, int]:
    listed = sites_api(world, "GET", "/api/v1/sites/goals", params={"site_id": domain})
    return {goal["display_name"]: goal["id"] for goal in listed.json()["goals"]}


def put_funnel(world, name, steps, domain=DOMAIN, key=None):
    ids = goal_ids(world, domain)
    body = {"site_id": domain, "name": name, "steps": [ids[step] for step in steps]}
    return sites_api(world, "PUT", "/api/v1/sites/funnels", key=key, json=body)


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SITE], funnel_hits())


@pytest.fixture(scope="module")
def funnels(world) -> dict[str, int]:
    """The two funnels, made as a user makes them: through the Sites API."""
    made = {}
    for name, steps in (("Pricing to checkout", THREE_STEPS), ("Whole journey", EIGHT_STEPS)):
        response = put_funnel(world, name, steps)
        assert response.status_code == 200, response.text
        made[name] = response.json()["id"]
    return made


def funnel(world, funnel_id, key=None, **params):
    params = {"site_id": DOMAIN, "period": "day", "date": DAY, "funnel_id": funnel_id, **params}
    return world.v1("funnel", key=key, **params)


def counted(world, funnel_id, **params) -> dict:
    response = funnel(world, funnel_id, **params)
    assert response.status_code == 200, response.text
    return response.json()


def columns(body: dict, *names: str) -> list[tuple]:
    return [tuple(step[name] for name in names) for step in body["steps"]]


# --- counting -----------------------------------------------------------------------------------


def test_three_step_funnel_with_a_custom_event_step(world, funnels) -> None:
    body = counted(world, funnels["Pricing to checkout"])
    assert body["name"] == "Pricing to checkout"
    # Reached /pricing: V1, V4-V10, V12 (9). Then Signup: V1, V5-V8, V10 (6; V9 signed up
    # before /pricing, V12 after /checkout). Then /checkout: V1, V8, V10 (3).
    assert columns(body, "label", "visitors", "dropoff") == [
        ("Visit /pricing", 9, 0),
        ("Signup", 6, 3),
        ("Visit /checkout", 3, 3),
    ]
    assert columns(body, "conversion_rate", "conversion_rate_step", "dropoff_percentage") == [
        ("100.00", "100.00", "0.00"),
        ("66.67", "66.67", "33.33"),
        ("33.33", "50.00", "50.00"),
    ]
    # V2, V3 and V11 never reached /pricing.
    assert {k: v for k, v in body.items() if k not in ("name", "steps")} == {
        "all_visitors": 12,
        "entering_visitors": 9,
        "entering_visitors_percentage": "75.00",
        "never_entering_visitors": 3,
        "never_entering_visitors_percentage": "25.00",
    }


def test_eight_step_funnel_loses_visitors_at_every_step(world, funnels) -> None:
    body = counted(world, funnels["Whole journey"])
    assert body["name"] == "Whole journey"
    # Entered: V1-V8 and V10 (9). V10 saw /pricing before /features, so reached step 2 only.
    assert columns(body, "label", "visitors", "dropoff") == [
        ("Visit /landing", 9, 0),
        ("Visit /features", 8, 1),  # V2 stopped
        ("Visit /pricing", 6, 2),  # V3 stopped; V10's /pricing came too early
        ("Signup", 5, 1),  # V4
        ("Visit /onboarding", 4, 1),  # V5
        ("Invite", 3, 1),  # V6
        ("Visit /checkout", 2, 1),  # V7
        ("Purchase", 1, 1),  # V8; V1 went all the way
    ]
    assert columns(body, "conversion_rate", "conversion_rate_step", "dropoff_percentage") == [
        ("100.00", "100.00", "0.00"),
        ("88.89", "88.89", "11.11"),
        ("66.67", "75.00", "25.00"),
        ("55.56", "83.33", "16.67"),
        ("44.44", "80.00", "20.00"),
        ("33.33", "75.00", "25.00"),
        ("22.22", "66.67", "33.33"),
        ("11.11", "50.00", "50.00"),
    ]
    assert (body["all_visitors"], body["entering_visitors"], body["never_entering_visitors"]) == (12, 9, 3)


def test_steps_done_out_of_order_do_not_convert(world, funnels) -> None:
    # On 2026-05-20 all four visitors did all three steps, and none in order.
    three = counted(world, funnels["Pricing to checkout"], date="2026-05-20")
    assert columns(three, "visitors", "dropoff") == [(4, 0), (1, 3), (0, 1)]  # V17 alone signs up after
    assert three["all_visitors"] == 4
    eight = counted(world, funnels["Whole journey"], date="2026-05-20")
    assert columns(eight, "visitors") == [(1,)] + [(0,)] * 7  # V18 reached /landing last


def test_a_date_range_counts_only_the_visits_inside_it(world, funnels) -> None:
    three, eight = funnels["Pricing to checkout"], funnels["Whole journey"]
    # 2026-05-11 and 12: V13 (all three steps, the day before) joins; V14 (the day after) does not.
    before = counted(world, three, period="custom", date="2026-05-11,2026-05-12")
    assert columns(before, "visitors") == [(10,), (7,), (4,)]
    assert before["all_visitors"] == 13
    # 2026-05-12 and 13: V14 reaches Signup, step 4 of the journey.
    after = counted(world, eight, period="custom", date="2026-05-12,2026-05-13")
    assert columns(after, "visitors") == [(10,), (9,), (7,), (6,), (4,), (3,), (2,), (1,)]
    # The day before alone: V13 only.
    alone = counted(world, three, date="2026-05-11")
    assert columns(alone, "visitors", "dropoff") == [(1, 0), (1, 0), (1, 0)]
    assert alone["all_visitors"] == 1
    empty = counted(world, eight, date="2026-05-01")
    assert columns(empty, "visitors", "conversion_rate") == [(0, "0.00")] * 8
    assert empty["all_visitors"] == 0


# --- errors -------------------------------------------------------------------------------------


def test_a_funnel_needs_two_to_eight_steps(world, funnels) -> None:
    one = put_funnel(world, "Too short", ["Visit /pricing"])
    assert (one.status_code, one.json()) == (400, {"error": "steps: a funnel has 2 to 8 steps, not 1"})
    nine = put_funnel(world, "Too long", [*EIGHT_STEPS, "Visit /about"])
    assert (nine.status_code, nine.json()) == (400, {"error": "steps: a funnel has 2 to 8 steps, not 9"})
    listed = sites_api(world, "GET", "/api/v1/sites/funnels", params={"site_id": DOMAIN}).json()
    assert [f["name"] for f in listed["funnels"]] == ["Pricing to checkout", "Whole journey"]


def test_unknown_funnel_is_a_404_and_a_bad_id_a_400(world, funnels) -> None:
    missing = funnel(world, "999999")
    assert (missing.status_code, missing.json()) == (404, {"error": "Funnel not found"})
    for bad in ("abc", "-1", "1.5", ""):
        answer = funnel(world, bad)
        assert (bad, answer.status_code, answer.json()) == (
            bad,
            400,
            {"error": "Please provide funnel_id as a number."},
        )


def test_another_users_site_and_funnel_are_out_of_reach(world, funnels) -> None:
    three = funnels["Pricing to checkout"]
    # The stranger's key cannot read this site's funnel, nor this key the stranger's site.
    theirs = funnel(world, three, key=world.other_key)
    assert theirs.status_code == 401
    assert theirs.json()["error"].startswith("Invalid API key or site ID")
    assert funnel(world, three, site_id="stranger.example").status_code == 401
    # A funnel id names a funnel of the site asked about only.
    other = sites_api(world, "POST", "/api/v1/sites", json={"domain": "second.example"})
    assert other.status_code == 200
    for step in ("A", "B"):
        body = {"site_id": "second.example", "goal_type": "event", "event_name": step}
        assert sites_api(world, "PUT", "/api/v1/sites/goals", json=body).status_code == 200
    second = put_funnel(world, "A to B", ["A", "B"], domain="second.example").json()["id"]
    assert funnel(world, second).json() == {"error": "Funnel not found"}
    assert funnel(world, three, site_id="second.example").json() == {"error": "Funnel not found"}
    assert counted(world, second, site_id="second.example")["all_visitors"] == 0

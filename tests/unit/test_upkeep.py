"""When maintenance falls due and which end dates an expiry run looks for (pure rules)."""

from datetime import date

from workflows.upkeep import expiry_key, expiry_window, falls_due, maintenance_due, maintenance_key

START = date(2026, 11, 1)


def test_an_asset_never_maintained_is_due_from_the_plans_first_day_on_every_run():
    due = maintenance_due(last_maintained=None, plan_start=START, every_days=90)
    assert due == START
    # Later runs name the same due date (so the same case), not a new one each day.
    for today in (date(2026, 11, 1), date(2026, 11, 2), date(2027, 3, 1)):
        assert falls_due(due, today, lead_days=0)


def test_a_maintained_asset_is_due_every_days_later_and_opens_lead_days_before():
    due = maintenance_due(last_maintained=date(2026, 11, 10), plan_start=START, every_days=30)
    assert due == date(2026, 12, 10)
    assert not falls_due(due, date(2026, 12, 2), lead_days=7)  # 8 days ahead: not yet
    assert falls_due(due, date(2026, 12, 3), lead_days=7)  # 7 days ahead: its case opens
    assert falls_due(due, date(2026, 12, 20), lead_days=0)  # overdue: still due


def test_the_expiry_window_runs_from_today_to_the_lead_time():
    assert expiry_window(date(2026, 11, 30), 30) == (date(2026, 11, 30), date(2026, 12, 30))


def test_keys_name_one_case_per_asset_and_due_date_or_entitlement_and_end():
    a = maintenance_key("p", "a", date(2026, 12, 10))
    assert a == maintenance_key("p", "a", date(2026, 12, 10))
    assert a != maintenance_key("p", "a", date(2027, 1, 9))
    assert expiry_key("e", date(2026, 12, 31)) != expiry_key("e", date(2027, 12, 31))

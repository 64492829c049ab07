"""The lifecycle rules on their own, without Temporal: properties over action sequences."""

import copy
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import lifecycle, sla
from workflows.actions import ACTIONS, Action, AssignPartnerInput, ChangePriorityInput
from workflows.case_data import CaseData
from workflows.deadlines import DeadlineKind, next_deadline
from workflows.types import SlaSpec
from workflows.vocabulary import INVALID, NOT_ALLOWED, TERMINAL, CaseState

S = CaseState
# The lifecycle diagram in ../shared/DESIGN.md (intake has moved a case from new to open
# before any action), with the actions that keep the state where it is.
DIAGRAM = {
    (S.OPEN, S.OPEN),
    (S.OPEN, S.AWAITING_INFO),
    (S.AWAITING_INFO, S.AWAITING_INFO),
    (S.AWAITING_INFO, S.OPEN),
    (S.OPEN, S.RESOLVED),
    (S.AWAITING_INFO, S.RESOLVED),
    (S.RESOLVED, S.RESOLVED),
    (S.RESOLVED, S.OPEN),
    (S.RESOLVED, S.CLOSED),
    (S.OPEN, S.CANCELLED),
    (S.AWAITING_INFO, S.CANCELLED),
}
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
AGENTS = ("agent-1", "agent-2")


def fields(action: Action, draw) -> dict:
    """Inputs for an action: often valid, sometimes missing what is required."""
    given = {
        "agent_id": draw(st.sampled_from((*AGENTS, None))),
        "body": draw(st.sampled_from(("text", "", None))),
        "priority": draw(st.sampled_from((1, 2, 3, 4, 0, None))),
        "resolution": draw(st.sampled_from(("fixed", None))),
        "reason": draw(st.sampled_from(("why", None))),
        "partner_account_id": draw(st.sampled_from(("partner-1", "partner-2", None))),
    }
    return {name: given[name] for name in ACTIONS[action].fields if name in given}


def a_case() -> CaseData:
    spec = SlaSpec("r", "Respond", "response", 4 * 3600, pause_on=["awaiting_info"])
    fix = SlaSpec("f", "Fix", "resolution", 8 * 3600, pause_on=["awaiting_info"])
    case = CaseData(state=S.OPEN, clocks=[sla.SlaClock(spec), sla.SlaClock(fix)])
    for clock in case.clocks:
        sla.start(clock, T0)
    return case


steps = st.lists(
    st.tuples(
        st.sampled_from([a for a in Action if a not in (Action.REQUEST_FIELD_SERVICE,)]),
        st.integers(min_value=0, max_value=6 * 3600),
        st.data(),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_no_sequence_of_actions_leaves_the_diagram(sequence):
    case, now = a_case(), T0
    for action, seconds, data in sequence:
        now += timedelta(seconds=seconds)
        arg = ACTIONS[action].input(actor_role="agent", **fields(action, data.draw))
        before = copy.deepcopy(case)
        if why := lifecycle.refusal(case, action, arg):
            assert why.type in (NOT_ALLOWED, INVALID)
            assert case == before  # a refused action changes nothing
            continue
        fx = lifecycle.decide(case, action, arg, now)
        lifecycle.apply(case, fx, now)
        assert case.state in CaseState
        assert (before.state, case.state) in DIAGRAM, (action, before.state, case.state)
        assert fx.reopened == (before.state == S.RESOLVED and case.state == S.OPEN)
    if case.state in TERMINAL:
        for action in Action:
            arg = ACTIONS[action].input(actor_role="agent")
            assert lifecycle.refusal(case, action, arg).type == NOT_ALLOWED


@settings(max_examples=300, deadline=None)
@given(steps)
def test_a_paused_clock_never_runs(sequence):
    case, now = a_case(), T0
    for action, seconds, data in sequence:
        arg = ACTIONS[action].input(actor_role="agent", **fields(action, data.draw))
        if lifecycle.refusal(case, action, arg) is None:
            lifecycle.apply(case, lifecycle.decide(case, action, arg, now), now)
        later = now + timedelta(seconds=seconds)
        for clock in case.clocks:
            if case.state == S.AWAITING_INFO or clock.stopped or not clock.started:
                assert not clock.running
                assert sla.elapsed(clock, later) == sla.elapsed(clock, now)
            if clock.paused:
                assert not clock.running
        now = later


def test_each_action_has_a_rule_and_an_input_of_its_own():
    assert set(ACTIONS) == set(Action)
    inputs = [rule.input for rule in ACTIONS.values()]
    assert len(set(inputs)) == len(inputs)
    for action, rule in ACTIONS.items():
        assert set(rule.required) <= set(rule.fields), action
        assert rule.summary


def test_a_refusal_says_why():
    case = a_case()
    accept = ACTIONS[Action.ACCEPT].input(actor_role="contact")
    assert lifecycle.refusal(case, Action.ACCEPT, accept).type == NOT_ALLOWED
    no_body = ACTIONS[Action.RESPOND].input(actor_role="agent")
    assert (
        lifecycle.refusal(case, Action.RESPOND, no_body).message == "body is required for respond"
    )
    bad = ChangePriorityInput(actor_role="agent", priority=7)
    assert lifecycle.refusal(case, Action.CHANGE_PRIORITY, bad).type == INVALID


def test_resolve_starts_the_window_and_the_next_deadline_is_its_end():
    case = a_case()
    arg = ACTIONS[Action.RESOLVE].input(actor_role="agent", resolution="fixed")
    fx = lifecycle.decide(case, Action.RESOLVE, arg, T0)
    lifecycle.apply(case, fx, T0)
    assert case.state == S.RESOLVED and fx.routing == lifecycle.Routing.FREED
    deadline = next_deadline(case, T0)
    assert deadline.kind == DeadlineKind.SLA_WARNING  # the response clock still runs
    respond = ACTIONS[Action.NOTE].input(actor_role="agent", body="x")
    lifecycle.apply(case, lifecycle.decide(case, Action.NOTE, respond, T0), T0)
    for clock in case.clocks:
        sla.stop(clock, T0)
    deadline = next_deadline(case, T0)
    assert deadline.kind == DeadlineKind.REOPEN_WINDOW
    assert deadline.at == T0 + timedelta(seconds=case.reopen_window_seconds)


def test_a_breach_escalates_and_requeues_only_an_unassigned_case():
    clock = a_case().clocks[0]
    t = sla.on_threshold(
        clock, 1.0, priority=3, queue="support", assigned=False, escalation_queue="tier2"
    )
    assert clock.breached and (t.priority, t.queue) == (2, "tier2")
    assert [n.to for n in t.notify] == ["agent", "supervisor", "account_manager"]
    clock = a_case().clocks[0]
    t = sla.on_threshold(
        clock, 1.0, priority=1, queue="support", assigned=True, escalation_queue="tier2"
    )
    assert (t.priority, t.queue) == (1, None)
    warn = sla.on_threshold(
        clock, 0.5, priority=1, queue="support", assigned=True, escalation_queue=None
    )
    assert warn.event == "sla_warning" and clock.warned == [0.5]


def test_assign_partner_records_the_partner_internally_and_keeps_the_state():
    case = a_case()
    arg = AssignPartnerInput(actor_role="supervisor", partner_account_id="partner-1")
    assert lifecycle.refusal(case, Action.ASSIGN_PARTNER, arg) is None
    fx = lifecycle.decide(case, Action.ASSIGN_PARTNER, arg, T0)
    assert (fx.state, fx.event, fx.public, fx.notify) == (S.OPEN, "assign_partner", False, [])
    assert fx.routing == lifecycle.Routing.NONE
    lifecycle.apply(case, fx, T0)
    assert case.partner_account_id == "partner-1"
    again = lifecycle.refusal(case, Action.ASSIGN_PARTNER, arg)
    assert again is not None and again.type == NOT_ALLOWED
    missing = lifecycle.refusal(case, Action.ASSIGN_PARTNER, AssignPartnerInput())
    assert missing is not None and missing.type == INVALID
    case.state = S.CLOSED
    assert lifecycle.refusal(case, Action.ASSIGN_PARTNER, arg).type == NOT_ALLOWED

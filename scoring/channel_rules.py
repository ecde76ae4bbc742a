"""Channel rules: verdicts that are rules, not learned, each with its evidence.

- response_time: the reply's response time against the channel's standard (or the scenario's).
- no_personal_data_in_public: on a public channel, no personal data (full name, email, phone, address or
  postcode, date of birth, order/booking/membership/account numbers, bank details) asked for, or written out,
  unless the request moves the conversation to a DM, email or form (`simulator/reply_acts.py`).
- no_reasking_bot_data: after a bot hand-off, no asking again for what the bot already collected.
- within_policy, facts_correct, correct_fix: the reply's fix judged against the scenario (`fix_rules`):
  no offer beyond the policy, no reference or amount the record contradicts, none of the wrong answers.
- no_secrets_requested: on every channel, never ask the customer for a secret that nobody at the company
  needs (password, one-time code, PIN, full card number, card security code, security answers). Warning
  the customer not to share one ("we will never ask for your PIN"), or telling them to reset it, is fine
  (the detector lives in `simulator/reply_acts.py`, so the customer can react to it too).

`check_reply` needs only the channel (what `dojo score` knows); `check` adds what a scenario knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simulator.channels import Channel, format_duration, spec
from simulator.fixes import FixVerdict
from simulator.reply_acts import (
    SECRETS,
    analyse,
    is_request,
    personal_data_disclosed,
    public_requests,
    secret_requests,
    sentences,
)
from simulator.scenario import Fact, Scenario

__all__ = ["SECRETS", "RuleVerdict", "check", "check_reply", "fix_rules", "secret_requests"]


@dataclass(frozen=True)
class RuleVerdict:
    rule: str
    passed: bool
    message: str
    evidence: str = ""

    def as_dict(self) -> dict:
        return {"rule": self.rule, "passed": self.passed, "message": self.message, "evidence": self.evidence}


def check(reply: str, scenario: Scenario, response_s: float | None) -> list[RuleVerdict]:
    """Every rule that applies to a reply in a scenario."""
    out = check_reply(reply, scenario.channel, response_s, standard_s=scenario.response_standard_s)
    if scenario.bot_collected:
        out.append(bot_data_rule(reply, scenario))
    return out


def check_reply(reply: str, channel: Channel | str, response_s: float | None = None,
                standard_s: float | None = None) -> list[RuleVerdict]:
    """The rules a channel alone decides: response time (if known), no secrets asked for, personal data in
    public."""
    channel_spec = spec(channel)
    out = []
    if response_s is not None:
        standard = channel_spec.response_standard_s if standard_s is None else standard_s
        ok = response_s <= standard
        out.append(RuleVerdict(
            "response_time", ok,
            f"Answered in {format_duration(response_s)}; the {channel_spec.label.lower()} standard is "
            f"{format_duration(standard)}." + ("" if ok else " Too slow: acknowledge quickly, even before the fix."),
            f"{format_duration(response_s)} (standard {format_duration(standard)})"))
    out.append(secrets_rule(reply))
    if channel_spec.public:
        out.append(public_data_rule(reply))
    return out


def secrets_rule(reply: str) -> RuleVerdict:
    asked = secret_requests(reply)
    if not asked:
        return RuleVerdict("no_secrets_requested", True, "No password, code, PIN or full card number asked for.")
    kinds = ", ".join(dict.fromkeys(k for k, _ in asked))
    return RuleVerdict("no_secrets_requested", False,
                       f"Asked for the customer's {kinds}: no one at the company ever needs it, on any channel, "
                       "and asking teaches customers to give it to fraudsters. Verify them another way.", asked[0][1])


def public_data_rule(reply: str) -> RuleVerdict:
    asked = public_requests(reply)
    written = personal_data_disclosed(reply)
    if asked:
        kinds = ", ".join(dict.fromkeys(k for k, _ in asked))
        return RuleVerdict("no_personal_data_in_public", False,
                           f"Asked for {kinds} on a public channel: move to a DM first.", asked[0][1])
    if written:
        kinds = ", ".join(dict.fromkeys(k for k, _ in written))
        return RuleVerdict("no_personal_data_in_public", False,
                           f"Wrote out {kinds} on a public channel, where anyone can read it: say it in a DM.",
                           written[0][1])
    return RuleVerdict("no_personal_data_in_public", True, "No personal data asked for or written out in public.")


def bot_data_rule(reply: str, scenario: Scenario) -> RuleVerdict:
    fault = analyse(reply, scenario).reasked_bot_data
    if not fault:
        return RuleVerdict("no_reasking_bot_data", True, "Did not ask again for what the bot collected.")
    facts = {f.id: f for f in scenario.facts}
    return RuleVerdict(
        "no_reasking_bot_data", False,
        f"The bot already collected {', '.join(fault)}; asking again makes the customer repeat themselves.",
        _asking_sentence(reply, [facts[f] for f in fault if f in facts]))


def _asking_sentence(reply: str, facts: Iterable[Fact]) -> str:
    keys = [k.lower() for f in facts for k in f.asked_by]
    for sentence in sentences(reply):
        if is_request(sentence) and any(k in sentence.lower() for k in keys):
            return sentence
    return ""


# A reply's fix judged against the scenario (simulator/fixes.py), as rule verdicts: flag kind -> rule.
FIX_RULES = {"over_promise": ("within_policy", "Offered only what the policy allows."),
             "wrong_fact": ("facts_correct", "No reference or amount that the record contradicts."),
             "wrong_fix": ("correct_fix", "No wrong fix offered.")}


def fix_rules(fix: FixVerdict, scenario: Scenario) -> list[RuleVerdict]:
    """One verdict per fix rule the scenario can judge (a policy, wrong answers, a record to check against)."""
    applies = {"over_promise": bool(scenario.policy.refund_up_to is not None or scenario.policy.credit_up_to
                                    is not None or scenario.policy.deliver_from),
               "wrong_fact": bool(scenario.customer_record),
               "wrong_fix": bool(scenario.wrong_answers)}
    out = []
    for kind, (rule, fine) in FIX_RULES.items():
        flags = [f for f in fix.flags if f.kind == kind]
        if flags:
            out.append(RuleVerdict(rule, False, " ".join(dict.fromkeys(f.message for f in flags)), flags[0].evidence))
        elif applies[kind]:
            out.append(RuleVerdict(rule, True, fine))
    return out

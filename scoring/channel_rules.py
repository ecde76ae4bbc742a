"""Channel rules: verdicts that are rules, not learned. Response time against the channel's standard, no
personal data requested on a public channel, no asking again for what the bot already collected."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.channels import format_duration
from simulator.reply_acts import analyse, personal_data_requests
from simulator.scenario import Scenario


@dataclass(frozen=True)
class RuleVerdict:
    rule: str
    passed: bool
    message: str
    evidence: str = ""

    def as_dict(self) -> dict:
        return {"rule": self.rule, "passed": self.passed, "message": self.message, "evidence": self.evidence}


def check(reply: str, scenario: Scenario, response_s: float | None) -> list[RuleVerdict]:
    out = []
    if response_s is not None:
        standard = scenario.response_standard_s
        ok = response_s <= standard
        out.append(RuleVerdict(
            "response_time", ok,
            f"Answered in {format_duration(response_s)}; the {scenario.channel_spec.label.lower()} standard is "
            f"{format_duration(standard)}." + ("" if ok else " Too slow: acknowledge quickly, even before the fix.")))
    acts = analyse(reply, scenario)
    if scenario.channel_spec.public:
        bad = [(k, s) for k, s in personal_data_requests(reply) if k in acts.personal_data_in_public]
        out.append(RuleVerdict(
            "no_personal_data_in_public", not bad,
            (f"Asked for {', '.join(dict.fromkeys(k for k, _ in bad))} on a public channel: move to a DM first."
             if bad else "No personal data asked for in public."),
            bad[0][1] if bad else ""))
    if scenario.bot_collected:
        fault = acts.reasked_bot_data
        out.append(RuleVerdict(
            "no_reasking_bot_data", not fault,
            (f"The bot already collected {', '.join(fault)}; asking again makes the customer repeat themselves."
             if fault else "Did not ask again for what the bot collected.")))
    return out
